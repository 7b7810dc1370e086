package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/session"
)

const sessionColumns = `id, realm, account_id, device_id, token_hash, aal, methods, ip, user_agent, created_at, last_seen_at, expires_at, revoked_at, authenticated_at`

// CreateSession inserts s. Its account must exist.
func (db *DB) CreateSession(ctx context.Context, s *session.Session) error {
	methods, err := json.Marshal(s.Methods)
	if err != nil {
		return internal("create session", err)
	}
	_, err = db.writer(ctx).ExecContext(ctx, `INSERT INTO session (`+sessionColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		s.ID, s.Realm, s.AccountID, nullStr(s.DeviceID), s.TokenHash, s.AAL, string(methods), s.IP, s.UserAgent,
		us(s.CreatedAt), us(s.LastSeenAt), us(s.ExpiresAt), nullUSPtr(s.RevokedAt), us(s.AuthenticatedAt))
	if err != nil {
		return internal("create session", err)
	}
	return nil
}

// SessionByTokenHash returns the session whose token hashes to h, revoked
// or not, or ninsho.CodeUnauthenticated. The caller checks expiry and
// revocation.
func (db *DB) SessionByTokenHash(ctx context.Context, h []byte) (*session.Session, error) {
	if len(h) == 0 {
		return nil, ninsho.E(ninsho.CodeUnauthenticated)
	}
	s, err := scanSession(db.reader(ctx).QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM session WHERE token_hash = $1`, h))
	if err != nil {
		return nil, notFound("session by token", err, ninsho.CodeUnauthenticated)
	}
	return s, nil
}

// TouchSession sets last_seen_at to t. An unknown id is not an error.
func (db *DB) TouchSession(ctx context.Context, id string, t time.Time) error {
	if _, err := db.writer(ctx).ExecContext(ctx, `UPDATE session SET last_seen_at = $2 WHERE id = $1`, id, us(t)); err != nil {
		return internal("touch session", err)
	}
	return nil
}

// RevokeSession marks the session revoked at t. A session already revoked
// keeps its first revocation time; an unknown id is not an error.
func (db *DB) RevokeSession(ctx context.Context, id string, t time.Time) error {
	if _, err := db.writer(ctx).ExecContext(ctx,
		`UPDATE session SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL`, id, us(t)); err != nil {
		return internal("revoke session", err)
	}
	return nil
}

// RevokeAccountSessions revokes every live session of the account (not
// revoked, not expired at t) except the one with id except ("" for none),
// and returns how many it revoked.
func (db *DB) RevokeAccountSessions(ctx context.Context, accountID, except string, t time.Time) (int, error) {
	res, err := db.writer(ctx).ExecContext(ctx, `UPDATE session SET revoked_at = $3
		WHERE account_id = $1 AND id <> $2 AND revoked_at IS NULL AND expires_at > $3`,
		accountID, except, us(t))
	if err != nil {
		return 0, internal("revoke account sessions", err)
	}
	return rowsAffected("revoke account sessions", res)
}

// ReauthenticateSession sets authenticated_at, aal and methods of the
// session id if it is not revoked; otherwise (or for an unknown id) it
// answers ninsho.CodeUnauthenticated.
func (db *DB) ReauthenticateSession(ctx context.Context, id string, t time.Time, aal int, methods []string) error {
	m, err := json.Marshal(methods)
	if err != nil {
		return internal("reauthenticate session", err)
	}
	res, err := db.writer(ctx).ExecContext(ctx, `UPDATE session SET authenticated_at = $2, aal = $3, methods = $4
		WHERE id = $1 AND revoked_at IS NULL`, id, us(t), aal, string(m))
	if err != nil {
		return internal("reauthenticate session", err)
	}
	n, err := rowsAffected("reauthenticate session", res)
	if err != nil {
		return err
	}
	if n == 0 {
		return ninsho.E(ninsho.CodeUnauthenticated)
	}
	return nil
}
