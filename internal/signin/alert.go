package signin

import (
	"context"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/authflow"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
)

// NotMeLifetime is how long the "this wasn't me" link of an alert works.
const NotMeLifetime = authflow.NotMeLifetime

// alert tells the owner, by e-mail (or SMS when the account has no verified
// address), that a device the account had not seen just signed in, with a
// single-use "this wasn't me" link. It runs in the transaction of ctx.
func (s *Service) alert(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account, req ninsho.Request) error {
	return s.Kit.Alert(ctx, rl, f, a, req, message.TemplateSigninAlert, false)
}
