package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/signingkey"
)

var _ signingkey.Store = (*DB)(nil)

const signingKeyColumns = `id, realm, alg, sealed, public_jwk, created_at, active_from, retire_after`

// AddSigningKey inserts k and retires the realm's keys that still sign at
// retireOthers (signingkey.Store).
func (db *DB) AddSigningKey(ctx context.Context, k *signingkey.Key, retireOthers time.Time) error {
	return db.InTx(ctx, func(ctx context.Context) error {
		if _, err := db.writer(ctx).ExecContext(ctx, `UPDATE signing_key SET retire_after = $2
			WHERE realm = $1 AND retire_after = 0`, k.Realm, us(retireOthers)); err != nil {
			return internal("add signing key", err)
		}
		_, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO signing_key (`+signingKeyColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			k.ID, k.Realm, k.Alg, k.Sealed, k.Public, us(k.CreatedAt), us(k.ActiveFrom), us(k.RetireAfter))
		if isUniqueViolation(err) {
			return ninsho.E(ninsho.CodeConflict)
		}
		if err != nil {
			return internal("add signing key", err)
		}
		return nil
	})
}

// SigningKeys lists a realm's keys, or every realm's for "", oldest first
// (signingkey.Store).
func (db *DB) SigningKeys(ctx context.Context, realm string) ([]signingkey.Key, error) {
	q := `SELECT ` + signingKeyColumns + ` FROM signing_key WHERE realm = $1 OR $1 = '' ORDER BY created_at, id`
	rows, err := db.reader(ctx).QueryContext(ctx, q, realm)
	if err != nil {
		return nil, internal("signing keys", err)
	}
	return scanSigningKeys("signing keys", rows)
}

// DeleteRetiredSigningKeys deletes and returns the keys retired at or
// before t (signingkey.Store).
func (db *DB) DeleteRetiredSigningKeys(ctx context.Context, t time.Time) ([]signingkey.Key, error) {
	rows, err := db.writer(ctx).QueryContext(ctx, `DELETE FROM signing_key WHERE retire_after <> 0 AND retire_after <= $1
		RETURNING `+signingKeyColumns, us(t))
	if err != nil {
		return nil, internal("delete retired signing keys", err)
	}
	return scanSigningKeys("delete retired signing keys", rows)
}

func scanSigningKeys(what string, rows *sql.Rows) ([]signingkey.Key, error) {
	defer rows.Close()
	var out []signingkey.Key
	for rows.Next() {
		var (
			k                        signingkey.Key
			created, active, retires int64
		)
		if err := rows.Scan(&k.ID, &k.Realm, &k.Alg, &k.Sealed, &k.Public, &created, &active, &retires); err != nil {
			return nil, internal(what, err)
		}
		k.CreatedAt, k.ActiveFrom, k.RetireAfter = fromUS(created), fromUS(active), fromUS(retires)
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, internal(what, err)
	}
	return out, nil
}
