-- Where a merchant's notices go: `http` (its notify URLs, the default) or `relay` (down
-- the live `ums-notify listen` session of the merchant, see docs/merchant-guide.md).
ALTER TABLE merchants ADD COLUMN delivery TEXT NOT NULL DEFAULT 'http';
