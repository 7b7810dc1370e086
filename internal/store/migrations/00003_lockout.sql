-- Sign-in protection: the lock state of accounts (smart lockout), the
-- networks each account signed in from, per-kind flow state, and the lookup of
-- link tokens ("this wasn't me") by their keyed hash.

-- +goose Up
ALTER TABLE account ADD COLUMN lock_kind TEXT NOT NULL DEFAULT '';
ALTER TABLE account ADD COLUMN locked_until BIGINT;
ALTER TABLE account ADD COLUMN lock_level INTEGER NOT NULL DEFAULT 0;
ALTER TABLE account ADD COLUMN locked_at BIGINT;
ALTER TABLE account ADD COLUMN failed_unfamiliar INTEGER NOT NULL DEFAULT 0;

ALTER TABLE flow ADD COLUMN state TEXT NOT NULL DEFAULT '{}';

CREATE TABLE account_network (
    realm      TEXT   NOT NULL,
    account_id TEXT   NOT NULL REFERENCES account (id),
    prefix     TEXT   NOT NULL,
    first_at   BIGINT NOT NULL,
    last_at    BIGINT NOT NULL,
    PRIMARY KEY (account_id, prefix)
);

CREATE INDEX code_hash ON code (hash);

-- +goose Down
DROP INDEX code_hash;
DROP TABLE account_network;
ALTER TABLE flow DROP COLUMN state;
ALTER TABLE account DROP COLUMN failed_unfamiliar;
ALTER TABLE account DROP COLUMN locked_at;
ALTER TABLE account DROP COLUMN lock_level;
ALTER TABLE account DROP COLUMN locked_until;
ALTER TABLE account DROP COLUMN lock_kind;
