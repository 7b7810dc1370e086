-- Issue 15: organisations (internal/org). Portable DDL as in 00001.
--
-- organisation: keyed (realm, id). kind is seller or business; status
-- active, pending_approval or rejected. require_two_step and methods (a
-- JSON array of second-factor methods, [] for any) are its sign-in
-- policy. approval_hash is the keyed hash of the approval link's token
-- while the organisation is pending (NULL otherwise, never the token),
-- approval_expires_at when that link stops working; decided_at when it
-- was approved or rejected.
--
-- org_member: one row per (realm, organisation, account); role is owner,
-- admin or member. org_member_account finds a person's organisations.
--
-- org_invitation: an invitation to an address (normalised), with the
-- keyed hash of its link's token; accepted_at/accepted_by or revoked_at
-- end it. Finished and expired rows are deleted by housekeeping after 30
-- days (org.FinishedKept).

-- +goose Up
CREATE TABLE organisation (
    realm               TEXT    NOT NULL,
    id                  TEXT    NOT NULL,
    kind                TEXT    NOT NULL,
    name                TEXT    NOT NULL,
    status              TEXT    NOT NULL,
    require_two_step    BOOLEAN NOT NULL,
    methods             TEXT    NOT NULL,
    created_by          TEXT    NOT NULL,
    created_at          BIGINT  NOT NULL,
    decided_at          BIGINT,
    approval_hash       BLOB,
    approval_expires_at BIGINT,
    PRIMARY KEY (realm, id)
);
CREATE UNIQUE INDEX organisation_approval ON organisation (approval_hash);
CREATE INDEX organisation_creator ON organisation (realm, created_by, created_at);
CREATE INDEX organisation_status ON organisation (realm, status, created_at);

CREATE TABLE org_member (
    realm      TEXT   NOT NULL,
    org_id     TEXT   NOT NULL,
    account_id TEXT   NOT NULL,
    role       TEXT   NOT NULL,
    joined_at  BIGINT NOT NULL,
    PRIMARY KEY (realm, org_id, account_id)
);
CREATE INDEX org_member_account ON org_member (realm, account_id);

CREATE TABLE org_invitation (
    realm       TEXT   NOT NULL,
    id          TEXT   NOT NULL,
    org_id      TEXT   NOT NULL,
    email       TEXT   NOT NULL,
    role        TEXT   NOT NULL,
    invited_by  TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    token_hash  BLOB   NOT NULL,
    accepted_at BIGINT,
    accepted_by TEXT,
    revoked_at  BIGINT,
    PRIMARY KEY (realm, id)
);
CREATE UNIQUE INDEX org_invitation_token ON org_invitation (token_hash);
CREATE INDEX org_invitation_org ON org_invitation (realm, org_id, created_at);
CREATE INDEX org_invitation_email ON org_invitation (realm, email);
CREATE INDEX org_invitation_by ON org_invitation (realm, invited_by);

-- +goose Down
DROP TABLE org_invitation;
DROP TABLE org_member;
DROP TABLE organisation;
