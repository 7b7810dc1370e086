package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"

	"github.com/ninsho/ninsho/internal/grant"
	"github.com/ninsho/ninsho/internal/ninsho"
)

var _ grant.Store = (*DB)(nil)

const authorizationColumns = `id, realm, client_id, account_id, session_id, redirect_uri, scopes, nonce,
	code_challenge, code_method, auth_time, amr, acr, code_hash, created_at, expires_at, used_at`

func jsonList(v []string) string {
	if v == nil {
		v = []string{}
	}
	b, _ := json.Marshal(v) // a list of strings always encodes
	return string(b)
}

func readList(s string) []string {
	var v []string
	_ = json.Unmarshal([]byte(s), &v) // written by jsonList
	return v
}

// prefixed qualifies each of the comma-separated columns with p.
func prefixed(p, columns string) string {
	parts := strings.Split(columns, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

// CreateAuthorization inserts a (grant.Store).
func (db *DB) CreateAuthorization(ctx context.Context, a *grant.Authorization) error {
	_, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO oidc_authorization (`+authorizationColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
		a.ID, a.Realm, a.ClientID, a.AccountID, a.SessionID, a.RedirectURI, jsonList(a.Scopes), a.Nonce,
		a.CodeChallenge, a.CodeMethod, us(a.AuthTime), jsonList(a.AMR), a.ACR, nullBytes(a.CodeHash),
		us(a.CreatedAt), us(a.ExpiresAt), nullUSPtr(a.UsedAt))
	if err != nil {
		return internal("create authorization", err)
	}
	return nil
}

// SetAuthorizationCode sets the code hash of authorization id (grant.Store).
func (db *DB) SetAuthorizationCode(ctx context.Context, id string, codeHash []byte) error {
	if _, err := db.writer(ctx).ExecContext(ctx, `UPDATE oidc_authorization SET code_hash = $2 WHERE id = $1`, id, codeHash); err != nil {
		return internal("set authorization code", err)
	}
	return nil
}

// AuthorizationByCode returns the authorization of a code hash
// (grant.Store).
func (db *DB) AuthorizationByCode(ctx context.Context, h []byte) (*grant.Authorization, error) {
	if len(h) == 0 {
		return nil, ninsho.E(ninsho.CodeNotFound)
	}
	var (
		a                          grant.Authorization
		scopes, amr                string
		authTime, created, expires int64
		used, sRevoked, sExpires   sql.NullInt64
	)
	q := `SELECT ` + prefixed("a.", authorizationColumns) + `, s.revoked_at, s.expires_at FROM oidc_authorization a
		LEFT JOIN session s ON s.id = a.session_id WHERE a.code_hash = $1`
	err := db.reader(ctx).QueryRowContext(ctx, q, h).
		Scan(&a.ID, &a.Realm, &a.ClientID, &a.AccountID, &a.SessionID, &a.RedirectURI, &scopes, &a.Nonce,
			&a.CodeChallenge, &a.CodeMethod, &authTime, &amr, &a.ACR, &a.CodeHash, &created, &expires, &used, &sRevoked, &sExpires)
	if err != nil {
		return nil, notFound("authorization by code", err, ninsho.CodeNotFound)
	}
	a.Scopes, a.AMR = readList(scopes), readList(amr)
	a.AuthTime, a.CreatedAt, a.ExpiresAt, a.UsedAt = fromUS(authTime), fromUS(created), fromUS(expires), fromNullUSPtr(used)
	a.SessionRevokedAt, a.SessionExpiresAt = fromNullUSPtr(sRevoked), fromNullUS(sExpires)
	if !sExpires.Valid { // the session row is gone: as good as ended
		gone := time.Unix(0, 0).UTC()
		a.SessionRevokedAt = &gone
	}
	return &a, nil
}

// UseAuthorization marks authorization id redeemed at t, once
// (grant.Store).
func (db *DB) UseAuthorization(ctx context.Context, id string, t time.Time) (bool, error) {
	return db.setOnce(ctx, "use authorization", `UPDATE oidc_authorization SET used_at = $2 WHERE id = $1 AND used_at IS NULL`, id, t)
}

// UseRefreshToken marks refresh token id rotated at t, once (grant.Store).
func (db *DB) UseRefreshToken(ctx context.Context, id string, t time.Time) (bool, error) {
	return db.setOnce(ctx, "use refresh token", `UPDATE oidc_token SET used_at = $2 WHERE id = $1 AND used_at IS NULL`, id, t)
}

func (db *DB) setOnce(ctx context.Context, what, q, id string, t time.Time) (bool, error) {
	res, err := db.writer(ctx).ExecContext(ctx, q, id, us(t))
	if err != nil {
		return false, internal(what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, internal(what, err)
	}
	return n == 1, nil
}

const tokenColumns = `t.id, t.realm, t.client_id, t.account_id, t.session_id, t.family, t.kind, t.hash, t.scopes,
	t.audience, t.auth_time, t.amr, t.acr, t.created_at, t.expires_at, t.used_at, t.revoked_at`

// CreateToken inserts t (grant.Store).
func (db *DB) CreateToken(ctx context.Context, t *grant.Token) error {
	_, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO oidc_token (id, realm, client_id, account_id, session_id,
		family, kind, hash, scopes, audience, auth_time, amr, acr, created_at, expires_at, used_at, revoked_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
		t.ID, t.Realm, t.ClientID, t.AccountID, t.SessionID, t.Family, t.Kind, nullBytes(t.Hash), jsonList(t.Scopes),
		jsonList(t.Audience), us(t.AuthTime), jsonList(t.AMR), t.ACR, us(t.CreatedAt), us(t.ExpiresAt),
		nullUSPtr(t.UsedAt), nullUSPtr(t.RevokedAt))
	if err != nil {
		return internal("create token", err)
	}
	return nil
}

// TokenByID returns a token by id, or by hash when id is "", with its
// session's state (grant.Store).
func (db *DB) TokenByID(ctx context.Context, id string, hash []byte) (*grant.Token, error) {
	q := `SELECT ` + tokenColumns + `, s.revoked_at, s.expires_at FROM oidc_token t
		LEFT JOIN session s ON s.id = t.session_id AND t.session_id <> '' `
	var row *sql.Row
	switch {
	case id != "":
		row = db.reader(ctx).QueryRowContext(ctx, q+`WHERE t.id = $1`, id)
	case len(hash) > 0:
		row = db.reader(ctx).QueryRowContext(ctx, q+`WHERE t.hash = $1`, hash)
	default:
		return nil, ninsho.E(ninsho.CodeNotFound)
	}
	var (
		t                                 grant.Token
		scopes, audience, amr             string
		authTime, created, expires        int64
		used, revoked, sRevoked, sExpires sql.NullInt64
	)
	err := row.Scan(&t.ID, &t.Realm, &t.ClientID, &t.AccountID, &t.SessionID, &t.Family, &t.Kind, &t.Hash, &scopes,
		&audience, &authTime, &amr, &t.ACR, &created, &expires, &used, &revoked, &sRevoked, &sExpires)
	if err != nil {
		return nil, notFound("token", err, ninsho.CodeNotFound)
	}
	t.Scopes, t.Audience, t.AMR = readList(scopes), readList(audience), readList(amr)
	t.AuthTime, t.CreatedAt, t.ExpiresAt = fromUS(authTime), fromUS(created), fromUS(expires)
	t.UsedAt, t.RevokedAt = fromNullUSPtr(used), fromNullUSPtr(revoked)
	if t.SessionID != "" {
		t.SessionRevokedAt, t.SessionExpiresAt = fromNullUSPtr(sRevoked), fromNullUS(sExpires)
		if !sExpires.Valid { // the session row is gone: as good as ended
			gone := time.Unix(0, 0).UTC()
			t.SessionRevokedAt = &gone
		}
	}
	return &t, nil
}

// RevokeTokens revokes the live tokens of a family, a session or one id
// (grant.Store).
func (db *DB) RevokeTokens(ctx context.Context, family, sessionID, id string, t time.Time) (int, error) {
	var (
		col, val string
	)
	switch {
	case family != "":
		col, val = "family", family
	case sessionID != "":
		col, val = "session_id", sessionID
	case id != "":
		col, val = "id", id
	default:
		return 0, ninsho.Internal("store: revoke tokens without a key")
	}
	res, err := db.writer(ctx).ExecContext(ctx, `UPDATE oidc_token SET revoked_at = $2 WHERE `+col+` = $1 AND revoked_at IS NULL`, val, us(t))
	if err != nil {
		return 0, internal("revoke tokens", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, internal("revoke tokens", err)
	}
	return int(n), nil
}

// DeleteExpiredGrants deletes up to limit authorizations and up to limit
// tokens expired before t (grant.Store).
func (db *DB) DeleteExpiredGrants(ctx context.Context, t time.Time, limit int) (int, error) {
	total := 0
	for _, table := range []string{"oidc_authorization", "oidc_token"} {
		res, err := db.writer(ctx).ExecContext(ctx, `DELETE FROM `+table+` WHERE id IN
			(SELECT id FROM `+table+` WHERE expires_at < $1 ORDER BY expires_at LIMIT $2)`, us(t), limit)
		if err != nil {
			return total, internal("delete expired grants", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, internal("delete expired grants", err)
		}
		total += int(n)
	}
	return total, nil
}

// SessionClients lists the ids of the clients that got tokens under session
// id (oidc front-channel logout), each once, in id order.
func (db *DB) SessionClients(ctx context.Context, sessionID string) ([]string, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT DISTINCT client_id FROM oidc_token WHERE session_id = $1 ORDER BY client_id`, sessionID)
	if err != nil {
		return nil, internal("session clients", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, internal("session clients", err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("session clients", err)
	}
	return out, nil
}
