package store

import (
	"context"
	"time"

	"github.com/ninsho/ninsho/internal/lease"
)

var _ lease.Store = (*DB)(nil)

// TakeLease gives name to holder until until when it is free, expired at
// now, or holder's already (lease.Store). One upsert, atomic against the
// other instances: a concurrent taker of the same name on PostgreSQL waits
// for the row and then finds it held.
func (db *DB) TakeLease(ctx context.Context, name, holder string, now, until time.Time) (bool, error) {
	res, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO lease (name, holder, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE lease.expires_at <= $4 OR lease.holder = excluded.holder`, name, holder, us(until), us(now))
	if err != nil {
		return false, internal("take lease", err)
	}
	n, err := rowsAffected("take lease", res)
	return n == 1, err
}

// ReleaseLease deletes holder's lease of name (lease.Store), so that rows
// exist only while held (and, after a holder stopped, until
// DeleteEndedLeases).
func (db *DB) ReleaseLease(ctx context.Context, name, holder string) error {
	if _, err := db.writer(ctx).ExecContext(ctx, `DELETE FROM lease WHERE name = $1 AND holder = $2`,
		name, holder); err != nil {
		return internal("release lease", err)
	}
	return nil
}

// DeleteEndedLeases deletes the leases whose time ended at or before now
// (left by a holder that stopped), for housekeeping.
func (db *DB) DeleteEndedLeases(ctx context.Context, now time.Time) (int64, error) {
	res, err := db.writer(ctx).ExecContext(ctx, `DELETE FROM lease WHERE expires_at <= $1`, us(now))
	if err != nil {
		return 0, internal("delete ended leases", err)
	}
	n, err := rowsAffected("delete ended leases", res)
	return int64(n), err
}
