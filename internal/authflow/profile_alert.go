package authflow

import (
	"context"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
)

// ProfileAlerter tells an account's owner of a change made in the account's
// settings (internal/profile): template goes to every verified channel of a
// (e-mail and text message), with the time, the device and network of the
// request, a "this wasn't me" link tied to f's id and the extra variables,
// in the language of f (the one chosen in the request) else a's saved one,
// through the outbox in the change's transaction. Pass a as it was before
// the change to tell an address being removed too.
type ProfileAlerter struct{ Kit *Kit }

// Alert sends template about a (see ProfileAlerter).
func (t ProfileAlerter) Alert(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account, req ninsho.Request, template string, extra map[string]string) error {
	var dests []alertDest
	if a.Email != "" && a.EmailVerifiedAt != nil {
		dests = append(dests, alertDest{message.ChannelEmail, a.Email})
	}
	if a.Phone != "" && a.PhoneVerifiedAt != nil {
		dests = append(dests, alertDest{message.ChannelSMS, a.Phone})
	}
	return t.Kit.alertTo(ctx, rl, f.ID, f.DeviceID, a, req, Locale(f, a, rl), template, dests, extra)
}
