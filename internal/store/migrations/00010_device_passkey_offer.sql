-- Issue 10 (passkeys): after a password sign-in the pages offer once to
-- create a passkey, and a device remembers that it was offered (or that the
-- person said "not now"), so that it is never asked again on that device.
-- Portable DDL as in 00001.
--
-- passkey_offer is device.PasskeyOffer: 0 never offered, 1 shown, 2
-- declined; it only moves forward (device.Store.SetPasskeyOffer), and
-- passkey_offer_at is when it last moved. The columns sit on the device row,
-- which exists only for a device on which a flow completed, so nothing a
-- stranger sends adds rows here; retention deletes them with the device.

-- +goose Up
ALTER TABLE device ADD COLUMN passkey_offer INTEGER NOT NULL DEFAULT 0;
ALTER TABLE device ADD COLUMN passkey_offer_at BIGINT;

-- +goose Down
ALTER TABLE device DROP COLUMN passkey_offer_at;
ALTER TABLE device DROP COLUMN passkey_offer;
