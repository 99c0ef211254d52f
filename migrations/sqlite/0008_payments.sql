-- Payment-result notices: each merchant's communication key (通讯密钥, "md5Key") and
-- signType, simulated buyers' automatic payment, and the orders (QR bills and trade
-- orders) with their refunds. Times are milliseconds since the Unix epoch (UTC);
-- amounts are integers in fen.
ALTER TABLE merchants ADD COLUMN md5_key TEXT NOT NULL DEFAULT '';
-- Merchants created before this migration get a random key of their own.
UPDATE merchants SET md5_key = lower(hex(randomblob(16))) WHERE md5_key = '';
ALTER TABLE merchants ADD COLUMN sign_type TEXT NOT NULL DEFAULT 'SHA256'
    CHECK (sign_type IN ('MD5', 'SHA256'));
-- the source number (来源编号, msgSrcId) every billNo, merOrderId and refundOrderId of the
-- merchant starts with
ALTER TABLE merchants ADD COLUMN msg_src_id TEXT NOT NULL DEFAULT '';
UPDATE merchants SET msg_src_id = upper(substr(hex(randomblob(2)), 1, 4)) WHERE msg_src_id = '';
-- simulated buyers: new orders of this merchant are paid after this delay
ALTER TABLE merchants ADD COLUMN auto_pay_ms INTEGER;

CREATE TABLE orders (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    mid             TEXT    NOT NULL REFERENCES merchants (mid),
    tid             TEXT    NOT NULL,
    inst_mid        TEXT    NOT NULL,
    -- `bill`: a C-scans-B QR bill (billNo); `trade`: an H5 / mini-program order (merOrderId)
    product         TEXT    NOT NULL CHECK (product IN ('bill', 'trade')),
    order_no        TEXT    NOT NULL,
    bill_date       TEXT    NOT NULL DEFAULT '',
    state           TEXT    NOT NULL CHECK (state IN ('UNPAID', 'PAID', 'REFUNDED', 'CLOSED')),
    total_amount    INTEGER NOT NULL CHECK (total_amount > 0),
    refunded_amount INTEGER NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0 AND refunded_amount <= total_amount),
    description     TEXT    NOT NULL DEFAULT '',
    notify_url      TEXT    NOT NULL,
    notify_host     TEXT    NOT NULL,
    -- set when paid: the channel, its order number, the buyer and the platform's serial
    target_sys      TEXT,
    target_order_id TEXT,
    buyer_id        TEXT,
    seq_id          TEXT,
    paid_at         INTEGER,
    closed_at       INTEGER,
    -- an unpaid order closes itself at this time
    expires_at      INTEGER NOT NULL,
    -- H5 orders: where the cashier sends the buyer back, and the cashier page's secret
    return_url      TEXT,
    cashier_token   TEXT UNIQUE,
    -- when the simulated buyer pays, while that is still to come
    pay_due_at      INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (mid, order_no)
);

CREATE INDEX orders_mid ON orders (mid, id);
CREATE INDEX orders_pay_due ON orders (pay_due_at) WHERE pay_due_at IS NOT NULL;
CREATE INDEX orders_expiry ON orders (expires_at) WHERE state = 'UNPAID';

CREATE TABLE order_refunds (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id            INTEGER NOT NULL REFERENCES orders (id),
    refund_order_id     TEXT    NOT NULL,
    amount              INTEGER NOT NULL CHECK (amount > 0),
    target_order_id     TEXT    NOT NULL,
    created_at          INTEGER NOT NULL,
    UNIQUE (order_id, refund_order_id)
);
