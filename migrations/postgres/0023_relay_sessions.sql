-- Where each merchant's live relay session is connected: the instance that holds it and
-- when that instance last said it still does. Other instances leave the merchant's
-- relay-mode notifications to that instance, so a session on one instance receives
-- every try of its merchant. A row whose heartbeat is old is a session whose instance
-- died: it is ignored.
CREATE TABLE relay_sessions (
    mid TEXT PRIMARY KEY,
    instance TEXT NOT NULL,
    heartbeat_at TIMESTAMPTZ NOT NULL
);
