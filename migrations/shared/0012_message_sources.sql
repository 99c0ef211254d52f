-- The message source (系统来源, msgSrc) a merchant belongs to on the netpay bill
-- gateway. A source owns one communication key, the md5_key of its merchants, and may
-- serve several merchants. A merchant made before sources existed is its own source,
-- named by its mid.
ALTER TABLE merchants ADD COLUMN msg_src TEXT;
UPDATE merchants SET msg_src = mid;
CREATE INDEX merchants_msg_src ON merchants (msg_src);
