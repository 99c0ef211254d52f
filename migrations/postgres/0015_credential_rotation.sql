-- Credential rotation: a merchant's new appKey, or its message source's new communication
-- key (md5_key), may come with a grace period during which the key it replaced is still
-- accepted on requests. Each pair is that replaced key and the instant its grace ends;
-- NULL when no rotation has left one. Like md5_key itself, the md5_key pair is the same
-- on every merchant of one source.
ALTER TABLE merchants ADD COLUMN app_key_previous TEXT;
ALTER TABLE merchants ADD COLUMN app_key_previous_until TIMESTAMPTZ;
ALTER TABLE merchants ADD COLUMN md5_key_previous TEXT;
ALTER TABLE merchants ADD COLUMN md5_key_previous_until TIMESTAMPTZ;
