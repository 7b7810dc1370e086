-- Issue 14 (OpenID Connect), first step: the keys a realm signs its tokens
-- with. Portable DDL as in 00001.
--
-- signing_key: id is the kid; sealed the private key (PKCS #8) sealed by
-- secret.Box, bound to realm and id; public_jwk the public JWK (JSON).
-- active_from is when it starts signing; retire_after when it leaves the
-- JWKS (0 while it may still sign).

-- +goose Up
CREATE TABLE signing_key (
    id           TEXT   NOT NULL PRIMARY KEY,
    realm        TEXT   NOT NULL,
    alg          TEXT   NOT NULL,
    sealed       BLOB   NOT NULL,
    public_jwk   BLOB   NOT NULL,
    created_at   BIGINT NOT NULL,
    active_from  BIGINT NOT NULL,
    retire_after BIGINT NOT NULL
);
CREATE INDEX signing_key_realm ON signing_key (realm, created_at);

-- +goose Down
DROP TABLE signing_key;
