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
// all is set; otherwise to the first verified channel. It runs in the
// transaction of ctx.
func (k *Kit) Alert(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account, req ninsho.Request, template string, all bool) error {
	type dest struct {
		ch message.Channel
		to string
	}
	var dests []dest
	if a.Email != "" && a.EmailVerifiedAt != nil {
		dests = append(dests, dest{message.ChannelEmail, a.Email})
	}
	if a.Phone != "" && a.PhoneVerifiedAt != nil && (all || len(dests) == 0) {
		dests = append(dests, dest{message.ChannelSMS, a.Phone})
	}
	locale := Locale(f, a, rl)
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
		token, err := k.Codes.IssueLink(ctx, rl.ID, a.ID, f.ID, code.PurposeNotMe, d.to, NotMeLifetime)
		if err != nil {
			return err
		}
		if err := k.Notify(ctx, rl, d.ch, d.to, template, locale, map[string]string{
			"name":    a.Name,
			"time":    when,
			"device":  deviceText,
			"network": network,
			"link":    baseURL(rl) + "/signin/not-me?token=" + url.QueryEscape(token),
		}); err != nil {
			return err
		}
		if err := k.Record(ctx, rl, a.ID, event.TypeSigninAlertSent, req, f.DeviceID, map[string]any{
			"flow": f.ID, "channel": string(d.ch), "template": template,
		}); err != nil {
			return err
		}
	}
	return nil
}
