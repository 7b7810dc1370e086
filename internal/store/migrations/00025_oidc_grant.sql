-- Issue 14 (OpenID Connect): finished authorizations (redeemed once by
-- their code) and the access and refresh tokens issued from them. Portable
-- DDL as in 00001. Codes and refresh tokens are keyed hashes; lists
-- (scopes, audience, amr) are JSON text.
--
-- oidc_authorization: used_at is set when its code is redeemed (a second
-- redemption revokes the family); kept a day past expires_at.
-- oidc_token: family is the authorization id (tokens of a client's own
-- grant have none); used_at is set on a refresh token's rotation.

-- +goose Up
CREATE TABLE oidc_authorization (
    id             TEXT   NOT NULL PRIMARY KEY,
    realm          TEXT   NOT NULL,
    client_id      TEXT   NOT NULL,
    account_id     TEXT   NOT NULL,
    session_id     TEXT   NOT NULL,
    redirect_uri   TEXT   NOT NULL,
    scopes         TEXT   NOT NULL,
    nonce          TEXT   NOT NULL,
    code_challenge TEXT   NOT NULL,
    code_method    TEXT   NOT NULL,
    auth_time      BIGINT NOT NULL,
    amr            TEXT   NOT NULL,
    acr            TEXT   NOT NULL,
    code_hash      BLOB,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT
);
CREATE UNIQUE INDEX oidc_authorization_code ON oidc_authorization (code_hash);
CREATE INDEX oidc_authorization_expires ON oidc_authorization (expires_at);

CREATE TABLE oidc_token (
    id         TEXT   NOT NULL PRIMARY KEY,
    realm      TEXT   NOT NULL,
    client_id  TEXT   NOT NULL,
    account_id TEXT   NOT NULL,
    session_id TEXT   NOT NULL,
    family     TEXT   NOT NULL,
    kind       TEXT   NOT NULL,
    hash       BLOB,
    scopes     TEXT   NOT NULL,
    audience   TEXT   NOT NULL,
    auth_time  BIGINT NOT NULL,
    amr        TEXT   NOT NULL,
    acr        TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    revoked_at BIGINT
);
CREATE UNIQUE INDEX oidc_token_hash ON oidc_token (hash);
CREATE INDEX oidc_token_family ON oidc_token (family);
CREATE INDEX oidc_token_session ON oidc_token (session_id);
CREATE INDEX oidc_token_expires ON oidc_token (expires_at);

-- +goose Down
DROP TABLE oidc_token;
DROP TABLE oidc_authorization;
