package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/ninsho/ninsho/internal/device"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// CreateDevice inserts d unless a device with its id, or with its token
// hash in its realm, is already stored.
func (db *DB) CreateDevice(ctx context.Context, d *device.Device) error {
	_, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO device (id, realm, token_hash, user_agent, created_at, last_seen_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
		d.ID, d.Realm, d.TokenHash, d.UserAgent, us(d.CreatedAt), us(d.LastSeenAt))
	if err != nil {
		return internal("create device", err)
	}
	return nil
}

// DeviceByTokenHash returns the realm's device whose token hashes to h, or
// ninsho.CodeNotFound.
func (db *DB) DeviceByTokenHash(ctx context.Context, realm string, h []byte) (*device.Device, error) {
	if len(h) == 0 {
		return nil, ninsho.E(ninsho.CodeNotFound)
	}
	var (
		d                     device.Device
		createdAt, lastSeenAt int64
		offerAt               sql.NullInt64
	)
	err := db.reader(ctx).QueryRowContext(ctx, `SELECT id, realm, token_hash, user_agent, created_at, last_seen_at, passkey_offer, passkey_offer_at
		FROM device WHERE realm = $1 AND token_hash = $2`, realm, h).
		Scan(&d.ID, &d.Realm, &d.TokenHash, &d.UserAgent, &createdAt, &lastSeenAt, &d.PasskeyOffer, &offerAt)
	if err != nil {
		return nil, notFound("device by token", err, ninsho.CodeNotFound)
	}
	d.CreatedAt, d.LastSeenAt = fromUS(createdAt), fromUS(lastSeenAt)
	d.PasskeyOfferAt = fromNullUSPtr(offerAt)
	return &d, nil
}

// MarkFamiliar records that a sign-up or sign-in of the account completed
// on the device at t: the first time inserts the link, later times move
// last_at forward. The account and the device must exist; an unknown
// account is ninsho.CodeAccountNotFound.
func (db *DB) MarkFamiliar(ctx context.Context, accountID, deviceID string, t time.Time) error {
	res, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO account_device (realm, account_id, device_id, first_at, last_at)
		SELECT realm, id, $2, CAST($3 AS BIGINT), CAST($3 AS BIGINT) FROM account WHERE id = $1
		ON CONFLICT (account_id, device_id) DO UPDATE SET last_at =
			CASE WHEN excluded.last_at > account_device.last_at THEN excluded.last_at ELSE account_device.last_at END`,
		accountID, deviceID, us(t))
	if err != nil {
		return internal("mark device familiar", err)
	}
	n, err := rowsAffected("mark device familiar", res)
	if err != nil {
		return err
	}
	if n == 0 {
		return ninsho.E(ninsho.CodeAccountNotFound)
	}
	return nil
}

// IsFamiliar reports whether the account ever completed a sign-in or sign-up
// on the device.
func (db *DB) IsFamiliar(ctx context.Context, accountID, deviceID string) (bool, error) {
	var one int
	err := db.reader(ctx).QueryRowContext(ctx,
		`SELECT 1 FROM account_device WHERE account_id = $1 AND device_id = $2`, accountID, deviceID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, internal("device familiarity", err)
	}
	return true, nil
}

// SetPasskeyOffer moves the stored device's passkey offer forward to o at t
// and reports whether it moved: one compare-and-set statement, so of two
// concurrent calls with the same o one moves it.
func (db *DB) SetPasskeyOffer(ctx context.Context, deviceID string, o device.PasskeyOffer, t time.Time) (bool, error) {
	res, err := db.writer(ctx).ExecContext(ctx,
		`UPDATE device SET passkey_offer = $2, passkey_offer_at = $3 WHERE id = $1 AND passkey_offer < $2`,
		deviceID, int(o), us(t))
	if err != nil {
		return false, internal("set passkey offer", err)
	}
	n, err := rowsAffected("set passkey offer", res)
	if err != nil {
		return false, err
	}
	return n == 1, nil
}

// MarkNetwork records a completed sign-in of the account from prefix at t.
func (db *DB) MarkNetwork(ctx context.Context, realm, accountID, prefix string, t time.Time) error {
	_, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO account_network (realm, account_id, prefix, first_at, last_at)
		VALUES ($1, $2, $3, $4, $4)
		ON CONFLICT (account_id, prefix) DO UPDATE SET last_at = excluded.last_at`,
		realm, accountID, prefix, us(t))
	if err != nil {
		return internal("mark network", err)
	}
	return nil
}

// NetworkSeenSince reports whether the account completed a sign-in from
// prefix at or after since.
func (db *DB) NetworkSeenSince(ctx context.Context, accountID, prefix string, since time.Time) (bool, error) {
	var n int
	err := db.reader(ctx).QueryRowContext(ctx,
		`SELECT COUNT(*) FROM account_network WHERE account_id = $1 AND prefix = $2 AND last_at >= $3`,
		accountID, prefix, us(since)).Scan(&n)
	if err != nil {
		return false, internal("network seen", err)
	}
	return n > 0, nil
}
