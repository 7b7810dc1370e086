-- Issue 14 (OpenID Connect Back-Channel Logout 1.0): telling clients that a
-- session they got tokens under has ended. Portable DDL as in 00001.
--
-- session.logout_swept_at: when the back-channel sweep (grant.LogoutStore
-- SweepLogouts) looked at the session after it was revoked; NULL while a
-- revoked session has not been looked at. Sessions revoked before this
-- migration count as looked at. The partial index holds only the revoked
-- sessions not yet looked at, so a pass reads only those.
-- oidc_logout: one logout token still to be delivered per (session,
-- client); attempts counts deliveries begun, next_at is when the next one
-- may begin (a begun delivery moves it one lease ahead). A row goes when
-- its delivery succeeds or its attempts run out.

-- +goose Up
ALTER TABLE session ADD COLUMN logout_swept_at BIGINT;
UPDATE session SET logout_swept_at = revoked_at WHERE revoked_at IS NOT NULL;
CREATE INDEX session_logout_pending ON session (revoked_at) WHERE revoked_at IS NOT NULL AND logout_swept_at IS NULL;

CREATE TABLE oidc_logout (
    session_id TEXT    NOT NULL,
    client_id  TEXT    NOT NULL,
    realm      TEXT    NOT NULL,
    account_id TEXT    NOT NULL,
    attempts   INTEGER NOT NULL,
    next_at    BIGINT  NOT NULL,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (session_id, client_id)
);
CREATE INDEX oidc_logout_next ON oidc_logout (next_at);

-- +goose Down
DROP TABLE oidc_logout;
DROP INDEX session_logout_pending;
ALTER TABLE session DROP COLUMN logout_swept_at;
