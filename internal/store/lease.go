package store

import (
	"context"
	"time"

	"github.com/ninsho/ninsho/internal/lease"
)

var _ lease.Store = (*DB)(nil)

// TakeLease gives name to holder until until when it is free, expired at
// now, or holder's already (lease.Store). The conditional UPDATE is atomic
// against the other instances (on PostgreSQL a concurrent taker waits for
// the row and re-reads the condition, finding it held); a name never taken
// is inserted by exactly one of them.
func (db *DB) TakeLease(ctx context.Context, name, holder string, now, until time.Time) (bool, error) {
	res, err := db.writer(ctx).ExecContext(ctx, `UPDATE lease SET holder = $2, expires_at = $4
		WHERE name = $1 AND (expires_at <= $3 OR holder = $2)`, name, holder, us(now), us(until))
	if err != nil {
		return false, internal("take lease", err)
	}
	if n, err := rowsAffected("take lease", res); err != nil || n == 1 {
		return n == 1, err
	}
	res, err = db.writer(ctx).ExecContext(ctx, `INSERT INTO lease (name, holder, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO NOTHING`, name, holder, us(until))
	if err != nil {
		return false, internal("take lease", err)
	}
	n, err := rowsAffected("take lease", res)
	return n == 1, err
}

// ReleaseLease ends holder's lease of name (lease.Store).
func (db *DB) ReleaseLease(ctx context.Context, name, holder string) error {
	if _, err := db.writer(ctx).ExecContext(ctx, `UPDATE lease SET expires_at = 0 WHERE name = $1 AND holder = $2`,
		name, holder); err != nil {
		return internal("release lease", err)
	}
	return nil
}
