-- Issue 11: every delivery attempt records the class of its error
-- (message.ClassOf: timeout, connection, throttled, provider, rejected,
-- other; '' for an attempt that succeeded), so that an outage is told from a
-- refusal without reading provider texts. Portable DDL as in 00001.

-- +goose Up
ALTER TABLE delivery_attempt ADD COLUMN error_class TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE delivery_attempt DROP COLUMN error_class;
