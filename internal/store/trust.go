package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/trust"
)

var _ trust.Store = (*DB)(nil)

const trustedDeviceColumns = `id, realm, account_id, device_id, user_agent, network, created_at, last_used_at, expires_at`

func scanTrustedDevice(s scanner) (*trust.Device, error) {
	var (
		d                      trust.Device
		created, used, expires int64
	)
	if err := s.Scan(&d.ID, &d.Realm, &d.AccountID, &d.DeviceID, &d.UserAgent, &d.Network, &created, &used, &expires); err != nil {
		return nil, err
	}
	d.CreatedAt, d.LastUsedAt, d.ExpiresAt = fromUS(created), fromUS(used), fromUS(expires)
	return &d, nil
}

// TrustDevice inserts d, or extends the account's row for d.DeviceID (its
// id and created_at stay and come back in d). One statement: of two
// concurrent calls for one device, one inserts and the other extends.
func (db *DB) TrustDevice(ctx context.Context, d *trust.Device) error {
	return db.InTx(ctx, func(ctx context.Context) error {
		q := db.writer(ctx)
		res, err := q.ExecContext(ctx, `INSERT INTO trusted_device (`+trustedDeviceColumns+`)
			SELECT CAST($1 AS TEXT), realm, id, CAST($3 AS TEXT), CAST($4 AS TEXT), CAST($5 AS TEXT),
				CAST($6 AS BIGINT), CAST($7 AS BIGINT), CAST($8 AS BIGINT)
			FROM account WHERE id = $2 AND realm = $9
			ON CONFLICT (account_id, device_id) DO UPDATE SET
				user_agent = excluded.user_agent, network = excluded.network,
				last_used_at = excluded.last_used_at, expires_at = excluded.expires_at`,
			d.ID, d.AccountID, d.DeviceID, d.UserAgent, d.Network, us(d.CreatedAt), us(d.LastUsedAt), us(d.ExpiresAt), d.Realm)
		if err != nil {
			return internal("trust device", err)
		}
		n, err := rowsAffected("trust device", res)
		if err != nil {
			return err
		}
		if n == 0 {
			return ninsho.E(ninsho.CodeAccountNotFound)
		}
		got, err := scanTrustedDevice(q.QueryRowContext(ctx, `SELECT `+trustedDeviceColumns+` FROM trusted_device
			WHERE account_id = $1 AND device_id = $2`, d.AccountID, d.DeviceID))
		if err != nil {
			return internal("trust device", err)
		}
		*d = *got
		return nil
	})
}

// UseTrustedDevice reads the account's unexpired row for deviceID and, when
// its last use is UseInterval or more before now, writes now: a sign-in
// reads, and writes at most once a minute per device.
func (db *DB) UseTrustedDevice(ctx context.Context, realm, accountID, deviceID string, now time.Time) (bool, error) {
	var id string
	var used int64
	err := db.reader(ctx).QueryRowContext(ctx, `SELECT id, last_used_at FROM trusted_device
		WHERE realm = $1 AND account_id = $2 AND device_id = $3 AND expires_at > $4`,
		realm, accountID, deviceID, us(now)).Scan(&id, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, internal("use trusted device", err)
	}
	if now.Sub(fromUS(used)) >= trust.UseInterval {
		if _, err := db.writer(ctx).ExecContext(ctx, `UPDATE trusted_device SET last_used_at = $1
			WHERE id = $2 AND last_used_at < $1`, us(now), id); err != nil {
			return false, internal("use trusted device", err)
		}
	}
	return true, nil
}

// TrustedDevices returns the account's rows unexpired at now, the most
// recently used first.
func (db *DB) TrustedDevices(ctx context.Context, realm, accountID string, now time.Time) ([]trust.Device, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT `+trustedDeviceColumns+` FROM trusted_device
		WHERE realm = $1 AND account_id = $2 AND expires_at > $3
		ORDER BY last_used_at DESC, id DESC`, realm, accountID, us(now))
	if err != nil {
		return nil, internal("trusted devices", err)
	}
	defer rows.Close()
	var out []trust.Device
	for rows.Next() {
		d, err := scanTrustedDevice(rows)
		if err != nil {
			return nil, internal("trusted devices", err)
		}
		out = append(out, *d)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("trusted devices", err)
	}
	return out, nil
}

// RevokeTrustedDevice deletes the account's row id and returns it.
func (db *DB) RevokeTrustedDevice(ctx context.Context, realm, accountID, id string) (*trust.Device, error) {
	var d *trust.Device
	err := db.InTx(ctx, func(ctx context.Context) error {
		q := db.writer(ctx)
		var err error
		d, err = scanTrustedDevice(q.QueryRowContext(ctx, `SELECT `+trustedDeviceColumns+` FROM trusted_device
			WHERE id = $1 AND realm = $2 AND account_id = $3`, id, realm, accountID))
		if err != nil {
			return notFound("revoke trusted device", err, ninsho.CodeNotFound)
		}
		if _, err := q.ExecContext(ctx, `DELETE FROM trusted_device WHERE id = $1`, id); err != nil {
			return internal("revoke trusted device", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// RevokeTrustedDevices deletes every row of the account.
func (db *DB) RevokeTrustedDevices(ctx context.Context, realm, accountID string) (int, error) {
	res, err := db.writer(ctx).ExecContext(ctx, `DELETE FROM trusted_device WHERE realm = $1 AND account_id = $2`, realm, accountID)
	if err != nil {
		return 0, internal("revoke trusted devices", err)
	}
	return rowsAffected("revoke trusted devices", res)
}

// PurgeTrustedDevices deletes at most limit rows that expired before
// cutoff, in one statement.
func (db *DB) PurgeTrustedDevices(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	return db.purgeBatch(ctx, "purge trusted devices", "trusted_device", "expires_at < $1", cutoff, limit)
}
