package authflow

import (
	"context"
	"net/url"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/device"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/risk"
)

// NotMeLifetime is how long the "this wasn't me" link of an alert works.
const NotMeLifetime = 7 * 24 * time.Hour

// jst is Japan Standard Time, for Japanese messages (no DST, fixed zone).
var jst = time.FixedZone("JST", 9*60*60)

// Alert tells the owner about a security event (template: a new device
// signed in, the password changed) in the language of the flow's messages
// (Locale: the person's choice, else the owner's saved language)
// with the time, the device in words of that language (device.Describe),
// the network and a single-use "this wasn't me" link valid NotMeLifetime. It
// goes to the verified e-mail address, and also to the verified phone when
// all is set; otherwise to the first verified channel. An SMS alert the
// SMSGuard refuses is left out. It runs in the
// transaction of ctx.
func (k *Kit) Alert(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account, req ninsho.Request, template string, all bool) error {
	var dests []alertDest
	if a.Email != "" && a.EmailVerifiedAt != nil {
		dests = append(dests, alertDest{message.ChannelEmail, a.Email})
	}
	if a.Phone != "" && a.PhoneVerifiedAt != nil && (all || len(dests) == 0) {
		dests = append(dests, alertDest{message.ChannelSMS, a.Phone})
	}
	return k.alertTo(ctx, rl, f.ID, f.DeviceID, a, req, Locale(f, a, rl), template, dests, nil)
}

// alertDest is one channel an alert goes to.
type alertDest struct {
	ch message.Channel
	to string
}

// alertTo sends template to each of dests that has a provider, in locale,
// with the time, the device and network of req, a "this wasn't me" link
// (a link code tied to flowID) and the extra variables, and records each
// sending. It runs in the transaction of ctx.
func (k *Kit) alertTo(ctx context.Context, rl *realm.Realm, flowID, deviceID string, a *account.Account, req ninsho.Request, locale, template string, dests []alertDest, extra map[string]string) error {
	now := k.Clock.Now()
	when := now.UTC().Format("2006-01-02 15:04 UTC")
	if locale == "ja" {
		when = now.In(jst).Format("2006-01-02 15:04 JST")
	}
	deviceText, _ := device.Describe(locale, req.UserAgent)
	network := risk.Prefix(req.IP)
	if network == "" {
		network = "-"
	}
	for _, d := range dests {
		if !k.CanSend(code.Channel(d.ch)) {
			continue
		}
		// An alert to a phone costs like a code: the SMS guard counts it in
		// the owner's lane, and past its limits the alert is left out (the
		// e-mail alert, if any, still goes; the action itself is not refused).
		if ok, err := k.SMSGuard.AdmitOptional(ctx, rl, code.Channel(d.ch), d.to, code.LaneOwner); err != nil {
			return err
		} else if !ok {
			continue
		}
		token, err := k.Codes.IssueLink(ctx, rl.ID, a.ID, flowID, code.PurposeNotMe, d.to, NotMeLifetime)
		if err != nil {
			return err
		}
		vars := map[string]string{
			"name":    a.Name,
			"time":    when,
			"device":  deviceText,
			"network": network,
			"link":    NotMeLink(rl, code.Channel(d.ch), token),
		}
		for key, v := range extra {
			vars[key] = v
		}
		if err := k.Notify(ctx, rl, d.ch, d.to, template, locale, vars); err != nil {
			return err
		}
		if err := k.Record(ctx, rl, a.ID, event.TypeSigninAlertSent, req, deviceID, map[string]any{
			"flow": flowID, "channel": string(d.ch), "template": template,
		}); err != nil {
			return err
		}
	}
	return nil
}

// NotMeLink is the "this wasn't me" link of an alert: /signin/not-me?token=…
// in e-mail, and its short form /n/<token> in a text message, where every
// character counts (the same page answers both).
func NotMeLink(rl *realm.Realm, ch code.Channel, token string) string {
	if ch == code.ChannelEmail {
		return baseURL(rl) + "/signin/not-me?token=" + url.QueryEscape(token)
	}
	return baseURL(rl) + "/n/" + url.PathEscape(token)
}
