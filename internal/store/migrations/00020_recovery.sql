-- Issue 13 (document recovery of two-step verification, internal/recovery):
-- cases and their uploaded documents. Portable DDL as in 00001 (BLOB
-- becomes BYTEA on PostgreSQL).
--
-- recovery_case: one row per request. A draft collects documents while its
-- flow lives; once submitted it is open, with its due time, then approved,
-- rejected or cancelled for good (decided_at, decided_by, reason). An
-- account has at most one open case (the partial unique index). The
-- reference (caseref, "R-XXXX-XXXX") is unique across realms.
--
-- recovery_document: one row per slot of a case (front, back, address).
-- sealed is the file sealed by secret.Box (AES-256-GCM under the key set)
-- with additional data binding realm, case and document id; mime, size and
-- sha256 (of the plaintext) are kept beside it. Retention: documents of a
-- case decided more than 30 days ago, and drafts whose flow ended, are
-- deleted in bounded batches by recovery.Service.Purge (the case rows
-- stay). Like the other children of account there is no ON DELETE
-- CASCADE: pendingLinks (internal/store/account.go) deletes these rows
-- first.

-- +goose Up
CREATE TABLE recovery_case (
    id            TEXT   NOT NULL PRIMARY KEY,
    realm         TEXT   NOT NULL,
    account_id    TEXT   NOT NULL REFERENCES account (id),
    reference     TEXT   NOT NULL,
    flow_id       TEXT   NOT NULL,
    status        TEXT   NOT NULL,
    document_type TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    submitted_at  BIGINT,
    due_at        BIGINT,
    decided_at    BIGINT,
    decided_by    TEXT   NOT NULL,
    reason        TEXT   NOT NULL,
    instead       TEXT   NOT NULL
);
CREATE UNIQUE INDEX recovery_case_reference ON recovery_case (reference);
CREATE UNIQUE INDEX recovery_case_open_account ON recovery_case (account_id) WHERE status = 'open';
CREATE INDEX recovery_case_status_due ON recovery_case (status, due_at);
CREATE INDEX recovery_case_decided ON recovery_case (decided_at);

CREATE TABLE recovery_document (
    id         TEXT   NOT NULL PRIMARY KEY,
    case_id    TEXT   NOT NULL REFERENCES recovery_case (id),
    realm      TEXT   NOT NULL,
    account_id TEXT   NOT NULL,
    slot       TEXT   NOT NULL,
    mime       TEXT   NOT NULL,
    size       BIGINT NOT NULL,
    sha256     BLOB   NOT NULL,
    sealed     BLOB   NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX recovery_document_slot ON recovery_document (case_id, slot);
CREATE INDEX recovery_document_account ON recovery_document (account_id);

-- +goose Down
DROP TABLE recovery_document;
DROP TABLE recovery_case;
