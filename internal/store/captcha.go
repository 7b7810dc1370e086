package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/ninsho/ninsho/internal/captcha"
	"github.com/ninsho/ninsho/internal/ninsho"
)

var _ captcha.Store = (*DB)(nil)

const captchaColumns = `id, realm, flow_id, sealed_digits, created_at, expires_at, solved_at, attempts`

// CreateChallenge stores c.
func (db *DB) CreateChallenge(ctx context.Context, c *captcha.Challenge) error {
	_, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO captcha (`+captchaColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		c.ID, c.Realm, c.FlowID, c.SealedDigits, us(c.CreatedAt), us(c.ExpiresAt), nullUSPtr(c.SolvedAt), c.Attempts)
	if err != nil {
		return internal("create captcha", err)
	}
	return nil
}

// Challenge returns the challenge with the id, or ninsho.CodeNotFound.
func (db *DB) Challenge(ctx context.Context, id string) (*captcha.Challenge, error) {
	var (
		c                    captcha.Challenge
		createdAt, expiresAt int64
		solvedAt             sql.NullInt64
	)
	err := db.reader(ctx).QueryRowContext(ctx, `SELECT `+captchaColumns+` FROM captcha WHERE id = $1`, id).
		Scan(&c.ID, &c.Realm, &c.FlowID, &c.SealedDigits, &createdAt, &expiresAt, &solvedAt, &c.Attempts)
	if err != nil {
		return nil, notFound("captcha", err, ninsho.CodeNotFound)
	}
	c.CreatedAt, c.ExpiresAt, c.SolvedAt = fromUS(createdAt), fromUS(expiresAt), fromNullUSPtr(solvedAt)
	return &c, nil
}

// UpdateChallenge writes attempts and solved_at of c if the stored challenge
// is unsolved and has fewer attempts than c; otherwise it changes nothing
// and answers ninsho.CodeConflict, or ninsho.CodeNotFound for an unknown id.
// The condition makes the update a compare-and-set: of concurrent answers
// that read the same attempt count, exactly one is recorded.
func (db *DB) UpdateChallenge(ctx context.Context, c *captcha.Challenge) error {
	q := db.writer(ctx)
	res, err := q.ExecContext(ctx, `UPDATE captcha SET attempts = $2, solved_at = $3
		WHERE id = $1 AND solved_at IS NULL AND attempts < $2`,
		c.ID, c.Attempts, nullUSPtr(c.SolvedAt))
	if err != nil {
		return internal("update captcha", err)
	}
	n, err := rowsAffected("update captcha", res)
	if err != nil {
		return err
	}
	if n == 0 {
		var one int
		err := q.QueryRowContext(ctx, `SELECT 1 FROM captcha WHERE id = $1`, c.ID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return ninsho.E(ninsho.CodeNotFound)
		}
		if err != nil {
			return internal("update captcha", err)
		}
		return ninsho.E(ninsho.CodeConflict)
	}
	return nil
}

// DeleteExpiredChallenges removes CAPTCHA challenges that expired before t and
// returns how many. The server's housekeeping calls it.
func (db *DB) DeleteExpiredChallenges(ctx context.Context, before time.Time) (int, error) {
	res, err := db.writer(ctx).ExecContext(ctx, `DELETE FROM captcha WHERE expires_at < $1`, us(before))
	if err != nil {
		return 0, internal("delete expired captcha challenges", err)
	}
	return rowsAffected("delete expired captcha challenges", res)
}
