package web

import (
	"strings"
	"time"

	"github.com/ninsho/ninsho/internal/device"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/i18n"
	msg "github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/risk"
)

// historyLimit is how many entries of the sign-in history the account page
// shows.
const historyLimit = 50

// historyRow is one entry of the sign-in history as the account page shows
// it, every text in the page's language.
type historyRow struct {
	When     string // in the realm's time zone (realmZone)
	Datetime string // RFC 3339, for <time datetime>
	What     string // what happened
	Failed   bool   // a refused attempt or a lock
	Address  string
	Network  string // the address's /24 or /48, when recorded
	Device   string // browser and system in the page's words (device.Describe); empty when none was recorded
	Reasons  []string
	// NotMe says the entry carries "this wasn't me" for the session
	// viewing it (sessions.CarriesNotMe); ID is its id then.
	NotMe bool
	ID    string
}

// historyRows describes events for the account page in locale, with times
// in the realm's time zone. It returns the rows and the catalogue key that
// names the zone.
func historyRows(locale string, rl *realm.Realm, evs []*event.Event) ([]historyRow, string) {
	loc, zone := realmZone(rl)
	rows := make([]historyRow, 0, len(evs))
	for _, e := range evs {
		at := e.At.In(loc)
		row := historyRow{
			When:     historyTime(locale, at),
			Datetime: e.At.UTC().Format(time.RFC3339),
			What:     historyWhat(locale, e, loc),
			Failed:   e.Type == event.TypeSigninFailed || e.Type == event.TypeAccountLocked || e.Type == event.TypeSigninSecondFactorFailed,
			Address:  e.IP,
			Device:   describeUA(locale, e.UserAgent),
		}
		if event.ByStaff(e) {
			// A decision made in the staff console: where staff work from
			// is not the owner's to see.
			row.Address, row.Device = "", ""
		}
		// The network: as recorded, else the address's /24 or /48 (two-step
		// and trusted-device events record none).
		p, _ := e.Data["prefix"].(string)
		if p == "" {
			p = risk.Prefix(e.IP)
		}
		if p != "" && p != e.IP && row.Address != "" {
			row.Network = p
		}
		// Successes and challenges keep the risk reasons as "reasons";
		// refusals as "risk" (their "reason" is the refusal's code).
		reasons := strings.Join(event.DataStrings(e.Data["reasons"]), ",") + "," + strings.Join(event.DataStrings(e.Data["risk"]), ",")
		for _, r := range strings.Split(reasons, ",") {
			if r != "" {
				row.Reasons = append(row.Reasons, message(locale, "history.reason."+r, r))
			}
		}
		if b, _ := e.Data["typo_corrected"].(bool); b {
			row.Reasons = append(row.Reasons, i18n.Message(locale, "history.typo_corrected", nil))
		}
		rows = append(rows, row)
	}
	return rows, zone
}

// historyWhat says what an event was: signed in, refused (and why), asked
// for a code, locked (and until when), signed out, account created.
func historyWhat(locale string, e *event.Event, loc *time.Location) string {
	switch e.Type {
	case event.TypeSigninFailed:
		reason, _ := e.Data["reason"].(string)
		key := "history.signin.failed"
		if via, _ := e.Data["via"].(string); via == "reauth" || via == "password_change" {
			key = "history.reauth.failed" // a wrong password when confirming who they are
		}
		return i18n.Message(locale, key, map[string]any{
			"reason": message(locale, "history.refusal."+reason, reason),
		})
	case event.TypeAccountLocked:
		if kind, _ := e.Data["kind"].(string); kind == "suspicious" {
			if reason, _ := e.Data["reason"].(string); reason == "contact_undo" {
				return i18n.Message(locale, "history.account.locked_contact_undo", nil)
			} else if reason == "not_me" {
				return i18n.Message(locale, "history.account.locked_not_me", nil)
			}
			return i18n.Message(locale, "history.account.locked_suspicious", nil)
		}
		s, _ := e.Data["until"].(string)
		until, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return i18n.Message(locale, "history.account.locked", nil)
		}
		until = until.In(loc)
		return i18n.Message(locale, "history.account.locked_until", map[string]any{"until": clockText(locale, until, e.At.In(loc))})
	case event.TypeSigninAlertSent:
		// One event for every alert: its template says which was sent.
		switch t, _ := e.Data["template"].(string); t {
		case msg.TemplatePasswordChanged:
			return i18n.Message(locale, "history.password.notice_sent", nil)
		case msg.TemplateTwoStepChanged:
			return i18n.Message(locale, "history.two_step.notice_sent", nil)
		case msg.TemplateSecondFactorFailed:
			return i18n.Message(locale, "history.second_factor_failed.notice_sent", nil)
		case msg.TemplateIdentifierRemoved:
			return i18n.Message(locale, "history.identifier_removed.notice_sent", nil)
		case msg.TemplateAccountClosure:
			return i18n.Message(locale, "history.account.closure_notice_sent", nil)
		case msg.TemplateContactChanged:
			return i18n.Message(locale, "history.contact.notice_sent", nil)
		case msg.TemplateAccountSuspended, msg.TemplateAccountReinstated,
			msg.TemplateRecoveryOpened, msg.TemplateRecoveryApproved, msg.TemplateRecoveryRejected:
			return i18n.Message(locale, "history.notice_sent."+t, nil)
		}
	case event.TypeRecoverySubmitted, event.TypeRecoveryApproved, event.TypeRecoveryRejected, event.TypeRecoveryCancelled:
		// The reference only: a decision's written reason stays with staff.
		ref, _ := e.Data["case"].(string)
		return i18n.Message(locale, "history."+e.Type, map[string]any{"reference": ref})
	case event.TypeContactChanged:
		kind, _ := e.Data["kind"].(string)
		key := "history.contact.changed." + kind
		if added, _ := e.Data["added"].(bool); added {
			key = "history.contact.added." + kind
		}
		return message(locale, key, i18n.Message(locale, "history.contact.changed", nil))
	case event.TypeSigninSucceeded:
		methods := event.DataStrings(e.Data["methods"])
		switch sf, _ := e.Data["second_factor"].(string); {
		case e.Data["passkey"] == true:
			return i18n.Message(locale, "history.signin.succeeded_passkey", nil)
		case sf == "trusted_device":
			return i18n.Message(locale, "history.signin.succeeded_trusted", nil)
		case len(methods) > 1:
			if m := historyMethod(locale, methods[len(methods)-1]); m != "" {
				return i18n.Message(locale, "history.signin.succeeded_two_step", map[string]any{"method": m})
			}
		}
	case event.TypeTwoStepEnabled, event.TypeTwoStepMethodAdded, event.TypeTwoStepMethodRemoved, event.TypeTwoStepPreferred:
		key := "history." + e.Type
		if r, _ := e.Data["reason"].(string); e.Type == event.TypeTwoStepMethodRemoved && r == "replaced" {
			key = "history.two_step.method_replaced"
		}
		m, _ := e.Data["method"].(string)
		if w := historyMethod(locale, m); w != "" {
			return i18n.Message(locale, key+"_method", map[string]any{"method": w})
		}
		return i18n.Message(locale, key, nil)
	case event.TypeTwoStepDisabled:
		if r, _ := e.Data["reason"].(string); r == "last_method_removed" {
			return i18n.Message(locale, "history.two_step.disabled_last_method", nil)
		}
	case event.TypeSigninSecondFactorFailed:
		// After a code (password assistant, unlock) rather than the password.
		if k, _ := e.Data["kind"].(string); k != "signin" && k != "reauth" {
			return i18n.Message(locale, "history.signin.second_factor_failed_after_code", nil)
		}
	case event.TypeTrustedDeviceCleared:
		r, _ := e.Data["reason"].(string)
		return message(locale, "history.trusted_device.cleared."+r, i18n.Message(locale, "history.trusted_device.cleared", nil))
	case event.TypeIdentifierRemoved:
		kind, _ := e.Data["kind"].(string)
		return message(locale, "history.account.identifier_removed."+kind, i18n.Message(locale, "history.account.identifier_removed", nil))
	case event.TypeSessionReauthenticated:
		methods := event.DataStrings(e.Data["methods"])
		if len(methods) > 1 {
			if m := historyMethod(locale, methods[len(methods)-1]); m != "" {
				return i18n.Message(locale, "history.session.reauthenticated_two_step", map[string]any{"method": m})
			}
		}
	}
	return message(locale, "history."+e.Type, e.Type)
}

// historyMethods maps a second-factor method, as two-step events name it
// (twostep.Method, "backup_code") or as a session's methods do (RFC 8176
// amr values, session.Method*), to the catalogue key that names it.
var historyMethods = map[string]string{
	"totp": "totp", "otp": "totp",
	"sms":   "sms",
	"voice": "voice", "tel": "voice",
	"passkey": "passkey", "hwk": "passkey", "swk": "passkey",
	"backup_code": "backup_code", "backup": "backup_code",
}

// historyMethod names a second-factor method in locale's words ("認証アプリ",
// "authenticator app"), or returns "" for anything else (a password or an
// e-mail code is not a second factor).
func historyMethod(locale, m string) string {
	k, ok := historyMethods[m]
	if !ok {
		return ""
	}
	return i18n.Message(locale, "history.method."+k, nil)
}

// historyTime writes a history entry's time.
func historyTime(locale string, t time.Time) string {
	if locale == "ja" {
		return t.Format("2006年1月2日 15:04")
	}
	return t.Format("Jan 2, 2006 15:04")
}

// message returns the text of key in locale, or fallback when the catalogue
// has no such key (a reason or event added later shows as its code).
func message(locale, key, fallback string) string {
	if m := i18n.Message(locale, key, nil); m != key {
		return m
	}
	return fallback
}

// describeUA names the browser and system of a user agent in locale's words,
// as sign-in alerts do (device.Describe: "Chrome on Windows", 「Windows の
// Chrome」); an agent whose browser it does not know (a native app, a tool)
// is "a browser" 「ブラウザー」. The raw user agent is never shown: it is
// English words on a Japanese page and means nothing to most customers.
// Without a recorded user agent it returns "" (the page says "Unknown").
func describeUA(locale, ua string) string {
	if ua == "" {
		return ""
	}
	d, _ := device.Describe(locale, ua)
	return d
}
