-- Issue 12 (closing an account): when the owner closed it. An account
-- closed (status closed) stays reopenable by signing in for the realm's
-- closure grace (realms[].closure_grace, 30 days by default) after
-- closed_at; then housekeeping (closure.Service.Purge) erases its personal
-- data and deletes the row. NULL for an account that is not closed.
-- Portable DDL as in 00001.

-- +goose Up
ALTER TABLE account ADD COLUMN closed_at BIGINT;
CREATE INDEX account_status_closed ON account (status, closed_at);

-- +goose Down
DROP INDEX account_status_closed;
ALTER TABLE account DROP COLUMN closed_at;
