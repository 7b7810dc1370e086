package authflow

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/code"
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
// signed in, the password changed) with the time, the device in words, the
// network and a single-use "this wasn't me" link valid NotMeLifetime. It goes
// to the verified e-mail address, and also to the verified phone when all is
// set; otherwise to the first verified channel. It runs in the transaction of
// ctx.
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
	now := k.Clock.Now()
	when := now.UTC().Format("2006-01-02 15:04 UTC")
	if a.Locale == "ja" {
		when = now.In(jst).Format("2006-01-02 15:04 JST")
	}
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
		if err := k.Notify(ctx, rl, d.ch, d.to, template, a.Locale, map[string]string{
			"name":    a.Name,
			"time":    when,
			"device":  DeviceName(req.UserAgent),
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

// DeviceName turns a User-Agent into words a person recognises, such as
// "Chrome on Windows" or "Safari on iPhone"; unknown agents are "a browser".
func DeviceName(ua string) string {
	browser := "a browser"
	switch {
	case strings.Contains(ua, "Edg/"):
		browser = "Edge"
	case strings.Contains(ua, "OPR/"):
		browser = "Opera"
	case strings.Contains(ua, "Firefox/"):
		browser = "Firefox"
	case strings.Contains(ua, "Chrome/"):
		browser = "Chrome"
	case strings.Contains(ua, "Safari/"):
		browser = "Safari"
	}
	os := ""
	switch {
	case strings.Contains(ua, "iPhone"):
		os = "iPhone"
	case strings.Contains(ua, "iPad"):
		os = "iPad"
	case strings.Contains(ua, "Android"):
		os = "Android"
	case strings.Contains(ua, "Windows"):
		os = "Windows"
	case strings.Contains(ua, "Mac OS X"):
		os = "Mac"
	case strings.Contains(ua, "Linux"):
		os = "Linux"
	}
	if os == "" {
		return browser
	}
	return browser + " on " + os
}
