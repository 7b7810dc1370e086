-- Issue 13 (staff console): a passkey as the staff second factor, besides
-- the authenticator app. Portable DDL as in 00001.
--
-- staff_passkey: the passkeys of staff accounts, apart from customers'
-- (twostep_credential) and in no realm. credential_id is the WebAuthn
-- credential id (unique); rp_id the host it was made for (a passkey
-- answers only there); sealed is the relying party's data sealed by
-- secret.Box, bound to the staff id and the row id. last_used_at is 0
-- until first used.
--
-- staff_passkey_ceremony: the server half of one running passkey ceremony
-- (registration or sign-in) of a console session, sealed, single use.
-- It goes with its session.

-- +goose Up
CREATE TABLE staff_passkey (
    id            TEXT    NOT NULL PRIMARY KEY,
    staff_id      TEXT    NOT NULL REFERENCES staff (id),
    credential_id BLOB    NOT NULL,
    rp_id         TEXT    NOT NULL,
    label         TEXT    NOT NULL,
    sealed        BLOB    NOT NULL,
    sign_count    BIGINT  NOT NULL,
    created_at    BIGINT  NOT NULL,
    last_used_at  BIGINT  NOT NULL
);
CREATE UNIQUE INDEX staff_passkey_credential ON staff_passkey (credential_id);
CREATE INDEX staff_passkey_staff ON staff_passkey (staff_id, created_at);

CREATE TABLE staff_passkey_ceremony (
    session_id TEXT   NOT NULL PRIMARY KEY REFERENCES staff_session (id) ON DELETE CASCADE,
    sealed     BLOB   NOT NULL,
    expires_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE staff_passkey_ceremony;
DROP TABLE staff_passkey;
