-- Issue 9: where a page flow sends the browser when it completes. return_to
-- is the URL the flow was started with, already checked against the realm's
-- allow-list (NULL: none, the account page). It is written when the flow is
-- created and never changed. Portable DDL as in 00001.

-- +goose Up
ALTER TABLE flow ADD COLUMN return_to TEXT;

-- +goose Down
ALTER TABLE flow DROP COLUMN return_to;
