-- The fixture (`ums-notify trigger`, POST /admin/v1/merchants/{mid}/triggers) that made
-- a notification, such as `payment.paid`; NULL for every other notification.
ALTER TABLE notifications ADD COLUMN triggered_by TEXT;
