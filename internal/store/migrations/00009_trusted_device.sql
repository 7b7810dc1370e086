-- Issue 10 (trusted devices): a device on which an account's owner asked
-- not to be asked for the second factor again, for a while. Portable DDL as
-- in 00001.
--
-- One row per (account, device). id is the row's own UUIDv7, the one the
-- owner's list and revocation use (the device id, derived from the token's
-- keyed hash, is never shown). user_agent is the browser as it introduced
-- itself (described in words when shown), network the /24 or /48 prefix
-- (risk.Prefix) it was trusted from.
--
-- Retention: only the owner writes rows (a right second factor on the
-- flow's own device), at most one per device they sign in on; expired rows
-- are deleted by trust.Service.Purge in bounded batches, using the
-- expires_at index. Like the other children of account there is no
-- ON DELETE CASCADE: pendingLinks (internal/store/account.go) deletes these
-- rows first. There is no foreign key to device: a trusted device is also
-- familiar (account_device), so retention keeps its device row, and a
-- device row missing would only mean no sign-in could name it.

-- +goose Up
CREATE TABLE trusted_device (
    id           TEXT   NOT NULL PRIMARY KEY,
    realm        TEXT   NOT NULL,
    account_id   TEXT   NOT NULL REFERENCES account (id),
    device_id    TEXT   NOT NULL,
    user_agent   TEXT   NOT NULL,
    network      TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE UNIQUE INDEX trusted_device_account_device ON trusted_device (account_id, device_id);
CREATE INDEX trusted_device_expires ON trusted_device (expires_at);

-- +goose Down
DROP TABLE trusted_device;
