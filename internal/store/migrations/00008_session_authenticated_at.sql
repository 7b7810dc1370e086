-- Issue 10 (re-authentication): when the person of a session last proved who
-- they are. created_at stays the sign-in that issued the session (its
-- absolute expiry was counted from it); authenticated_at starts equal to it
-- and moves forward with each re-authentication. Rows from before take their
-- created_at. Portable DDL as in 00001.
--
-- Session methods are not rewritten here: the store maps the names written
-- before issue 10 ("password", "email_code", "sms_code") to their RFC 8176
-- values when it reads a row (session.ReadMethods).

-- +goose Up
ALTER TABLE session ADD COLUMN authenticated_at BIGINT NOT NULL DEFAULT 0;
UPDATE session SET authenticated_at = created_at;

-- +goose Down
ALTER TABLE session DROP COLUMN authenticated_at;
