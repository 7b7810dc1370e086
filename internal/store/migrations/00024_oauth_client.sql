-- Issue 14 (OpenID Connect): the applications registered to sign people in
-- through a realm (internal/oauthclient). Portable DDL as in 00001.
--
-- oauth_client: keyed (realm, id); id is the public client_id. kind is
-- confidential or public; auth_method how it authenticates at the token
-- endpoint. secret_hash is the keyed hash of the client secret (NULL for
-- none, never the secret); jwks the client's public JWK Set (NULL for
-- none). redirect_uris and post_logout_uris are JSON arrays of strings,
-- matched exactly. first_party clients get no consent page. The logout
-- URIs are '' for none. without_two_step is enrol or refuse.

-- +goose Up
CREATE TABLE oauth_client (
    realm                   TEXT    NOT NULL,
    id                      TEXT    NOT NULL,
    name                    TEXT    NOT NULL,
    kind                    TEXT    NOT NULL,
    auth_method             TEXT    NOT NULL,
    secret_hash             BLOB,
    jwks                    BLOB,
    redirect_uris           TEXT    NOT NULL,
    post_logout_uris        TEXT    NOT NULL,
    first_party             BOOLEAN NOT NULL,
    backchannel_logout_uri  TEXT    NOT NULL,
    frontchannel_logout_uri TEXT    NOT NULL,
    without_two_step        TEXT    NOT NULL,
    created_at              BIGINT  NOT NULL,
    PRIMARY KEY (realm, id)
);
CREATE INDEX oauth_client_realm_created ON oauth_client (realm, created_at, id);

-- +goose Down
DROP TABLE oauth_client;
