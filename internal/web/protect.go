package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ninsho/ninsho/internal/captcha"
	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/httperr"
	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/risk"
)

// What the sign-in pages show of sign-in protection: the CAPTCHA step, the
// lock and the unlock it offers, the wait after throttling, why a code is
// asked, and the form timing that the risk engine reads.

// captchaView is the CAPTCHA challenge a page shows (the "captcha"
// template of layout.html): sign-in's, and the start gate's on the pages
// that start flows (start.go).
type captchaView struct {
	ImageURL string
	// AudioURL speaks the digits in the page's language, which may differ
	// from the flow's after the language switch.
	AudioURL string
	// Action is the route the answer and "another image" are posted to.
	Action string
	// Hint is the catalogue key that says why the CAPTCHA is asked.
	Hint string
}

func newCaptchaView(c *flow.Captcha, locale, action string) *captchaView {
	hint := "hint.captcha"
	if action == "/signup" {
		hint = "hint.captcha_signup" // there is no account to protect yet
	}
	return &captchaView{ImageURL: c.ImageURL, AudioURL: captcha.AudioPath(c.ID, locale), Action: action, Hint: hint}
}

// lockView is what a sign-in page shows of a lock.
type lockView struct {
	Suspicious bool
	// Identifier is posted to /unlock by the unlock button; "" offers no
	// button (the server has no unlock service).
	Identifier string
}

func (h *Handler) lockView(c *call, e *ninsho.Error, identifier string) *lockView {
	lv := &lockView{Suspicious: e.Params["kind"] == "suspicious"}
	if h.d.Unlock != nil {
		lv.Identifier = identifier
	}
	return lv
}

// lockMessage explains an account_locked refusal: until when new devices are
// locked out (in the realm's time zone) and that the usual device still
// works, or that the account is locked to protect its owner. It returns ""
// when the error says too little; the catalogue's message is shown then.
func lockMessage(locale string, rl *realm.Realm, e *ninsho.Error, now time.Time) string {
	switch e.Params["kind"] {
	case "suspicious":
		return i18n.Message(locale, "signin.locked_suspicious", nil)
	case "unfamiliar":
		until, ok := e.Params["until"].(time.Time)
		if !ok {
			return ""
		}
		loc, _ := realmZone(rl)
		return i18n.Message(locale, "signin.locked_unfamiliar", map[string]any{"until": clockText(locale, until.In(loc), now.In(loc))})
	}
	return ""
}

// waitMessage tells how many minutes to wait after a rate_limited refusal.
func waitMessage(locale string, e *ninsho.Error) string {
	secs, ok := httperr.RetryAfter(e)
	if !ok || secs <= 0 {
		secs = 60
	}
	// "about a minute" for one: the catalogue's plural form.
	return i18n.Message(locale, "signin.rate_limited_minutes", map[string]any{"minutes": (secs + 59) / 60})
}

// jst is Japan Standard Time, the same *time.Location as realm.Realm.Location
// gives (pages compare locations; Japan keeps no daylight saving time).
var jst = (&realm.Realm{DefaultLocale: "ja"}).Location()

// realmZone returns the time zone in which pages show times to the realm's
// people, and the catalogue key that names it: Japan time for realms whose
// default language is Japanese, UTC for the others. It follows the realm,
// not the page's language, so that switching the language does not move the
// clock.
func realmZone(rl *realm.Realm) (*time.Location, string) {
	if loc := rl.Location(); loc != time.UTC {
		return loc, "zone.jst" // the one other zone (realm.Realm.Location)
	}
	return time.UTC, "zone.utc"
}

// clockText writes t as a time of day with its zone, with the date when t is
// not on now's day.
func clockText(locale string, t, now time.Time) string {
	// A lock that ends at 10:15:44 is over at the minute shown only if the
	// minute is rounded up: "until 10:16".
	if r := t.Truncate(time.Minute); r.Before(t) {
		t = r.Add(time.Minute)
	}
	ty, tm, td := t.Date()
	ny, nm, nd := now.Date()
	switch {
	case ty == ny && tm == nm && td == nd:
		return t.Format("15:04 MST")
	case locale == "ja":
		return t.Format("1月2日 15:04 MST")
	}
	return t.Format("Jan 2, 15:04 MST")
}

// maxFormAge bounds the form time that is believed: older forms are simply
// slow.
const maxFormAge = 24 * time.Hour

// formElapsed returns how long the posted form was shown, from its
// rendered_at field (the server's time in Unix milliseconds when the form was
// rendered). Every page form carries the field, so a post whose field is
// missing, malformed or ahead of the server's clock did not come from a form
// as we rendered it — a script posting straight away, or one that set the
// field to escape the signal: it counts as sent at once
// (risk.FormNotRendered, 1 ms), the fastest
// form there is. A value ahead by less than a clock skew between instances
// means the same: the form was shown for less than that skew. A value in
// the past is believed (capped at a day): a forged old time buys a script
// only what the API, which sends no form time, already has. It is only a
// risk signal, and on its own asks nothing of anyone (risk.Policy).
func formElapsed(r *http.Request, now time.Time) time.Duration {
	v := r.PostForm.Get("rendered_at")
	if v == "" || len(v) > 20 {
		return risk.FormNotRendered
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms <= 0 {
		return risk.FormNotRendered
	}
	d := now.Sub(time.UnixMilli(ms))
	switch {
	case d < time.Millisecond:
		return risk.FormNotRendered // sent in the instant it was shown, or from the future
	case d > maxFormAge:
		return maxFormAge
	}
	return d
}

// signinCodeWhy returns the catalogue key that tells why a sign-in flow asks
// for a code: a device or network the account has not used, heightened
// protection, or a sign-up never confirmed. It reads the state that the
// sign-in service keeps in the flow (the code's purpose and the reasons of
// the risk decision).
func signinCodeWhy(f *flow.Flow) string {
	if f.Get("purpose") != string(code.PurposeSignin) {
		return "verify.why.signup_unfinished"
	}
	reasons := strings.Split(f.Get("reasons"), ",")
	switch {
	case slices.Contains(reasons, string(risk.ReasonDeviceUnfamiliar)):
		return "verify.why.device"
	case slices.Contains(reasons, string(risk.ReasonNetworkUnfamiliar)):
		return "verify.why.network"
	}
	return "verify.why.signin"
}
