package authflow

import (
	"context"
	"slices"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/twostep"
)

// TwoStepAlerter tells an account's owner of every change to its two-step
// verification (twostep.Alerter): the message two_step_changed, naming the
// change and the method, with the time, the device and network of the
// request and a "this wasn't me" link, to every verified channel of the
// account (e-mail and text message), in the account's language (the
// language chosen in the request, else the account's saved one, else the
// realm's), through the outbox in the change's transaction.
type TwoStepAlerter struct{ Kit *Kit }

var _ twostep.Alerter = TwoStepAlerter{}

// Alert sends the alert of change (about a method of kind method, "" for
// none) to a's verified channels. The "this wasn't me" link is tied to no
// flow: following it signs out every session and locks the account as
// suspicious, as after a sign-in alert.
func (t TwoStepAlerter) Alert(ctx context.Context, rl *realm.Realm, req ninsho.Request, a *account.Account, change twostep.Change, method twostep.Method) error {
	return t.AlertAlso(ctx, rl, req, a, change, method, nil)
}

var _ twostep.AlsoAlerter = TwoStepAlerter{}

// AlertAlso is Alert that also sends the alert to also (the old number of
// a changed 2SV phone), once per channel and address: a destination that
// is a verified channel of a already gets no second alert. Destinations
// over a channel without a provider are skipped, as in Alert.
func (t TwoStepAlerter) AlertAlso(ctx context.Context, rl *realm.Realm, req ninsho.Request, a *account.Account, change twostep.Change, method twostep.Method, also []twostep.Destination) error {
	k := t.Kit
	dests := VerifiedDests(a)
	for _, d := range also {
		x := AlertDest{message.Channel(d.Channel), d.To}
		if d.To != "" && !slices.Contains(dests, x) {
			dests = append(dests, x)
		}
	}
	locale := Locale(&flow.Flow{Locale: chosenLocale(req)}, a, rl)
	return k.SendAlerts(ctx, rl, a, req, Alerts{Template: message.TemplateTwoStepChanged, Locale: locale,
		FlowID: ninsho.NewID(k.Clock, k.Random), Dests: dests,
		Extra: map[string]string{"change": string(change), "method": string(method)}})
}

// chosenLocale is the language the request chose ("" for none).
func chosenLocale(req ninsho.Request) string {
	if req.LocaleChosen {
		return req.Locale
	}
	return ""
}
