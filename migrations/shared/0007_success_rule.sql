-- The success rule as data: a notification may require an answer body besides HTTP
-- 200 (the payment-result notices want SUCCESS). NULL: HTTP 200 alone.
ALTER TABLE notifications ADD COLUMN success_body TEXT;
