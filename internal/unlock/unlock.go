// Package unlock is the self-service way out of a lock. A person whose
// account is locked for unfamiliar devices (smart lockout) proves a verified
// channel with a code and then signs in with the password; an account locked
// for suspicious activity (locked_suspicious: staff, the risk engine, or the
// owner's own "this wasn't me") needs the code and a new password. It also
// handles the "this wasn't me" link of sign-in alerts.
package unlock

import (
	"context"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/authflow"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
)

// NotMeLifetime is how long the "this wasn't me" link of an alert works.
const NotMeLifetime = 7 * 24 * time.Hour

// Service runs unlock flows (flow.KindUnlock) and "this wasn't me" links. It
// implements flow.Handler.
type Service struct {
	Kit    *authflow.Kit
	Realms *realm.Registry
	Locks  account.LockStore
	// Forget drops cached sessions of an account (signin.Service's cache);
	// nil does nothing.
	Forget func(accountID string)
}

var _ flow.Handler = (*Service)(nil)

// Start begins an unlock for the identifier as typed. A code goes to a
// verified channel of the account (the identifier typed when it is
// verified). Explicit realms answer ninsho.CodeAccountNotFound for unknown
// identifiers; safe realms answer alike and send nothing. An account that is
// not locked gets the same flow (the code then simply leads to sign-in).
func (s *Service) Start(ctx context.Context, rl *realm.Realm, req ninsho.Request, identifier string) (*flow.Answer, error) {
	return nil, ninsho.Internal("unlock: not implemented")
}

// NotMe follows the "this wasn't me" link with token: it signs out every
// session of the account, locks it as suspicious and starts an unlock flow
// (code sent, then a new password). The link works once, for NotMeLifetime.
// An unknown, used or expired token is ninsho.CodeNotFound.
func (s *Service) NotMe(ctx context.Context, rl *realm.Realm, req ninsho.Request, token string) (*flow.Answer, error) {
	return nil, ninsho.Internal("unlock: not implemented")
}

// Act applies submit_code, resend_code, submit_password (unfamiliar lock)
// or set_new_password (suspicious lock: password and password_confirmation).
func (s *Service) Act(ctx context.Context, f *flow.Flow, req ninsho.Request, a flow.Action) (*flow.Answer, error) {
	return nil, ninsho.Internal("unlock: not implemented")
}

// View describes f as it stands.
func (s *Service) View(ctx context.Context, f *flow.Flow) (*flow.Answer, error) {
	return &flow.Answer{Flow: f}, nil
}
