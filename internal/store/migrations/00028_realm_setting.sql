-- Issue 15 (realms managed at run time, internal/realmset): each realm's
-- settings as one JSON document in the shape of a realms[] entry of the
-- configuration file (config.Realm). The configuration seeds the rows of
-- its realms once; afterwards the stored document is authoritative and
-- `ninsho realms set` or the console change it.
--
-- revision is the row's version: 1 when inserted, one more at every update
-- (an update names the revision it read, so that two writers cannot lose
-- each other's change). The sum of the revisions grows with every insert
-- and update (rows are never deleted), so every instance polls
-- SUM(revision) to notice a change. created_at (microseconds) orders the
-- realms created at run time after the configuration's.

-- +goose Up
CREATE TABLE realm_setting (
    id         TEXT   NOT NULL PRIMARY KEY,
    settings   TEXT   NOT NULL,
    revision   BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT   NOT NULL
);

-- +goose Down
DROP TABLE realm_setting;
