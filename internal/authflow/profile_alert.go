package authflow

import (
	"context"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/flow"
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
	return t.Kit.SendAlerts(ctx, rl, a, req, Alerts{Template: template, Locale: Locale(f, a, rl),
		FlowID: f.ID, DeviceID: f.DeviceID, Dests: VerifiedDests(a), Extra: extra})
}
