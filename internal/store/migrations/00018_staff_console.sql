-- Issue 13 (staff console): staff accounts apart from customer accounts,
-- their console sessions, suspensions with a reason and reference, and the
-- accounts whose owner staff asked to set a new password. Portable DDL as
-- in 00001.
--
-- staff: email lower case, unique. password_hash is '' until enrolment.
-- totp_sealed is the authenticator secret sealed by secret.Box (bound to
-- the id), totp_last_step the last step accepted (replay guard).
-- enrol_hash is the keyed hash of the enrolment link's token while the
-- account is invited (NULL after; NULLs do not collide in a unique index
-- on either database). Times are unix microseconds, 0 for "none".
--
-- staff_session: only the keyed hash of the token; aal 1 waits for the
-- authenticator code, aal 2 is signed in. Rows past expires_at are
-- deleted by housekeeping (DeleteExpiredStaffSessions).
--
-- suspension: reference is the caseref S-… number; note is the staff's
-- written reason, never shown to the customer; lifted_at NULL while in
-- force (at most one such row per account: checked by the store inside
-- its transaction, the account row held).
--
-- password_reset_required: one row per account staff asked to set a new
-- password; a new password deletes it.
--
-- event_request: finds the account an error page's reference number (a
-- request id) belongs to. message_to_created: the messages sent to an
-- account's addresses, for its timeline.

-- +goose Up
CREATE TABLE staff (
    id               TEXT    NOT NULL PRIMARY KEY,
    email            TEXT    NOT NULL,
    name             TEXT    NOT NULL,
    role             TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    password_hash    TEXT    NOT NULL,
    totp_sealed      BLOB,
    totp_last_step   BIGINT  NOT NULL,
    enrol_hash       BLOB,
    enrol_expires_at BIGINT  NOT NULL,
    locked_until     BIGINT  NOT NULL,
    created_at       BIGINT  NOT NULL,
    last_signin_at   BIGINT  NOT NULL
);
CREATE UNIQUE INDEX staff_email ON staff (email);
CREATE UNIQUE INDEX staff_enrol_hash ON staff (enrol_hash);

CREATE TABLE staff_session (
    id           TEXT    NOT NULL PRIMARY KEY,
    token_hash   BLOB    NOT NULL,
    staff_id     TEXT    NOT NULL REFERENCES staff (id),
    aal          INTEGER NOT NULL,
    created_at   BIGINT  NOT NULL,
    last_seen_at BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL
);
CREATE UNIQUE INDEX staff_session_token ON staff_session (token_hash);
CREATE INDEX staff_session_staff ON staff_session (staff_id);
CREATE INDEX staff_session_expires ON staff_session (expires_at);

CREATE TABLE suspension (
    reference  TEXT   NOT NULL PRIMARY KEY,
    realm      TEXT   NOT NULL,
    account_id TEXT   NOT NULL REFERENCES account (id),
    reason     TEXT   NOT NULL,
    note       TEXT   NOT NULL,
    created_by TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    lifted_at  BIGINT,
    lifted_by  TEXT   NOT NULL,
    lift_note  TEXT   NOT NULL
);
CREATE INDEX suspension_account ON suspension (account_id, created_at);

CREATE TABLE password_reset_required (
    account_id  TEXT   NOT NULL PRIMARY KEY REFERENCES account (id),
    required_by TEXT   NOT NULL,
    required_at BIGINT NOT NULL
);

CREATE INDEX event_request ON event (request_id);
CREATE INDEX message_to_created ON message (to_addr, created_at);

-- +goose Down
DROP INDEX message_to_created;
DROP INDEX event_request;
DROP TABLE password_reset_required;
DROP TABLE suspension;
DROP TABLE staff_session;
DROP TABLE staff;
