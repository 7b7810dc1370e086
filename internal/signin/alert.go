package signin

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

// alert tells the owner, by e-mail (or SMS when the account has no verified
// address), that a device the account had not seen just signed in, with a
// single-use "this wasn't me" link. It runs in the transaction of ctx.
func (s *Service) alert(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account, req ninsho.Request) error {
	k := s.Kit
	ch, to := message.ChannelEmail, a.Email
	if a.Email == "" || a.EmailVerifiedAt == nil {
		ch, to = message.ChannelSMS, a.Phone
	}
	if to == "" || !k.CanSend(code.Channel(ch)) {
		return nil
	}
	token, err := k.Codes.IssueLink(ctx, rl.ID, a.ID, f.ID, code.PurposeNotMe, to, NotMeLifetime)
	if err != nil {
		return err
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
	if err := k.Notify(ctx, rl, ch, to, message.TemplateSigninAlert, a.Locale, map[string]string{
		"name":    a.Name,
		"time":    when,
		"device":  DeviceName(req.UserAgent),
		"network": network,
		"link":    strings.TrimRight(rl.BaseURL, "/") + "/signin/not-me?token=" + url.QueryEscape(token),
	}); err != nil {
		return err
	}
	return k.Record(ctx, rl, a.ID, event.TypeSigninAlertSent, req, f.DeviceID, map[string]any{"flow": f.ID, "channel": string(ch)})
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
