-- Guarantee bills (担保交易, netpay spec §3.4, §10, §11): a QR bill made with
-- secureTransaction=true holds its payment until the merchant completes it (all or part;
-- the rest goes back to the buyer as a refund) or cancels it (all goes back), or 30 days
-- pass (cancelled then). secure_status is the hold's secureStatus: NULL on other orders
-- and until the bill is paid, then UNCOMPLETED, PARTLY_COMPLETED, ALL_COMPLETED or
-- CANCELED. completed_amount is the completed part in fen.
ALTER TABLE orders ADD COLUMN secure_transaction INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN secure_status TEXT
    CHECK (secure_status IN ('UNCOMPLETED', 'PARTLY_COMPLETED', 'ALL_COMPLETED', 'CANCELED'));
ALTER TABLE orders ADD COLUMN completed_amount BIGINT NOT NULL DEFAULT 0
    CHECK (completed_amount >= 0);
-- The worker's round of holds due for their automatic cancel.
CREATE INDEX orders_hold ON orders (paid_at) WHERE secure_status = 'UNCOMPLETED';
