// Package signin is the sign-in flow (identifier and password, then any
// challenge) and the session checks that follow it.
package signin

import (
	"context"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/session"
)

// Input is what a person types on the sign-in form. An empty Password starts an
// identifier-first flow that asks for the password next.
type Input struct {
	Identifier string
	Password   string
}

// Principal is the signed-in account behind a session token.
type Principal struct {
	Session *session.Session
	Account *account.Account
}

// Service runs sign-in flows and checks sessions.
type Service struct{}

// Start begins a sign-in in realm rl.
func (s *Service) Start(ctx context.Context, rl *realm.Realm, req ninsho.Request, in Input) (*flow.Answer, error) {
	return nil, ninsho.Internal("signin: not implemented")
}

// Authenticate returns the principal of a session token in realm rl, or
// ninsho.CodeUnauthenticated. It writes to the store at most once a minute per
// session (coalesced last-seen).
func (s *Service) Authenticate(ctx context.Context, rl *realm.Realm, token string) (*Principal, error) {
	return nil, ninsho.E(ninsho.CodeUnauthenticated)
}

// Signout revokes the session of token and records the event.
func (s *Service) Signout(ctx context.Context, rl *realm.Realm, req ninsho.Request, token string) error {
	return ninsho.E(ninsho.CodeUnauthenticated)
}
