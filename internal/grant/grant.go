// Package grant keeps what Ninsho's OpenID Connect provider hands out: the
// authorization an owner gave a client (redeemed once by its code), and the
// access and refresh tokens issued from it. Codes and refresh tokens are
// stored only as keyed hashes; access tokens are rows named by an id the
// provider encrypts into the token itself.
//
// Refresh tokens rotate: each use returns a new one and retires the old; a
// retired token presented again (stolen and replayed, or replayed by the
// thief after the owner used it) revokes its whole family — every token
// issued from the same authorization (RFC 9700 §4.14.2). A code redeemed
// twice revokes the family too (RFC 6749 §4.1.2).
//
// A token issued under a Ninsho session lives only while that session is
// neither revoked nor past its absolute expiry: signing out, "this wasn't
// me", a password reset or staff revoking the session ends the tokens too.
package grant

import (
	"context"
	"time"
)

// Lifetimes.
const (
	// CodeLifetime is how long an authorization code can be redeemed.
	CodeLifetime = time.Minute
	// AccessLifetime is an access token's lifetime.
	AccessLifetime = 15 * time.Minute
	// RefreshLifetime is a refresh token's lifetime; each rotation starts
	// a new one, never past the session's absolute expiry.
	RefreshLifetime = 30 * 24 * time.Hour
)

// Kinds of token.
const (
	KindAccess  = "access"
	KindRefresh = "refresh"
)

// Authorization is a finished authorization request: who signed in, to which
// client, how, and the code that redeems it (once).
type Authorization struct {
	ID            string
	Realm         string
	ClientID      string
	AccountID     string
	SessionID     string
	RedirectURI   string
	Scopes        []string
	Nonce         string
	CodeChallenge string // PKCE (RFC 7636), "" without
	CodeMethod    string // "S256" or "plain" ("" without a challenge)
	AuthTime      time.Time
	AMR           []string
	ACR           string
	CodeHash      []byte
	CreatedAt     time.Time
	ExpiresAt     time.Time
	UsedAt        *time.Time

	// SessionRevokedAt and SessionExpiresAt are read with the
	// authorization: the state of its session (a session row gone reads
	// as revoked).
	SessionRevokedAt *time.Time
	SessionExpiresAt time.Time
}

// Token is an access or refresh token as stored.
type Token struct {
	ID        string
	Realm     string
	ClientID  string
	AccountID string // "" for a client's own token (client credentials)
	SessionID string // "" for a client's own token
	// Family is the id of the authorization the token descends from ("" for
	// a client's own token).
	Family    string
	Kind      string
	Hash      []byte // refresh tokens: keyed hash of the token
	Scopes    []string
	Audience  []string
	AuthTime  time.Time
	AMR       []string
	ACR       string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time // a refresh token: when it was rotated
	RevokedAt *time.Time

	// SessionRevokedAt and SessionExpiresAt are read with the token: the
	// state of its session (both zero without one).
	SessionRevokedAt *time.Time
	SessionExpiresAt time.Time
}

// Store keeps authorizations and tokens. Methods take part in the
// transaction carried by ctx.
type Store interface {
	// CreateAuthorization inserts a.
	CreateAuthorization(ctx context.Context, a *Authorization) error
	// SetAuthorizationCode sets the code hash of the authorization id.
	SetAuthorizationCode(ctx context.Context, id string, codeHash []byte) error
	// AuthorizationByCode returns the authorization whose code hashes to h,
	// or ninsho.CodeNotFound.
	AuthorizationByCode(ctx context.Context, h []byte) (*Authorization, error)
	// UseAuthorization sets used_at to t where it is unset and reports
	// whether it did (false: redeemed before).
	UseAuthorization(ctx context.Context, id string, t time.Time) (bool, error)
	// CreateToken inserts t.
	CreateToken(ctx context.Context, t *Token) error
	// TokenByID returns a token by id, or by hash when id is "", with its
	// session's state, or ninsho.CodeNotFound.
	TokenByID(ctx context.Context, id string, hash []byte) (*Token, error)
	// UseRefreshToken sets used_at to t where it is unset and reports
	// whether it did (false: rotated before).
	UseRefreshToken(ctx context.Context, id string, t time.Time) (bool, error)
	// RevokeTokens sets revoked_at to t on the live tokens of a family, a
	// session, or the one token id (exactly one of the three is non-empty)
	// and returns how many.
	RevokeTokens(ctx context.Context, family, sessionID, id string, t time.Time) (int, error)
	// DeleteExpiredGrants deletes up to limit authorizations and tokens
	// expired before t and returns how many.
	DeleteExpiredGrants(ctx context.Context, t time.Time, limit int) (int, error)
}

// OwnerStore revokes the tokens a client holds for a person (a revoked
// consent). Its methods take part in the transaction carried by ctx.
type OwnerStore interface {
	// RevokeClientTokens sets revoked_at to t on the live tokens of
	// (realm, account, client) — of every account and the client's own
	// when accountID is "" — and returns how many.
	RevokeClientTokens(ctx context.Context, realm, accountID, clientID string, t time.Time) (int, error)
}
