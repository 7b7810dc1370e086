package closure

import (
	"context"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/authflow"
	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
)

// jst is Japan Standard Time, for Japanese messages.
var jst = time.FixedZone("JST", 9*60*60)

// alert sends Template (change) to every verified channel of a with the
// time, the device and network of req, the purge date when until is set,
// and — when notMe — a single-use "this wasn't me" link (the unlock flow's
// link: following it revokes every session and locks the account as
// suspicious, so that the owner takes it back with a code and a new
// password). Each sending is a signin.alert_sent event. It runs in the
// transaction of ctx.
func (s *Service) alert(ctx context.Context, rl *realm.Realm, req ninsho.Request, a *account.Account, change string, until time.Time, notMe bool) error {
	locale := authflow.Locale(&flow.Flow{Locale: chosenLocale(req)}, a, rl)
	al := authflow.Alerts{
		Template: Template, Locale: locale, Dests: authflow.VerifiedDests(a),
		Extra: map[string]string{"change": change, "until": dateText(until, locale)},
		Event: map[string]any{"change": change},
	}
	if !notMe {
		al.Link = func(context.Context, authflow.AlertDest) (string, error) { return "", nil }
	}
	// With notMe the links are "this wasn't me" links tied to no flow
	// (SendAlerts draws an id for them; no flow is recorded).
	return s.Kit.SendAlerts(ctx, rl, a, req, al)
}

// tell sends the purge alert (no link: the account is about to go, and no
// event about it: its events are being made anonymous) and returns the
// ids of the messages, which the purge keeps until they are sent.
func (s *Service) tell(ctx context.Context, rl *realm.Realm, a *account.Account, change string, until time.Time) ([]string, error) {
	k := s.Kit
	locale := authflow.Locale(&flow.Flow{}, a, rl)
	var ids []string
	for _, d := range authflow.VerifiedDests(a) {
		ok, err := s.admit(ctx, rl, d)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		vars := s.vars(rl, a, change, locale, until)
		vars["device"], vars["network"], vars["link"] = "", "", ""
		m, err := k.Notice(ctx, rl, d.Ch, d.To, Template, locale, vars)
		if err != nil {
			return nil, err
		}
		ids = append(ids, m.ID)
	}
	return ids, nil
}

// vars are the variables every closure alert has.
func (s *Service) vars(rl *realm.Realm, a *account.Account, change, locale string, until time.Time) map[string]string {
	now := s.Kit.Clock.Now()
	return map[string]string{
		"name": a.Name, "change": change, "time": when(now, locale), "until": dateText(until, locale),
	}
}

// admit says whether a message may go to d: a channel with a provider, and
// for a phone, within the SMS guard's limits (an alert past them is left
// out; the e-mail still goes).
func (s *Service) admit(ctx context.Context, rl *realm.Realm, d authflow.AlertDest) (bool, error) {
	k := s.Kit
	if !k.CanSend(code.Channel(d.Ch)) {
		return false, nil
	}
	return k.SMSGuard.AdmitOptional(ctx, rl, code.Channel(d.Ch), d.To, code.LaneOwner)
}

// when is a moment as messages give it: Japan time in Japanese, UTC in
// English.
func when(t time.Time, locale string) string {
	if locale == "ja" {
		return t.In(jst).Format("2006-01-02 15:04 JST")
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// dateText is the purge date of a message ("" for none).
func dateText(t time.Time, locale string) string {
	if t.IsZero() {
		return ""
	}
	return when(t, locale)
}

// chosenLocale is the language the request chose ("" for none).
func chosenLocale(req ninsho.Request) string {
	if req.LocaleChosen {
		return req.Locale
	}
	return ""
}
