-- Issue 16 (several instances on one database): periodic work done once per
-- period across the instances. A lease row names a job (e.g.
-- "housekeeping"), the instance that holds it (random at start) and until
-- when. An instance takes it with one conditional UPDATE (free or expired,
-- or its own: a renewal) or, for a name never seen, an INSERT that only one
-- instance wins; the others skip the period. Plain portable SQL (no
-- advisory lock, which CockroachDB lacks). expires_at is unix microseconds.

-- +goose Up
CREATE TABLE lease (
    name       TEXT   NOT NULL PRIMARY KEY,
    holder     TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE lease;
