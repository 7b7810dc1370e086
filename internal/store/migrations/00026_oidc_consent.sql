-- Issue 14 (OpenID Connect): what a person allowed a third-party client
-- (internal/consent). Portable DDL as in 00001.
--
-- oidc_consent: one row per (realm, account, client); scopes is a JSON
-- array of every scope granted, sorted; granted_at is when the person last
-- allowed the client. Revoking deletes the row (and the client's tokens of
-- the person, in oidc_token). oidc_token_owner finds those tokens.

-- +goose Up
CREATE TABLE oidc_consent (
    realm      TEXT   NOT NULL,
    account_id TEXT   NOT NULL,
    client_id  TEXT   NOT NULL,
    scopes     TEXT   NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (realm, account_id, client_id)
);
CREATE INDEX oidc_token_owner ON oidc_token (realm, account_id, client_id);

-- +goose Down
DROP INDEX oidc_token_owner;
DROP TABLE oidc_consent;
