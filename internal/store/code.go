package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/ninsho"
)

const codeColumns = `id, realm, flow_id, account_id, purpose, channel, destination, hash, created_at, expires_at, consumed_at, lane`

// InsertCode stores c.
func (db *DB) InsertCode(ctx context.Context, c *code.Code) error {
	_, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO code (`+codeColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		c.ID, c.Realm, c.FlowID, nullStr(c.AccountID), string(c.Purpose), string(c.Channel), c.Destination,
		c.Hash, us(c.CreatedAt), us(c.ExpiresAt), nullUSPtr(c.ConsumedAt), string(laneOrOwner(c.Lane)))
	if err != nil {
		return internal("insert code", err)
	}
	return nil
}

// LatestCode returns the most recently created code of the flow, or
// ninsho.CodeNoCodeRequested when the flow has none.
func (db *DB) LatestCode(ctx context.Context, flowID string) (*code.Code, error) {
	var (
		c                    code.Code
		accountID            sql.NullString
		createdAt, expiresAt int64
		consumedAt           sql.NullInt64
	)
	err := db.reader(ctx).QueryRowContext(ctx, `SELECT `+codeColumns+` FROM code
		WHERE flow_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1`, flowID).
		Scan(&c.ID, &c.Realm, &c.FlowID, &accountID, &c.Purpose, &c.Channel, &c.Destination, &c.Hash,
			&createdAt, &expiresAt, &consumedAt, &c.Lane)
	if err != nil {
		return nil, notFound("latest code", err, ninsho.CodeNoCodeRequested)
	}
	c.AccountID = accountID.String
	c.CreatedAt, c.ExpiresAt, c.ConsumedAt = fromUS(createdAt), fromUS(expiresAt), fromNullUSPtr(consumedAt)
	return &c, nil
}

// ConsumeCode marks the code used at t. It returns true when this call
// consumed it, false when it was already consumed (a replay) or does not
// exist. The conditional update makes concurrent calls agree: exactly one
// of them gets true.
func (db *DB) ConsumeCode(ctx context.Context, id string, at time.Time) (bool, error) {
	res, err := db.writer(ctx).ExecContext(ctx,
		`UPDATE code SET consumed_at = $2 WHERE id = $1 AND consumed_at IS NULL`, id, us(at))
	if err != nil {
		return false, internal("consume code", err)
	}
	n, err := rowsAffected("consume code", res)
	return n == 1, err
}

// ConsumeLinksTo uses up the account's unused links of purposes that went
// to destination (code.Store).
func (db *DB) ConsumeLinksTo(ctx context.Context, realm, accountID, destination string, purposes []code.Purpose, t time.Time) (int, error) {
	if destination == "" || len(purposes) == 0 {
		return 0, nil
	}
	q := `UPDATE code SET consumed_at = $1 WHERE realm = $2 AND account_id = $3 AND destination = $4 AND consumed_at IS NULL AND purpose IN (`
	args := []any{us(t), realm, accountID, destination}
	for i, p := range purposes {
		if i > 0 {
			q += ", "
		}
		q += sprintf("$%d", len(args)+1)
		args = append(args, string(p))
	}
	res, err := db.writer(ctx).ExecContext(ctx, q+")", args...)
	if err != nil {
		return 0, internal("consume links", err)
	}
	n, err := rowsAffected("consume links", res)
	return int(n), err
}

// CountCodesSince counts the realm's codes of lane sent to destination at
// or after t.
func (db *DB) CountCodesSince(ctx context.Context, realm, destination string, lane code.Lane, since time.Time) (int, error) {
	var n int
	err := db.reader(ctx).QueryRowContext(ctx,
		`SELECT COUNT(*) FROM code WHERE realm = $1 AND destination = $2 AND created_at >= $3 AND lane = $4`,
		realm, destination, us(since), string(laneOrOwner(lane))).Scan(&n)
	if err != nil {
		return 0, internal("count codes", err)
	}
	return n, nil
}

// CodeByHash returns the code whose keyed hash is h, or ninsho.CodeNotFound.
func (db *DB) CodeByHash(ctx context.Context, h []byte) (*code.Code, error) {
	var (
		c                    code.Code
		accountID            sql.NullString
		createdAt, expiresAt int64
		consumedAt           sql.NullInt64
	)
	err := db.reader(ctx).QueryRowContext(ctx, `SELECT `+codeColumns+` FROM code WHERE hash = $1`, h).
		Scan(&c.ID, &c.Realm, &c.FlowID, &accountID, &c.Purpose, &c.Channel, &c.Destination, &c.Hash,
			&createdAt, &expiresAt, &consumedAt, &c.Lane)
	if err != nil {
		return nil, notFound("code by hash", err, ninsho.CodeNotFound)
	}
	c.AccountID = accountID.String
	c.CreatedAt, c.ExpiresAt, c.ConsumedAt = fromUS(createdAt), fromUS(expiresAt), fromNullUSPtr(consumedAt)
	return &c, nil
}

// laneOrOwner is l, or the owner's lane for codes made without one.
func laneOrOwner(l code.Lane) code.Lane {
	if l == "" {
		return code.LaneOwner
	}
	return l
}
