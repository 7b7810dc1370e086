// Package signup is the sign-up flow: identifier, name and password, then the
// code sent to the identifier; the account is active only once the code is
// confirmed.
package signup

import (
	"context"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
)

// Input is what a person types on the sign-up form.
type Input struct {
	Identifier string // e-mail address or mobile number, as typed
	Name       string
	Password   string
	// PasswordConfirmation is compared with Password when ConfirmPassword is
	// set (the hosted page asks for the password twice; the API does not).
	PasswordConfirmation string
	ConfirmPassword      bool
	Locale               string // "ja", "en" or "" for the realm's default
}

// Service runs sign-up flows.
type Service struct {
	deps Deps
}

// Deps are the collaborators of the sign-up service.
type Deps struct{}

// Start begins a sign-up in realm rl. On success the answer's flow is in
// status challenge at step verification_code and a code is on its way.
func (s *Service) Start(ctx context.Context, rl *realm.Realm, req ninsho.Request, in Input) (*flow.Answer, error) {
	return nil, ninsho.Internal("signup: not implemented")
}
