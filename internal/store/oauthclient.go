package store

import (
	"context"
	"encoding/json"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/oauthclient"
)

var _ oauthclient.Store = (*DB)(nil)

const oauthClientColumns = `realm, id, name, kind, auth_method, secret_hash, jwks, redirect_uris, post_logout_uris,
	first_party, backchannel_logout_uri, frontchannel_logout_uri, without_two_step, created_at`

// CreateClient inserts c; an existing (realm, id) is ninsho.CodeConflict
// (oauthclient.Store).
func (db *DB) CreateClient(ctx context.Context, c *oauthclient.Client) error {
	redirects, err := uriList(c.RedirectURIs)
	if err != nil {
		return internal("create client", err)
	}
	postLogout, err := uriList(c.PostLogoutRedirectURIs)
	if err != nil {
		return internal("create client", err)
	}
	res, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO oauth_client (`+oauthClientColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
		ON CONFLICT (realm, id) DO NOTHING`,
		c.Realm, c.ID, c.Name, c.Kind, c.AuthMethod, nullBytes(c.SecretHash), nullBytes(c.JWKS), redirects, postLogout,
		c.FirstParty, c.BackchannelLogoutURI, c.FrontchannelLogoutURI, c.WithoutTwoStep, us(c.CreatedAt))
	if err != nil {
		return internal("create client", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return internal("create client", err)
	}
	if n == 0 {
		return ninsho.E(ninsho.CodeConflict)
	}
	return nil
}

// ClientByID returns the client, or ninsho.CodeNotFound (oauthclient.Store).
func (db *DB) ClientByID(ctx context.Context, realm, id string) (*oauthclient.Client, error) {
	row := db.reader(ctx).QueryRowContext(ctx, `SELECT `+oauthClientColumns+` FROM oauth_client WHERE realm = $1 AND id = $2`, realm, id)
	c, err := scanClient(row)
	if err != nil {
		return nil, notFound("client by id", err, ninsho.CodeNotFound)
	}
	return c, nil
}

// Clients lists a realm's clients by created_at, then id
// (oauthclient.Store).
func (db *DB) Clients(ctx context.Context, realm string) ([]oauthclient.Client, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT `+oauthClientColumns+` FROM oauth_client WHERE realm = $1
		ORDER BY created_at, id`, realm)
	if err != nil {
		return nil, internal("clients", err)
	}
	defer rows.Close()
	var out []oauthclient.Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, internal("clients", err)
		}
		out = append(out, *c)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("clients", err)
	}
	return out, nil
}

// DeleteClient deletes the client; an unknown one is ninsho.CodeNotFound
// (oauthclient.Store).
func (db *DB) DeleteClient(ctx context.Context, realm, id string) error {
	res, err := db.writer(ctx).ExecContext(ctx, `DELETE FROM oauth_client WHERE realm = $1 AND id = $2`, realm, id)
	if err != nil {
		return internal("delete client", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return internal("delete client", err)
	}
	if n == 0 {
		return ninsho.E(ninsho.CodeNotFound)
	}
	return nil
}

func scanClient(row interface{ Scan(...any) error }) (*oauthclient.Client, error) {
	var (
		c                     oauthclient.Client
		redirects, postLogout string
		created               int64
	)
	if err := row.Scan(&c.Realm, &c.ID, &c.Name, &c.Kind, &c.AuthMethod, &c.SecretHash, &c.JWKS, &redirects, &postLogout,
		&c.FirstParty, &c.BackchannelLogoutURI, &c.FrontchannelLogoutURI, &c.WithoutTwoStep, &created); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(redirects), &c.RedirectURIs); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(postLogout), &c.PostLogoutRedirectURIs); err != nil {
		return nil, err
	}
	if len(c.SecretHash) == 0 {
		c.SecretHash = nil
	}
	if len(c.JWKS) == 0 {
		c.JWKS = nil
	}
	c.CreatedAt = fromUS(created)
	return &c, nil
}

// uriList is a list of URIs as stored: a JSON array, [] for none.
func uriList(uris []string) (string, error) {
	if uris == nil {
		uris = []string{}
	}
	b, err := json.Marshal(uris)
	return string(b), err
}
