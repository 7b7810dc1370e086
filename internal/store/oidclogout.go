package store

import (
	"context"
	"time"

	"github.com/ninsho/ninsho/internal/grant"
)

var _ grant.LogoutStore = (*DB)(nil)

// RevokedUnswept returns revoked sessions the back-channel sweep has not
// looked at (grant.LogoutStore).
func (db *DB) RevokedUnswept(ctx context.Context, limit int) ([]string, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT id FROM session
		WHERE revoked_at IS NOT NULL AND logout_swept_at IS NULL ORDER BY revoked_at, id LIMIT $1`, limit)
	if err != nil {
		return nil, internal("revoked unswept sessions", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, internal("revoked unswept sessions", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("revoked unswept sessions", err)
	}
	return ids, nil
}

// SweepSession queues the back-channel logouts of session id and marks it
// swept (grant.LogoutStore). The mark comes first and only where the
// session is not swept yet: of instances that listed the same session, one
// queues its logouts and the others nothing, even when its logouts were
// delivered (and deleted) before a late one got there. On PostgreSQL a
// concurrent sweep waits for the first one's row lock and then finds the
// session swept.
func (db *DB) SweepSession(ctx context.Context, id string, t time.Time) (int, error) {
	res, err := db.writer(ctx).ExecContext(ctx, `UPDATE session SET logout_swept_at = $2
		WHERE id = $1 AND logout_swept_at IS NULL`, id, us(t))
	if err != nil {
		return 0, internal("mark session swept", err)
	}
	if n, err := rowsAffected("mark session swept", res); err != nil || n == 0 {
		return 0, err // swept already, by this instance or another
	}
	res, err = db.writer(ctx).ExecContext(ctx, `INSERT INTO oidc_logout
		(session_id, client_id, realm, account_id, attempts, next_at, created_at)
		SELECT DISTINCT t.session_id, t.client_id, t.realm, t.account_id, 0, CAST($2 AS BIGINT), CAST($2 AS BIGINT) FROM oidc_token t
		JOIN oauth_client c ON c.realm = t.realm AND c.id = t.client_id
		WHERE t.session_id = $1 AND c.backchannel_logout_uri <> ''
		ON CONFLICT (session_id, client_id) DO NOTHING`, id, us(t))
	if err != nil {
		return 0, internal("queue logouts", err)
	}
	return rowsAffected("queue logouts", res)
}

// DueLogouts returns logouts due at t (grant.LogoutStore).
func (db *DB) DueLogouts(ctx context.Context, t time.Time, limit int) ([]grant.Logout, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT session_id, client_id, realm, account_id, attempts, next_at, created_at
		FROM oidc_logout WHERE next_at <= $1 ORDER BY next_at, session_id, client_id LIMIT $2`, us(t), limit)
	if err != nil {
		return nil, internal("due logouts", err)
	}
	defer rows.Close()
	var out []grant.Logout
	for rows.Next() {
		var (
			l             grant.Logout
			next, created int64
		)
		if err := rows.Scan(&l.SessionID, &l.ClientID, &l.Realm, &l.AccountID, &l.Attempts, &next, &created); err != nil {
			return nil, internal("due logouts", err)
		}
		l.NextAt, l.CreatedAt = fromUS(next), fromUS(created)
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("due logouts", err)
	}
	return out, nil
}

// ClaimLogout begins a delivery of l, once (grant.LogoutStore).
func (db *DB) ClaimLogout(ctx context.Context, l grant.Logout, until time.Time) (bool, error) {
	res, err := db.writer(ctx).ExecContext(ctx, `UPDATE oidc_logout SET next_at = $4, attempts = attempts + 1
		WHERE session_id = $1 AND client_id = $2 AND next_at = $3`, l.SessionID, l.ClientID, us(l.NextAt), us(until))
	if err != nil {
		return false, internal("claim logout", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, internal("claim logout", err)
	}
	return n == 1, nil
}

// RetryLogout sets when the logout is next tried (grant.LogoutStore).
func (db *DB) RetryLogout(ctx context.Context, sessionID, clientID string, t time.Time) error {
	if _, err := db.writer(ctx).ExecContext(ctx, `UPDATE oidc_logout SET next_at = $3 WHERE session_id = $1 AND client_id = $2`,
		sessionID, clientID, us(t)); err != nil {
		return internal("retry logout", err)
	}
	return nil
}

// DeleteLogout deletes the logout (grant.LogoutStore).
func (db *DB) DeleteLogout(ctx context.Context, sessionID, clientID string) error {
	if _, err := db.writer(ctx).ExecContext(ctx, `DELETE FROM oidc_logout WHERE session_id = $1 AND client_id = $2`,
		sessionID, clientID); err != nil {
		return internal("delete logout", err)
	}
	return nil
}
