package store

import (
	"context"
	"time"

	"github.com/ninsho/ninsho/internal/consent"
	"github.com/ninsho/ninsho/internal/grant"
	"github.com/ninsho/ninsho/internal/ninsho"
)

var (
	_ consent.Store    = (*DB)(nil)
	_ grant.OwnerStore = (*DB)(nil)
)

// Consent returns the consent of (realm, account, client) (consent.Store).
func (db *DB) Consent(ctx context.Context, realm, accountID, clientID string) (*consent.Consent, error) {
	c := consent.Consent{Realm: realm, AccountID: accountID, ClientID: clientID}
	var (
		scopes  string
		granted int64
	)
	err := db.reader(ctx).QueryRowContext(ctx, `SELECT scopes, granted_at FROM oidc_consent
		WHERE realm = $1 AND account_id = $2 AND client_id = $3`, realm, accountID, clientID).Scan(&scopes, &granted)
	if err != nil {
		return nil, notFound("consent", err, ninsho.CodeNotFound)
	}
	c.Scopes, c.GrantedAt = readList(scopes), fromUS(granted)
	return &c, nil
}

// SaveConsent inserts or replaces a consent (consent.Store).
func (db *DB) SaveConsent(ctx context.Context, c *consent.Consent) error {
	_, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO oidc_consent (realm, account_id, client_id, scopes, granted_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (realm, account_id, client_id) DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at`,
		c.Realm, c.AccountID, c.ClientID, jsonList(c.Scopes), us(c.GrantedAt))
	if err != nil {
		return internal("save consent", err)
	}
	return nil
}

// Consents returns the account's consents to existing clients with their
// names, most recently granted first (consent.Store).
func (db *DB) Consents(ctx context.Context, realm, accountID string) ([]*consent.Consent, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT c.client_id, c.scopes, c.granted_at, o.name
		FROM oidc_consent c JOIN oauth_client o ON o.realm = c.realm AND o.id = c.client_id
		WHERE c.realm = $1 AND c.account_id = $2 ORDER BY c.granted_at DESC, c.client_id`, realm, accountID)
	if err != nil {
		return nil, internal("consents", err)
	}
	defer rows.Close()
	var out []*consent.Consent
	for rows.Next() {
		c := consent.Consent{Realm: realm, AccountID: accountID}
		var (
			scopes  string
			granted int64
		)
		if err := rows.Scan(&c.ClientID, &scopes, &granted, &c.ClientName); err != nil {
			return nil, internal("consents", err)
		}
		c.Scopes, c.GrantedAt = readList(scopes), fromUS(granted)
		out = append(out, &c)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("consents", err)
	}
	return out, nil
}

// DeleteConsent deletes a consent (consent.Store).
func (db *DB) DeleteConsent(ctx context.Context, realm, accountID, clientID string) (bool, error) {
	res, err := db.writer(ctx).ExecContext(ctx, `DELETE FROM oidc_consent WHERE realm = $1 AND account_id = $2 AND client_id = $3`,
		realm, accountID, clientID)
	if err != nil {
		return false, internal("delete consent", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, internal("delete consent", err)
	}
	return n > 0, nil
}

// RevokeClientTokens revokes the live tokens of (realm, account, client)
// (grant.OwnerStore).
func (db *DB) RevokeClientTokens(ctx context.Context, realm, accountID, clientID string, t time.Time) (int, error) {
	res, err := db.writer(ctx).ExecContext(ctx, `UPDATE oidc_token SET revoked_at = $4
		WHERE realm = $1 AND ($2 = '' OR account_id = $2) AND client_id = $3 AND revoked_at IS NULL`, realm, accountID, clientID, us(t))
	if err != nil {
		return 0, internal("revoke client tokens", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, internal("revoke client tokens", err)
	}
	return int(n), nil
}
