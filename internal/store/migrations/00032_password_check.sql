-- Issue 16 (found from outside): one password check per identifier at a time,
-- across every instance on the database. A row says that holder is checking
-- a password for check_key (a throttle key of the realm and the identifier)
-- until expires_at (unix microseconds); it is deleted when the check has been
-- counted, so rows exist only while checks run (and, after a crash, until
-- expires_at: housekeeping removes them). Concurrent wrong guesses could
-- otherwise all pass the failure count before any of them was counted, and
-- overshoot the lock.

-- +goose Up
CREATE TABLE password_check (
    check_key  TEXT   NOT NULL PRIMARY KEY,
    holder     TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE password_check;
