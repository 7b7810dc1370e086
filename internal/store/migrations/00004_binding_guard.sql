-- Issue 8 hardening: flows bound to the client that started them, the code
-- budget of a destination split into lanes, and the guard that counts wrong
-- codes per account (or identifier) across flows. Portable DDL as in 00001.

-- +goose Up
-- client: "api" or "page"; binding_hash: keyed hash of a page flow's
-- per-flow cookie secret (NULL for API flows).
ALTER TABLE flow ADD COLUMN client TEXT NOT NULL DEFAULT '';
ALTER TABLE flow ADD COLUMN binding_hash BLOB;
-- device_hash: keyed hash of the token of the device the flow is bound to
-- (the device row is written only when the flow completes on it).
ALTER TABLE flow ADD COLUMN device_hash BLOB;

-- lane: "owner" (codes after a proven password or from a familiar device or
-- network) or "stranger" (codes that anyone who knows the identifier can ask
-- for); each lane has its own hourly cap per destination.
ALTER TABLE code ADD COLUMN lane TEXT NOT NULL DEFAULT 'owner';

-- Wrong codes per account (or, for identifiers without one, per identifier)
-- across flows and purposes, with its own lock ladder.
CREATE TABLE code_guard (
    realm        TEXT    NOT NULL,
    guard_key    TEXT    NOT NULL,
    failures     INTEGER NOT NULL,
    total        INTEGER NOT NULL,
    level        INTEGER NOT NULL,
    locked_until BIGINT,
    locked_at    BIGINT,
    updated_at   BIGINT  NOT NULL,
    PRIMARY KEY (realm, guard_key)
);
CREATE INDEX code_guard_updated ON code_guard (updated_at);

-- +goose Down
DROP TABLE code_guard;
ALTER TABLE code DROP COLUMN lane;
ALTER TABLE flow DROP COLUMN device_hash;
ALTER TABLE flow DROP COLUMN binding_hash;
ALTER TABLE flow DROP COLUMN client;
