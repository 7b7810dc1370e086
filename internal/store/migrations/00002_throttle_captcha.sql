-- Shared throttle counters and CAPTCHA challenges. Portable DDL as in 00001.

-- +goose Up
-- A counter bucket: the events of key in the bucket that starts at start,
-- kept until expires_at (when it can no longer fall inside its window).
CREATE TABLE throttle_bucket (
    key        TEXT   NOT NULL,
    start      BIGINT NOT NULL,
    count      BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (key, start)
);
CREATE INDEX throttle_bucket_expires ON throttle_bucket (expires_at);

-- A CAPTCHA challenge: its digits sealed (AES-GCM bound to the id), the flow
-- it belongs to, and how it was answered.
CREATE TABLE captcha (
    id            TEXT    NOT NULL PRIMARY KEY,
    realm         TEXT    NOT NULL,
    flow_id       TEXT    NOT NULL,
    sealed_digits BLOB    NOT NULL,
    created_at    BIGINT  NOT NULL,
    expires_at    BIGINT  NOT NULL,
    solved_at     BIGINT,
    attempts      INTEGER NOT NULL
);
CREATE INDEX captcha_expires ON captcha (expires_at);

-- +goose Down
DROP TABLE captcha;
DROP TABLE throttle_bucket;
