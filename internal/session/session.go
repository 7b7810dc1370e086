// Package session issues and checks sign-in sessions: opaque random tokens
// whose keyed hashes are stored, with idle and absolute expiry.
package session

import (
	"context"
	"time"
)

// Session is one signed-in session. The token itself is never stored.
type Session struct {
	ID        string
	Realm     string
	AccountID string
	DeviceID  string
	TokenHash []byte
	AAL       int      // authenticator assurance level: 1 password, 2 two factors
	Methods   []string // Method* values, e.g. ["pwd"], ["pwd","email"], ["pwd","otp"]
	IP        string
	UserAgent string
	CreatedAt time.Time
	// AuthenticatedAt is when the person last proved who they are: the
	// sign-in that created the session, or a later re-authentication.
	AuthenticatedAt time.Time
	LastSeenAt      time.Time
	ExpiresAt       time.Time // absolute expiry
	RevokedAt       *time.Time
}

// Store keeps sessions. Methods take part in the transaction carried by ctx.
type Store interface {
	// CreateSession inserts s.
	CreateSession(ctx context.Context, s *Session) error
	// SessionByTokenHash returns the session whose token hashes to h, revoked
	// or not, or ninsho.CodeUnauthenticated.
	SessionByTokenHash(ctx context.Context, h []byte) (*Session, error)
	// TouchSession sets last_seen_at to t.
	TouchSession(ctx context.Context, id string, t time.Time) error
	// RevokeSession marks the session revoked at t (idempotent).
	RevokeSession(ctx context.Context, id string, t time.Time) error
	// RevokeAccountSessions revokes every live session of the account except
	// the one with id except ("" for none) and returns how many.
	RevokeAccountSessions(ctx context.Context, accountID, except string, t time.Time) (int, error)
	// ReauthenticateSession records a re-authentication of the live (not
	// revoked) session id at t: authenticated_at becomes t and aal and
	// methods the ones now proved. An unknown or revoked session is
	// ninsho.CodeUnauthenticated.
	ReauthenticateSession(ctx context.Context, id string, t time.Time, aal int, methods []string) error
}
