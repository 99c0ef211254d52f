-- Which order changes send a payment-result notice: 'product' (as each product's
-- sources say: a QR bill its payment only; H5 and mini-program orders payment, refund
-- and close) or 'all' (every change, to rehearse).
ALTER TABLE merchants ADD COLUMN payment_notices TEXT NOT NULL DEFAULT 'product';
