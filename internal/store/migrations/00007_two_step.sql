-- Two-step verification (issue 10): an account's second-factor methods, its
-- 2SV state and its backup codes. Portable DDL as in 00001 (BLOB becomes
-- BYTEA on PostgreSQL).
--
-- Every row carries the realm of its account, and the store writes a row
-- only when the account is in that realm (the statements check it; a
-- composite foreign key would need a unique index on account (realm, id),
-- which makes SQLite report a repeated account id as a taken identifier).
-- Like the other children of account there is no ON DELETE CASCADE: the
-- statements that delete accounts (pendingLinks in internal/store/account.go)
-- delete these rows first.
--
-- Retention: nothing here is left behind by strangers or by time. A removed
-- credential is deleted at once, with its sealed secret; an enrolment never
-- proved is replaced by the next one of the same method (at most one
-- unproved row per method and account); backup codes are at most 10 per
-- account, replaced all at once. So retention.Purger has nothing to purge.

-- +goose Up
-- method: totp, sms, voice, passkey. sealed: the TOTP secret or WebAuthn
-- credential data sealed with secret.Box (NULL for sms and voice). phone:
-- E.164 for sms and voice. passkey_id: the WebAuthn credential id (NULL for
-- the others), unique in the realm for discoverable sign-in.
CREATE TABLE two_step_credential (
    id           TEXT   NOT NULL PRIMARY KEY,
    realm        TEXT   NOT NULL,
    account_id   TEXT   NOT NULL REFERENCES account (id),
    method       TEXT   NOT NULL,
    label        TEXT   NOT NULL,
    sealed       BLOB,
    phone        TEXT,
    passkey_id   BLOB,
    sign_count   BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    proved_at    BIGINT
);
CREATE INDEX two_step_credential_account ON two_step_credential (account_id, created_at);
CREATE UNIQUE INDEX two_step_credential_passkey ON two_step_credential (realm, passkey_id);

-- preferred: the id of the credential asked for first ('' for none).
-- totp_last_step: the last accepted TOTP time step (replay guard).
CREATE TABLE two_step_state (
    account_id     TEXT    NOT NULL PRIMARY KEY REFERENCES account (id),
    realm          TEXT    NOT NULL,
    enabled        BOOLEAN NOT NULL,
    preferred      TEXT    NOT NULL,
    totp_last_step BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL
);

-- hash: the keyed hash of one backup code; used_at: when it was used.
CREATE TABLE backup_code (
    realm      TEXT   NOT NULL,
    account_id TEXT   NOT NULL REFERENCES account (id),
    hash       BLOB   NOT NULL,
    created_at BIGINT NOT NULL,
    used_at    BIGINT,
    PRIMARY KEY (account_id, hash)
);

-- +goose Down
DROP TABLE backup_code;
DROP TABLE two_step_state;
DROP TABLE two_step_credential;
