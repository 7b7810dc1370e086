-- Portable DDL: SQLite runs it as written; for PostgreSQL the loader rewrites
-- BLOB to BYTEA. Times are BIGINT unix microseconds UTC (NULL when unset),
-- ids are UUIDv7 text, and an absent e-mail or phone is NULL so that the
-- unique indexes allow any number of accounts without one.

-- +goose Up
CREATE TABLE account (
    id                TEXT    NOT NULL PRIMARY KEY,
    realm             TEXT    NOT NULL,
    type              TEXT    NOT NULL,
    status            TEXT    NOT NULL,
    name              TEXT    NOT NULL,
    email             TEXT,
    email_verified_at BIGINT,
    phone             TEXT,
    phone_verified_at BIGINT,
    locale            TEXT    NOT NULL,
    created_at        BIGINT  NOT NULL,
    updated_at        BIGINT  NOT NULL
);
CREATE UNIQUE INDEX account_realm_email ON account (realm, email);
CREATE UNIQUE INDEX account_realm_phone ON account (realm, phone);
CREATE INDEX account_status_created ON account (status, created_at);

CREATE TABLE credential (
    realm      TEXT   NOT NULL,
    account_id TEXT   NOT NULL REFERENCES account (id),
    type       TEXT   NOT NULL,
    secret     TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, type)
);

CREATE TABLE flow (
    id           TEXT    NOT NULL PRIMARY KEY,
    realm        TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    step         TEXT    NOT NULL,
    account_id   TEXT    NOT NULL,
    device_id    TEXT    NOT NULL,
    identifier   TEXT    NOT NULL,
    channel      TEXT    NOT NULL,
    destination  TEXT    NOT NULL,
    attempts     INTEGER NOT NULL,
    sends        INTEGER NOT NULL,
    last_sent_at BIGINT,
    locale       TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL,
    version      INTEGER NOT NULL
);
CREATE INDEX flow_expires ON flow (expires_at);

CREATE TABLE code (
    id          TEXT   NOT NULL PRIMARY KEY,
    realm       TEXT   NOT NULL,
    flow_id     TEXT   NOT NULL,
    account_id  TEXT,
    purpose     TEXT   NOT NULL,
    channel     TEXT   NOT NULL,
    destination TEXT   NOT NULL,
    hash        BLOB   NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    consumed_at BIGINT
);
CREATE INDEX code_flow_created ON code (flow_id, created_at);
CREATE INDEX code_destination_created ON code (realm, destination, created_at);
CREATE INDEX code_account ON code (account_id);

CREATE TABLE device (
    id           TEXT   NOT NULL PRIMARY KEY,
    realm        TEXT   NOT NULL,
    token_hash   BLOB   NOT NULL,
    user_agent   TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX device_realm_token ON device (realm, token_hash);

CREATE TABLE account_device (
    realm         TEXT   NOT NULL,
    account_id    TEXT   NOT NULL REFERENCES account (id),
    device_id     TEXT   NOT NULL REFERENCES device (id),
    first_at      BIGINT NOT NULL,
    last_at       BIGINT NOT NULL,
    trusted_until BIGINT,
    PRIMARY KEY (account_id, device_id)
);
CREATE INDEX account_device_device ON account_device (device_id);

CREATE TABLE session (
    id           TEXT    NOT NULL PRIMARY KEY,
    realm        TEXT    NOT NULL,
    account_id   TEXT    NOT NULL REFERENCES account (id),
    device_id    TEXT,
    token_hash   BLOB    NOT NULL,
    aal          INTEGER NOT NULL,
    methods      TEXT    NOT NULL,
    ip           TEXT    NOT NULL,
    user_agent   TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    last_seen_at BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL,
    revoked_at   BIGINT
);
CREATE UNIQUE INDEX session_token ON session (token_hash);
CREATE INDEX session_account ON session (account_id);

CREATE TABLE event (
    id          TEXT   NOT NULL PRIMARY KEY,
    realm       TEXT   NOT NULL,
    account_id  TEXT,
    type        TEXT   NOT NULL,
    actor       TEXT   NOT NULL,
    ip          TEXT   NOT NULL,
    user_agent  TEXT   NOT NULL,
    device_id   TEXT   NOT NULL,
    request_id  TEXT   NOT NULL,
    data        TEXT   NOT NULL,
    occurred_at BIGINT NOT NULL
);
CREATE INDEX event_account_occurred ON event (account_id, occurred_at);

CREATE TABLE message (
    id                  TEXT    NOT NULL PRIMARY KEY,
    realm               TEXT    NOT NULL,
    channel             TEXT    NOT NULL,
    to_addr             TEXT    NOT NULL,
    template            TEXT    NOT NULL,
    locale              TEXT    NOT NULL,
    sealed_vars         BLOB,
    status              TEXT    NOT NULL,
    attempts            INTEGER NOT NULL,
    next_attempt_at     BIGINT  NOT NULL,
    lease_owner         TEXT    NOT NULL,
    lease_until         BIGINT  NOT NULL,
    provider            TEXT    NOT NULL,
    provider_message_id TEXT    NOT NULL,
    last_error          TEXT    NOT NULL,
    created_at          BIGINT  NOT NULL,
    sent_at             BIGINT
);
CREATE INDEX message_due ON message (status, next_attempt_at);

CREATE TABLE delivery_attempt (
    id            TEXT    NOT NULL PRIMARY KEY,
    realm         TEXT    NOT NULL,
    message_id    TEXT    NOT NULL REFERENCES message (id),
    provider      TEXT    NOT NULL,
    ok            BOOLEAN NOT NULL,
    error_message TEXT    NOT NULL,
    attempted_at  BIGINT  NOT NULL,
    duration_us   BIGINT  NOT NULL
);
CREATE INDEX delivery_attempt_message ON delivery_attempt (message_id, attempted_at);

CREATE TABLE dev_message (
    id         TEXT   NOT NULL PRIMARY KEY,
    realm      TEXT   NOT NULL,
    channel    TEXT   NOT NULL,
    to_addr    TEXT   NOT NULL,
    locale     TEXT   NOT NULL,
    template   TEXT   NOT NULL,
    subject    TEXT   NOT NULL,
    text_body  TEXT   NOT NULL,
    html_body  TEXT   NOT NULL,
    code       TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX dev_message_to_created ON dev_message (to_addr, created_at);
CREATE INDEX dev_message_created ON dev_message (created_at);

-- +goose Down
DROP TABLE dev_message;
DROP TABLE delivery_attempt;
DROP TABLE message;
DROP TABLE event;
DROP TABLE session;
DROP TABLE account_device;
DROP TABLE device;
DROP TABLE code;
DROP TABLE flow;
DROP TABLE credential;
DROP TABLE account;
