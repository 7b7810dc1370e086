-- Issue 13 ("help me sign in"): a request for support from someone who
-- cannot sign in (internal/help), created once its contact address or
-- number was proved by a code, and the staff answers sent to that contact.
-- Portable DDL as in 00001.
--
-- ref is the reference number people quote ("H-7KP4-MX3C", caseref), the
-- primary key. account_id is the realm's account whose identifier was typed,
-- or NULL; there is no foreign key: a request outlives the account it names
-- (a purged account leaves the request to its own retention).
-- description and the answers' text are plain text, never rendered as HTML.
--
-- Retention: strangers write rows only after proving a contact, capped per
-- address, network, device and contact (3 open per contact);
-- help.Service.Purge deletes requests closed longer than the retention
-- (180 days) in bounded batches, with their answers, using help_request_closed.

-- +goose Up
CREATE TABLE help_request (
    ref          TEXT   NOT NULL PRIMARY KEY,
    realm        TEXT   NOT NULL,
    account_id   TEXT,
    identifier   TEXT   NOT NULL,
    step         TEXT   NOT NULL,
    quoted_ref   TEXT   NOT NULL,
    description  TEXT   NOT NULL,
    locale       TEXT   NOT NULL,
    channel      TEXT   NOT NULL,
    contact      TEXT   NOT NULL,
    status       TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    due_at       BIGINT NOT NULL,
    closed_at    BIGINT,
    closed_by    TEXT   NOT NULL,
    close_reason TEXT   NOT NULL
);
CREATE INDEX help_request_queue ON help_request (status, due_at);
CREATE INDEX help_request_contact ON help_request (realm, contact, status);
CREATE INDEX help_request_account ON help_request (realm, account_id);
CREATE INDEX help_request_closed ON help_request (closed_at);

CREATE TABLE help_answer (
    id         TEXT   NOT NULL PRIMARY KEY,
    ref        TEXT   NOT NULL REFERENCES help_request (ref),
    actor      TEXT   NOT NULL,
    text       TEXT   NOT NULL,
    channel    TEXT   NOT NULL,
    message_id TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX help_answer_ref ON help_answer (ref, created_at);

-- +goose Down
DROP TABLE help_answer;
DROP TABLE help_request;
