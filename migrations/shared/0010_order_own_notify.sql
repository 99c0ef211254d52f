-- Whether an order named its own notify URL (notifyUrl), as opposed to taking the
-- merchant's: the platform sends a notice to every address configured, the order's own
-- and the merchant's, and an order without its own follows the merchant's current one.
-- Orders written before this column count as naming their own unless their address is
-- their merchant's.
ALTER TABLE orders ADD COLUMN own_notify INTEGER NOT NULL DEFAULT 1;
UPDATE orders SET own_notify = 0
WHERE notify_url = (SELECT m.notify_url FROM merchants m WHERE m.mid = orders.mid);
