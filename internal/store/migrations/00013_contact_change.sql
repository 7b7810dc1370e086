-- Issue 12 (contact change): what the "undo — this wasn't me" link of a
-- changed or added e-mail address or phone number needs to put things back:
-- the kind, the value before (NULL: the identifier was added), the value
-- after, and whether the account's two-step SMS/voice number moved with it.
-- Portable DDL as in 00001.
--
-- One row per completed change, written only after the new address was
-- proved with a code by a signed-in, recently re-authenticated owner (at
-- most a few per account and hour: internal/contact caps the starts). The
-- link itself is a code row of purpose contact_undo whose flow_id is this
-- row's id (keyed hash only). Rows are deleted by contact.Service.Purge in
-- bounded batches once the link has expired (expires_at). Like the other
-- children of account there is no ON DELETE CASCADE: pendingLinks
-- (internal/store/account.go) deletes these rows first.

-- +goose Up
CREATE TABLE contact_change (
    id             TEXT    NOT NULL PRIMARY KEY,
    realm          TEXT    NOT NULL,
    account_id     TEXT    NOT NULL REFERENCES account (id),
    kind           TEXT    NOT NULL,
    old_value      TEXT,
    new_value      TEXT    NOT NULL,
    moved_two_step INTEGER NOT NULL DEFAULT 0,
    created_at     BIGINT  NOT NULL,
    expires_at     BIGINT  NOT NULL,
    undone_at      BIGINT
);
CREATE INDEX contact_change_account ON contact_change (account_id);
CREATE INDEX contact_change_expires ON contact_change (expires_at);

-- +goose Down
DROP TABLE contact_change;
