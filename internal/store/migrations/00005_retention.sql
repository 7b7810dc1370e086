-- Indexes for the retention purges (internal/store/retention.go): each purge
-- finds its rows by the time they ended, and the device purge checks that no
-- session or flow refers to a device. Portable DDL as in 00001.

-- +goose Up
CREATE INDEX session_expires ON session (expires_at);
CREATE INDEX session_revoked ON session (revoked_at);
CREATE INDEX session_device ON session (device_id);
CREATE INDEX code_expires ON code (expires_at);
CREATE INDEX event_occurred ON event (occurred_at);
CREATE INDEX device_last_seen ON device (last_seen_at);
CREATE INDEX flow_device ON flow (device_id);

-- +goose Down
DROP INDEX flow_device;
DROP INDEX device_last_seen;
DROP INDEX event_occurred;
DROP INDEX code_expires;
DROP INDEX session_device;
DROP INDEX session_revoked;
DROP INDEX session_expires;
