package grant

import (
	"context"
	"time"

	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/secret"
	"github.com/ninsho/ninsho/internal/throttle"
)

// Service issues, checks, rotates and revokes grants.
type Service struct {
	Store Store
	// Owners revokes a person's tokens of a client (RevokeClient); nil:
	// RevokeClient fails.
	Owners OwnerStore
	Tx     ninsho.TxRunner
	Events event.Store
	Hasher *secret.Hasher
	Clock  ninsho.Clock
	Random ninsho.Random
	// Starts counts each session's authorizations (AuthorizationsPerSession
	// over AuthorizationWindow), so that a signed-in person reloading the
	// login bridge cannot write authorization rows and events without
	// bound; nil counts none.
	Starts *throttle.Counter
}

// AuthorizationsPerSession is how many authorizations (codes) one session
// may get within AuthorizationWindow — far above an application's silent
// renewals; the next answers ninsho.CodeRateLimited.
const AuthorizationsPerSession = 60

// AuthorizationWindow is the period AuthorizationsPerSession counts over.
const AuthorizationWindow = 10 * time.Minute

// Invalid is the one answer for a code or token that is unknown, expired,
// revoked, used, of another realm or of another client: the provider maps
// it to invalid_grant / an inactive token, and tells nothing more.
func Invalid() error { return ninsho.E(ninsho.CodeUnauthenticated) }

func (s *Service) codeHash(code string) []byte { return s.Hasher.Hash("oidc_code", code) }
func (s *Service) tokenHash(tok string) []byte { return s.Hasher.Hash("oidc_refresh", tok) }
func (s *Service) now() time.Time              { return s.Clock.Now() }
func (s *Service) newID() string               { return ninsho.NewID(s.Clock, s.Random) }

// Authorize records a finished authorization request (a.ID, CreatedAt and
// ExpiresAt are set here) and its event; the code follows by SetCode. Past
// AuthorizationsPerSession of the session within AuthorizationWindow it
// writes nothing and answers ninsho.CodeRateLimited.
func (s *Service) Authorize(ctx context.Context, a *Authorization, req ninsho.Request) error {
	now := s.now()
	a.ID, a.CreatedAt, a.ExpiresAt = s.newID(), now, now.Add(CodeLifetime)
	if s.Starts != nil {
		key := throttle.Key("oidc.authorize.session", a.Realm, a.SessionID)
		n, err := s.Starts.Count(ctx, key, AuthorizationWindow)
		if err != nil {
			return err
		}
		if n >= AuthorizationsPerSession {
			return ninsho.E(ninsho.CodeRateLimited).WithParam("retry_after_s", int(AuthorizationWindow/time.Second))
		}
		if err := s.Starts.Hit(ctx, key, 1, AuthorizationWindow); err != nil {
			return err
		}
	}
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.Store.CreateAuthorization(ctx, a); err != nil {
			return err
		}
		return s.event(ctx, a.Realm, a.AccountID, event.TypeOIDCAuthorized, req,
			map[string]any{"client_id": a.ClientID, "scopes": a.Scopes, "acr": a.ACR})
	})
}

// SetCode stores the keyed hash of the code that redeems authorization id.
func (s *Service) SetCode(ctx context.Context, id, code string) error {
	return s.Store.SetAuthorizationCode(ctx, id, s.codeHash(code))
}

// Redeem returns the authorization of code in realm without changing it:
// the caller checks who presents it (the client, its redirect URI, the
// PKCE verifier) and only then calls Consume. An unknown or expired code,
// or one of another realm, is Invalid. A code redeemed before is returned
// as it is (UsedAt set): Consume refuses it then.
func (s *Service) Redeem(ctx context.Context, realm, code string) (*Authorization, error) {
	if code == "" || len(code) > 4096 {
		return nil, Invalid()
	}
	a, err := s.Store.AuthorizationByCode(ctx, s.codeHash(code))
	if ninsho.IsCode(err, ninsho.CodeNotFound) {
		return nil, Invalid()
	}
	if err != nil {
		return nil, err
	}
	now := s.now()
	if a.Realm != realm || !now.Before(a.ExpiresAt) {
		return nil, Invalid()
	}
	// A code outlives nothing: signed out (or the session otherwise ended)
	// between the code and its redemption, it redeems nothing — no ID
	// token naming an ended session, which no logout would ever follow.
	if a.SessionRevokedAt != nil || !now.Before(a.SessionExpiresAt) {
		return nil, Invalid()
	}
	return a, nil
}

// Consume marks the authorization id of realm redeemed, once, after the
// presenting client proved it may redeem it. Redeemed before, it is Invalid
// and every token issued from it is revoked (RFC 6749 §4.1.2) — only a
// party that passed those checks can cause that, so a stranger holding a
// leaked code cannot sign its owner out of the client.
func (s *Service) Consume(ctx context.Context, realm, id, clientID, accountID string) error {
	refused := false
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		now := s.now()
		first, err := s.Store.UseAuthorization(ctx, id, now)
		if err != nil {
			return err
		}
		if first {
			return nil
		}
		refused = true
		n, err := s.Store.RevokeTokens(ctx, id, "", "", now)
		if err != nil {
			return err
		}
		return s.event(ctx, realm, accountID, event.TypeOIDCCodeReused, ninsho.Request{},
			map[string]any{"client_id": clientID, "revoked": n})
	})
	if err != nil {
		return err
	}
	if refused {
		return Invalid()
	}
	return nil
}

// Issue is what a new token is issued for.
type Issue struct {
	Realm, ClientID, AccountID, SessionID, Family string
	Scopes, Audience                              []string
	AuthTime                                      time.Time
	AMR                                           []string
	ACR                                           string
	// SessionExpiresAt caps a refresh token's expiry (zero: no cap).
	SessionExpiresAt time.Time
}

func (s *Service) token(in Issue, kind string, lifetime time.Duration) *Token {
	now := s.now()
	t := &Token{
		ID: s.newID(), Realm: in.Realm, ClientID: in.ClientID, AccountID: in.AccountID, SessionID: in.SessionID,
		Family: in.Family, Kind: kind, Scopes: in.Scopes, Audience: in.Audience, AuthTime: in.AuthTime,
		AMR: in.AMR, ACR: in.ACR, CreatedAt: now, ExpiresAt: now.Add(lifetime),
	}
	if !in.SessionExpiresAt.IsZero() && in.SessionExpiresAt.Before(t.ExpiresAt) {
		t.ExpiresAt = in.SessionExpiresAt
	}
	return t
}

// IssueAccess stores a new access token and returns it.
func (s *Service) IssueAccess(ctx context.Context, in Issue) (*Token, error) {
	t := s.token(in, KindAccess, AccessLifetime)
	if err := s.Store.CreateToken(ctx, t); err != nil {
		return nil, err
	}
	return t, nil
}

// IssuePair stores a new access token and a new refresh token (returned in
// the clear, once). With current non-empty it rotates: current is retired
// first, and if it had been retired already (a concurrent or replayed use)
// its family is revoked and the answer is Invalid.
func (s *Service) IssuePair(ctx context.Context, in Issue, current string) (access *Token, refresh string, err error) {
	refused := false
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		if current != "" {
			old, err := s.Store.TokenByID(ctx, "", s.tokenHash(current))
			if err != nil {
				return Invalid()
			}
			first, err := s.Store.UseRefreshToken(ctx, old.ID, s.now())
			if err != nil {
				return err
			}
			if !first {
				refused = true
				return s.reused(ctx, old)
			}
			in.Family = old.Family
		}
		access = s.token(in, KindAccess, AccessLifetime)
		if err := s.Store.CreateToken(ctx, access); err != nil {
			return err
		}
		refresh = ninsho.Token(s.Random, 32)
		rt := s.token(in, KindRefresh, RefreshLifetime)
		rt.Hash = s.tokenHash(refresh)
		return s.Store.CreateToken(ctx, rt)
	})
	if err != nil {
		return nil, "", err
	}
	if refused {
		return nil, "", Invalid()
	}
	return access, refresh, nil
}

// reused revokes the family of a refresh token presented after its
// rotation; the caller answers Invalid after the revocation commits.
func (s *Service) reused(ctx context.Context, t *Token) error {
	n, err := s.Store.RevokeTokens(ctx, t.Family, "", "", s.now())
	if err != nil {
		return err
	}
	return s.event(ctx, t.Realm, t.AccountID, event.TypeOIDCRefreshReused, ninsho.Request{},
		map[string]any{"client_id": t.ClientID, "revoked": n})
}

// Refresh returns the live refresh token tok of realm presented by
// clientID ("" when the caller checks the client itself). A token of
// another client is Invalid and changes nothing; a token rotated before
// revokes its family (and is Invalid); unknown, expired, revoked or
// session-ended tokens are Invalid.
func (s *Service) Refresh(ctx context.Context, realm, clientID, tok string) (*Token, error) {
	if tok == "" || len(tok) > 512 {
		return nil, Invalid()
	}
	var (
		t       *Token
		refused bool
	)
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		t, err = s.Store.TokenByID(ctx, "", s.tokenHash(tok))
		if ninsho.IsCode(err, ninsho.CodeNotFound) {
			return Invalid()
		}
		if err != nil {
			return err
		}
		if t.Realm != realm || t.Kind != KindRefresh || (clientID != "" && t.ClientID != clientID) {
			return Invalid()
		}
		if t.UsedAt != nil && t.RevokedAt == nil {
			refused = true
			return s.reused(ctx, t)
		}
		if !s.Live(t) {
			return Invalid()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if refused {
		return nil, Invalid()
	}
	return t, nil
}

// Access returns the live access token id of realm, or Invalid.
func (s *Service) Access(ctx context.Context, realm, id string) (*Token, error) {
	if id == "" {
		return nil, Invalid()
	}
	t, err := s.Store.TokenByID(ctx, id, nil)
	if ninsho.IsCode(err, ninsho.CodeNotFound) {
		return nil, Invalid()
	}
	if err != nil {
		return nil, err
	}
	if t.Realm != realm || t.Kind != KindAccess || !s.Live(t) {
		return nil, Invalid()
	}
	return t, nil
}

// Live reports whether t may be used now: not revoked, not expired, not
// rotated, and its session (if any) neither revoked nor past its absolute
// expiry.
func (s *Service) Live(t *Token) bool {
	now := s.now()
	if t.RevokedAt != nil || t.UsedAt != nil || !now.Before(t.ExpiresAt) {
		return false
	}
	if t.SessionID != "" && (t.SessionRevokedAt != nil || !now.Before(t.SessionExpiresAt)) {
		return false
	}
	return true
}

// RefreshID returns the refresh token tok of realm, whatever its state,
// so that a client can revoke it; false when there is none.
func (s *Service) RefreshID(ctx context.Context, realm, tok string) (*Token, bool) {
	if tok == "" || len(tok) > 512 {
		return nil, false
	}
	t, err := s.Store.TokenByID(ctx, "", s.tokenHash(tok))
	if err != nil || t.Realm != realm || t.Kind != KindRefresh {
		return nil, false
	}
	return t, true
}

// Revoke revokes the token id presented by clientID (RFC 7009): a refresh
// token revokes its whole family, an access token itself. A token of
// another client or realm, or an unknown one, is left alone and answers
// nil, as RFC 7009 §2.2 asks.
func (s *Service) Revoke(ctx context.Context, realm, clientID, id string) error {
	if id == "" || len(id) > 512 {
		return nil
	}
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		t, err := s.Store.TokenByID(ctx, id, nil)
		if ninsho.IsCode(err, ninsho.CodeNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if t.Realm != realm || t.ClientID != clientID || t.RevokedAt != nil {
			return nil
		}
		now := s.now()
		if t.Kind == KindRefresh && t.Family != "" {
			_, err = s.Store.RevokeTokens(ctx, t.Family, "", "", now)
		} else {
			_, err = s.Store.RevokeTokens(ctx, "", "", t.ID, now)
		}
		if err != nil {
			return err
		}
		return s.event(ctx, t.Realm, t.AccountID, event.TypeOIDCTokenRevoked, ninsho.Request{},
			map[string]any{"client_id": t.ClientID, "kind": t.Kind})
	})
}

// RevokeSession revokes every token issued under session id.
func (s *Service) RevokeSession(ctx context.Context, sessionID string) (int, error) {
	if sessionID == "" {
		return 0, nil
	}
	return s.Store.RevokeTokens(ctx, "", sessionID, "", s.now())
}

// RevokeClient revokes every live token client holds for the account in
// realm (the person revoked the client's consent) and returns how many.
func (s *Service) RevokeClient(ctx context.Context, realm, accountID, clientID string) (int, error) {
	if s.Owners == nil {
		return 0, ninsho.Internal("grant: no owner store")
	}
	if accountID == "" || clientID == "" {
		return 0, nil
	}
	return s.Owners.RevokeClientTokens(ctx, realm, accountID, clientID, s.now())
}

// RevokeAllOfClient revokes every live token of a client in realm (the
// client is being deleted).
func (s *Service) RevokeAllOfClient(ctx context.Context, realm, clientID string) (int, error) {
	if s.Owners == nil {
		return 0, ninsho.Internal("grant: no owner store")
	}
	if clientID == "" {
		return 0, nil
	}
	return s.Owners.RevokeClientTokens(ctx, realm, "", clientID, s.now())
}

// Purge deletes up to limit authorizations and tokens that expired more
// than a day ago (kept that long so a reuse is still recognised).
func (s *Service) Purge(ctx context.Context, limit int) (int, error) {
	return s.Store.DeleteExpiredGrants(ctx, s.now().Add(-24*time.Hour), limit)
}

func (s *Service) event(ctx context.Context, realm, accountID, typ string, req ninsho.Request, data map[string]any) error {
	if s.Events == nil {
		return nil
	}
	actor := "system"
	if accountID != "" {
		actor = "account:" + accountID
	}
	return s.Events.AppendEvent(ctx, &event.Event{
		ID: s.newID(), Realm: realm, AccountID: accountID, Type: typ, Actor: actor,
		IP: req.IP, UserAgent: req.UserAgent, RequestID: req.RequestID, Data: data, At: s.now(),
	})
}
