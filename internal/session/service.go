package session

import (
	"context"
	"time"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/secret"
)

// Policy is the life of sessions.
type Policy struct {
	Idle       time.Duration // a session unused this long ends
	Absolute   time.Duration // a session ends this long after sign-in, used or not
	TouchEvery time.Duration // last-seen is written at most this often per session
}

// DefaultPolicy keeps a shopper signed in for 14 idle days and at most 30 days,
// writing last-seen at most once a minute.
func DefaultPolicy() Policy {
	return Policy{Idle: 14 * 24 * time.Hour, Absolute: 30 * 24 * time.Hour, TouchEvery: time.Minute}
}

// TokenBytes is the entropy of a session token.
const TokenBytes = 32

// Service creates and checks sessions.
type Service struct {
	Store  Store
	Clock  ninsho.Clock
	Random ninsho.Random
	Hasher *secret.Hasher
	Policy Policy
}

// New describes a session to create.
type New struct {
	Realm     string
	AccountID string
	DeviceID  string
	AAL       int
	Methods   []string
	IP        string
	UserAgent string
}

// Create stores a new session and returns it with its token. The token exists
// only in the return value.
func (s *Service) Create(ctx context.Context, n New) (token string, sess *Session, err error) {
	now := s.Clock.Now()
	token = ninsho.Token(s.Random, TokenBytes)
	sess = &Session{
		ID:         ninsho.NewID(s.Clock, s.Random),
		Realm:      n.Realm,
		AccountID:  n.AccountID,
		DeviceID:   n.DeviceID,
		TokenHash:  s.hash(token),
		AAL:        n.AAL,
		Methods:    n.Methods,
		IP:         n.IP,
		UserAgent:  n.UserAgent,
		CreatedAt:  now,
		LastSeenAt: now,
		ExpiresAt:  now.Add(s.Policy.Absolute),

		AuthenticatedAt: now,
	}
	if err := s.Store.CreateSession(ctx, sess); err != nil {
		return "", nil, err
	}
	return token, sess, nil
}

// Check returns the live session of token in realm, or
// ninsho.CodeUnauthenticated when the token is unknown, malformed, revoked,
// of another realm, idle too long or past its absolute expiry. It writes
// last-seen at most once per Policy.TouchEvery.
func (s *Service) Check(ctx context.Context, realm, token string) (*Session, error) {
	if len(token) == 0 || len(token) > 128 {
		return nil, ninsho.E(ninsho.CodeUnauthenticated)
	}
	sess, err := s.Store.SessionByTokenHash(ctx, s.hash(token))
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	if sess.Realm != realm || sess.RevokedAt != nil || !now.Before(sess.ExpiresAt) ||
		!now.Before(sess.LastSeenAt.Add(s.Policy.Idle)) {
		return nil, ninsho.E(ninsho.CodeUnauthenticated)
	}
	if now.Sub(sess.LastSeenAt) >= s.Policy.TouchEvery {
		if err := s.Store.TouchSession(ctx, sess.ID, now); err != nil {
			return nil, err
		}
		sess.LastSeenAt = now
	}
	return sess, nil
}

// Revoke ends the session of token; it is refused from then on.
func (s *Service) Revoke(ctx context.Context, sess *Session) error {
	return s.Store.RevokeSession(ctx, sess.ID, s.Clock.Now())
}

// Reauthenticate records that the person of sess proved who they are again,
// now, with methods at level aal; sess is updated to match. A revoked
// session is ninsho.CodeUnauthenticated.
func (s *Service) Reauthenticate(ctx context.Context, sess *Session, aal int, methods []string) error {
	now := s.Clock.Now()
	if err := s.Store.ReauthenticateSession(ctx, sess.ID, now, aal, methods); err != nil {
		return err
	}
	sess.AuthenticatedAt, sess.AAL, sess.Methods = now, aal, methods
	return nil
}

// Expiry returns when sess ends if it stays in use.
func (s *Service) Expiry(sess *Session) time.Time { return sess.ExpiresAt }

func (s *Service) hash(token string) []byte { return s.Hasher.Hash("session", token) }
