// Package consent keeps what a person allowed a third-party OpenID Connect
// client (issue 14): per realm, account and client, the scopes granted and
// when. A first-party client needs no consent; a third-party one is asked
// until a remembered consent covers every scope it asks for (or every time
// with prompt=consent). Revoking a consent also revokes every token the
// client holds for the person.
package consent

import (
	"context"
	"slices"
	"time"

	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// Consent is one remembered consent.
type Consent struct {
	Realm     string
	AccountID string
	ClientID  string
	// Scopes are every scope granted to the client, sorted.
	Scopes []string
	// GrantedAt is when the person last allowed the client (the first
	// consent, or one that added scopes or answered prompt=consent).
	GrantedAt time.Time
	// ClientName is the client's name, read with the consent by Consents
	// ("" elsewhere).
	ClientName string
}

// Covers reports whether c grants every scope of scopes.
func (c *Consent) Covers(scopes []string) bool {
	if c == nil {
		return false
	}
	for _, s := range scopes {
		if !slices.Contains(c.Scopes, s) {
			return false
		}
	}
	return true
}

// Store keeps consents. Methods take part in the transaction carried by
// ctx.
type Store interface {
	// Consent returns the consent of (realm, account, client), or
	// ninsho.CodeNotFound.
	Consent(ctx context.Context, realm, accountID, clientID string) (*Consent, error)
	// SaveConsent inserts c, or replaces the scopes and time of the
	// consent of the same (realm, account, client).
	SaveConsent(ctx context.Context, c *Consent) error
	// Consents returns the account's consents to clients that still
	// exist, with their names, most recently granted first.
	Consents(ctx context.Context, realm, accountID string) ([]*Consent, error)
	// DeleteConsent deletes the consent of (realm, account, client) and
	// reports whether there was one.
	DeleteConsent(ctx context.Context, realm, accountID, clientID string) (bool, error)
}

// Tokens revokes the live tokens a client holds for a person
// (grant.Service.RevokeClient).
type Tokens interface {
	RevokeClient(ctx context.Context, realm, accountID, clientID string) (int, error)
}

// Service remembers, lists and revokes consents.
type Service struct {
	Store  Store
	Tokens Tokens
	Tx     ninsho.TxRunner
	Events event.Store
	Clock  ninsho.Clock
	Random ninsho.Random
}

// Get returns the consent of (realm, account, client), or nil without one.
func (s *Service) Get(ctx context.Context, realm, accountID, clientID string) (*Consent, error) {
	c, err := s.Store.Consent(ctx, realm, accountID, clientID)
	if ninsho.IsCode(err, ninsho.CodeNotFound) {
		return nil, nil
	}
	return c, err
}

// Grant remembers that the account allowed the client scopes: the scopes
// are added to those granted before, and the time is now. It records
// oidc.consent_granted.
func (s *Service) Grant(ctx context.Context, realm, accountID, clientID string, scopes []string, req ninsho.Request) (*Consent, error) {
	var out *Consent
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		prev, err := s.Get(ctx, realm, accountID, clientID)
		if err != nil {
			return err
		}
		all := slices.Clone(scopes)
		if prev != nil {
			all = append(all, prev.Scopes...)
		}
		slices.Sort(all)
		all = slices.Compact(all)
		out = &Consent{Realm: realm, AccountID: accountID, ClientID: clientID, Scopes: all, GrantedAt: s.Clock.Now()}
		if err := s.Store.SaveConsent(ctx, out); err != nil {
			return err
		}
		return s.event(ctx, out, event.TypeOIDCConsentGranted, req, nil)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// List returns the account's consents, most recently granted first.
func (s *Service) List(ctx context.Context, realm, accountID string) ([]*Consent, error) {
	return s.Store.Consents(ctx, realm, accountID)
}

// Revoke deletes the account's consent to the client and revokes every
// live token the client holds for the account, and records
// oidc.consent_revoked. A client the account gave no consent to is
// not_found.
func (s *Service) Revoke(ctx context.Context, realm, accountID, clientID string, req ninsho.Request) error {
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		c, err := s.Store.Consent(ctx, realm, accountID, clientID)
		if err != nil {
			return err
		}
		if _, err := s.Store.DeleteConsent(ctx, realm, accountID, clientID); err != nil {
			return err
		}
		n := 0
		if s.Tokens != nil {
			if n, err = s.Tokens.RevokeClient(ctx, realm, accountID, clientID); err != nil {
				return err
			}
		}
		return s.event(ctx, c, event.TypeOIDCConsentRevoked, req, map[string]any{"revoked": n})
	})
}

func (s *Service) event(ctx context.Context, c *Consent, typ string, req ninsho.Request, more map[string]any) error {
	if s.Events == nil {
		return nil
	}
	data := map[string]any{"client_id": c.ClientID, "scopes": c.Scopes}
	for k, v := range more {
		data[k] = v
	}
	now := s.Clock.Now()
	return s.Events.AppendEvent(ctx, &event.Event{
		ID: ninsho.NewID(s.Clock, s.Random), Realm: c.Realm, AccountID: c.AccountID, Type: typ,
		Actor: "account:" + c.AccountID, IP: req.IP, UserAgent: req.UserAgent, RequestID: req.RequestID,
		Data: data, At: now,
	})
}
