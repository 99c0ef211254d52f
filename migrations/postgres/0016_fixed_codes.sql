-- Fixed QR codes (固定二维码, netpay bill spec V3.5 §3.4): a code made by bills.getQRCode
-- without billNo and billDate, which buyers scan again and again. One with totalAmount
-- takes that amount each time; one without asks the merchant's payInfoQueryAddr for it
-- (the payment-element query, §9) or lets the buyer type it. Each scan that pays makes a
-- bill of its own (numbered by the platform) on the code, which carries the code's id
-- and URL. A fixed code is not in bill_codes, which holds codes of one bill at a time.
CREATE TABLE fixed_codes (
    qr_code_id          TEXT    PRIMARY KEY,
    qr_code_url         TEXT    NOT NULL,
    mid                 TEXT    NOT NULL REFERENCES merchants (mid),
    tid                 TEXT    NOT NULL,
    inst_mid            TEXT    NOT NULL,
    msg_src             TEXT    NOT NULL,
    total_amount        BIGINT  CHECK (total_amount IS NULL OR total_amount > 0),
    description         TEXT    NOT NULL,
    notify_url          TEXT    NOT NULL,
    notify_host         TEXT    NOT NULL,
    own_notify          INTEGER NOT NULL,
    pay_info_query_addr TEXT,
    member_id           TEXT,
    counter_no          TEXT,
    return_url          TEXT,
    system_id           TEXT,
    src_reserve         TEXT,
    expires_at          TIMESTAMPTZ,
    closed_at           TIMESTAMPTZ,
    created_at          TIMESTAMPTZ NOT NULL
);

-- Each payment-element query the sandbox made for a scan of a fixed code: what it sent,
-- what came back, and what was wrong with it (a JSON array of messages; empty when the
-- answer was right and gave amount).
CREATE TABLE pay_info_queries (
    id           BIGSERIAL PRIMARY KEY,
    qr_code_id   TEXT    NOT NULL REFERENCES fixed_codes (qr_code_id),
    url          TEXT    NOT NULL,
    request      TEXT    NOT NULL,
    status       INTEGER,
    answer       TEXT    NOT NULL,
    error        TEXT,
    problems     TEXT    NOT NULL,
    amount       BIGINT,
    duration_ms  BIGINT  NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX pay_info_queries_code ON pay_info_queries (qr_code_id, id);
