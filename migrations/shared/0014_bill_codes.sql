-- The QR codes of bills (二维码, netpay bill spec V3.5 §3.4, §3.5) and the data a bill
-- echoes (memberId, counterNo, goods).
--
-- A code is a thing of its own: the platform makes one for a bill, or a merchant prints
-- its own (a self-made qrCodeId, starting with its msgSrcId) and sends it with the bill;
-- bills.updateQRCode then binds a new bill to the same code. `bill_codes` holds each code
-- once, whoever made it (its id is the whole of its URL's query, so it is unique across
-- merchants), with the merchant, business type (instMid) and message source it was made
-- for, and the bill it holds now. A bill keeps the id and URL of the code it was made on
-- (`orders.qr_code_id`, `orders.qr_code_url`), which its notices and answers carry.
ALTER TABLE orders ADD COLUMN qr_code_id TEXT;
ALTER TABLE orders ADD COLUMN qr_code_url TEXT;
-- echoed in the bill's notice and query answers (each at most 32 characters)
ALTER TABLE orders ADD COLUMN member_id TEXT;
ALTER TABLE orders ADD COLUMN counter_no TEXT;
-- the bill's goods: a JSON array, as compact text
ALTER TABLE orders ADD COLUMN goods TEXT;

-- A bill made before codes were kept has the id it was handed out: its number's first four
-- characters and its admin id in 22 digits; and the URL it was handed out with.
UPDATE orders
SET qr_code_id = substr(order_no, 1, 4)
    || substr('0000000000000000000000' || CAST(id AS TEXT), length(CAST(id AS TEXT)) + 1)
WHERE product = 'bill';
UPDATE orders
SET qr_code_url = 'https://qr.chinaums.com/bills/qrCode.do?id=' || qr_code_id
WHERE product = 'bill';

CREATE TABLE bill_codes (
    qr_code_id TEXT   PRIMARY KEY,
    mid        TEXT   NOT NULL REFERENCES merchants (mid),
    inst_mid   TEXT   NOT NULL,
    msg_src    TEXT   NOT NULL,
    -- the bill the code holds now: the one it was made with, or the last one bound to it
    order_id   BIGINT NOT NULL REFERENCES orders (id)
);

INSERT INTO bill_codes (qr_code_id, mid, inst_mid, msg_src, order_id)
SELECT o.qr_code_id, o.mid, o.inst_mid, COALESCE(m.msg_src, m.mid), o.id
FROM orders o JOIN merchants m ON m.mid = o.mid
WHERE o.product = 'bill';

CREATE INDEX orders_qr_code ON orders (qr_code_id) WHERE qr_code_id IS NOT NULL;
