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
	dests := VerifiedDests(a)
	if !all && len(dests) > 1 {
		dests = dests[:1] // the e-mail address
	}
	return k.SendAlerts(ctx, rl, a, req, Alerts{Template: template, Locale: Locale(f, a, rl),
		FlowID: f.ID, DeviceID: f.DeviceID, Dests: dests})
}

// AlertDest is one channel an alert goes to.
type AlertDest struct {
	Ch message.Channel
	To string
}

// VerifiedDests are a's verified channels, the e-mail address first.
func VerifiedDests(a *account.Account) []AlertDest {
	var ds []AlertDest
	if a.Email != "" && a.EmailVerifiedAt != nil {
		ds = append(ds, AlertDest{message.ChannelEmail, a.Email})
	}
	if a.Phone != "" && a.PhoneVerifiedAt != nil {
		ds = append(ds, AlertDest{message.ChannelSMS, a.Phone})
	}
	return ds
}

// Alerts is one alert to send to each of its destinations (SendAlerts).
type Alerts struct {
	Template string
	Locale   string
	// FlowID and DeviceID are recorded with each sending; FlowID is also
	// what the default link's code is tied to (a new id when empty).
	FlowID, DeviceID string
	Dests            []AlertDest
	// Extra variables, besides name, time, device, network and link.
	Extra map[string]string
	// Link makes the link to d; nil: the "this wasn't me" link
	// (NotMeLink, a not_me code of NotMeLifetime tied to FlowID).
	Link func(ctx context.Context, d AlertDest) (string, error)
	// Event is added to the data of each signin.alert_sent.
	Event map[string]any
}

// SendAlerts sends al.Template to each of al.Dests that has a provider,
// in al.Locale, with the time, the device and network of req, the link
// and the extra variables, and records each sending (signin.alert_sent).
// An alert to a phone costs like a code: the SMS guard counts it in the
// owner's lane, and past its limits that alert is left out (the e-mail
// alert, if any, still goes; the action itself is not refused). It runs
// in the transaction of ctx.
func (k *Kit) SendAlerts(ctx context.Context, rl *realm.Realm, a *account.Account, req ninsho.Request, al Alerts) error {
	now := k.Clock.Now()
	when := now.UTC().Format("2006-01-02 15:04 UTC")
	if al.Locale == "ja" {
		when = now.In(jst).Format("2006-01-02 15:04 JST")
	}
	deviceText, _ := device.Describe(al.Locale, req.UserAgent)
	network := risk.Prefix(req.IP)
	if network == "" {
		network = "-"
	}
	link := al.Link
	if link == nil {
		linkFlow := al.FlowID
		if linkFlow == "" {
			linkFlow = ninsho.NewID(k.Clock, k.Random)
		}
		link = func(ctx context.Context, d AlertDest) (string, error) {
			token, err := k.Codes.IssueLink(ctx, rl.ID, a.ID, linkFlow, code.PurposeNotMe, d.To, NotMeLifetime)
			if err != nil {
				return "", err
			}
			return NotMeLink(rl, code.Channel(d.Ch), token), nil
		}
	}
	for _, d := range al.Dests {
		if !k.CanSend(code.Channel(d.Ch)) {
			continue
		}
		if ok, err := k.SMSGuard.AdmitOptional(ctx, rl, code.Channel(d.Ch), d.To, code.LaneOwner); err != nil {
			return err
		} else if !ok {
			continue
		}
		href, err := link(ctx, d)
		if err != nil {
			return err
		}
		vars := map[string]string{"name": a.Name, "time": when, "device": deviceText, "network": network, "link": href}
		for key, v := range al.Extra {
			vars[key] = v
		}
		if err := k.Notify(ctx, rl, d.Ch, d.To, al.Template, al.Locale, vars); err != nil {
			return err
		}
		data := map[string]any{"channel": string(d.Ch), "template": al.Template}
		if al.FlowID != "" {
			data["flow"] = al.FlowID
		}
		for key, v := range al.Event {
			data[key] = v
		}
		if err := k.Record(ctx, rl, a.ID, event.TypeSigninAlertSent, req, al.DeviceID, data); err != nil {
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
