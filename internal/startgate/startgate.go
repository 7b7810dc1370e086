// Package startgate holds back the starts of flows that anyone may begin
// without signing in (sign-up, unlock, password assistant, identifier-first
// sign-in): it caps them per client address, per network prefix and per
// device, and puts a CAPTCHA before any code is sent when starts repeat or
// the client looks automated. It runs before the flow writes anything, so a
// flood of starts costs counters, not rows (issue 8, points 2 and 7).
package startgate

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/ninsho/ninsho/internal/captcha"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/risk"
	"github.com/ninsho/ninsho/internal/throttle"
)

// Window is the period the caps count starts over.
const Window = time.Hour

// Limits are one flow kind's caps, per Window. A zero cap is no cap; a zero
// CAPTCHA threshold never asks one.
type Limits struct {
	PerAddress int // starts from one client address
	PerPrefix  int // starts from one /24 (IPv4) or /48 (IPv6)
	PerDevice  int // starts from one device token
	// CaptchaAfterDevice and CaptchaAfterAddress: from this start of a
	// device (or of an address) on, a CAPTCHA comes before any code.
	CaptchaAfterDevice  int
	CaptchaAfterAddress int
	// CaptchaForAutomation asks a CAPTCHA first of clients without a
	// User-Agent or with a headless browser's or an HTTP library's.
	CaptchaForAutomation bool
}

// DefaultLimits are the caps of each kind (docs/api.md lists them).
func DefaultLimits() map[flow.Kind]Limits {
	assist := Limits{PerAddress: 20, PerPrefix: 100, PerDevice: 10, CaptchaAfterDevice: 3, CaptchaAfterAddress: 6, CaptchaForAutomation: true}
	return map[flow.Kind]Limits{
		flow.KindReset:  assist,
		flow.KindUnlock: assist,
		// Sign-ups come from shared addresses (offices, mobile carriers)
		// more than recoveries do; each one still spends a code only of
		// the strangers' lane of its destination.
		flow.KindSignup: {PerAddress: 30, PerPrefix: 300, PerDevice: 10, CaptchaAfterDevice: 3, CaptchaAfterAddress: 10},
		// Identifier-first sign-in sends no code; its password step has the
		// risk engine's own CAPTCHA and rate limits.
		flow.KindSignin: {PerAddress: 60, PerPrefix: 600, PerDevice: 30},
		// Document recovery proves a password: like sign-in's, its
		// attempts also count in sign-in protection (signin.Service.
		// CountWrongPassword); a person opens one case at a time.
		flow.KindRecovery: {PerAddress: 20, PerPrefix: 100, PerDevice: 10},
	}
}

// Gate counts and holds back starts. It is safe for concurrent use.
type Gate struct {
	Counter *throttle.Counter
	// Captcha holds starts back; nil asks none (the caps still apply).
	Captcha *captcha.Service
	// Limits per kind; a kind without an entry is not capped.
	Limits map[flow.Kind]Limits
}

// Admit counts a start of kind in realm from req on device deviceID. It
// refuses with ninsho.CodeRateLimited (retry_after_s) when a cap is reached —
// before anything else is written — and reports hold when a CAPTCHA must be
// solved before any code is sent. A nil Gate admits everything.
func (g *Gate) Admit(ctx context.Context, kind flow.Kind, realm string, req ninsho.Request, deviceID string) (hold bool, err error) {
	if g == nil {
		return false, nil
	}
	l, ok := g.Limits[kind]
	if !ok {
		return false, nil
	}
	family := "start." + string(kind)
	checks := []struct {
		key   string
		limit int
	}{
		{throttle.Key(family+".addr", realm, req.IP), l.PerAddress},
		{throttle.Key(family+".device", realm, deviceID), l.PerDevice},
	}
	if p := risk.Prefix(req.IP); p != "" {
		checks = append(checks, struct {
			key   string
			limit int
		}{throttle.Key(family+".prefix", realm, p), l.PerPrefix})
	}
	keys := make([]string, len(checks))
	for i, c := range checks {
		keys[i] = c.key
	}
	counts, err := g.Counter.Counts(ctx, keys, Window)
	if err != nil {
		return false, err
	}
	for _, c := range checks {
		if c.limit > 0 && counts[c.key] >= c.limit {
			return false, ninsho.E(ninsho.CodeRateLimited).WithParam("retry_after_s", int(Window/time.Second))
		}
	}
	for _, c := range checks {
		if err := g.Counter.Hit(ctx, c.key, 1, Window); err != nil {
			return false, err
		}
	}
	if g.Captcha == nil {
		return false, nil
	}
	addr, dev := counts[checks[0].key]+1, counts[checks[1].key]+1
	automated := strings.TrimSpace(req.UserAgent) == "" || risk.IsAutomationUserAgent(req.UserAgent)
	return l.CaptchaAfterDevice > 0 && dev >= l.CaptchaAfterDevice ||
		l.CaptchaAfterAddress > 0 && addr >= l.CaptchaAfterAddress ||
		l.CaptchaForAutomation && automated, nil
}

// stateCaptcha is the flow-state key of the challenge that holds f back.
const stateCaptcha = "start_captcha"

// MaxChallenges is how many CAPTCHA challenges one flow may be given (each
// wrong answer and each "another image" makes one): a flow cannot be used
// to guess a CAPTCHA blind or to write challenges without end.
const MaxChallenges = 10

// stateChallenges is the flow-state key of the number of challenges given.
const stateChallenges = "captcha_challenges"

// SpendChallenge counts one more challenge for f. Past MaxChallenges it
// marks f failed and returns ninsho.CodeRateLimited: the person starts again
// (and meets the start caps). Any kind of flow with a CAPTCHA uses it.
func SpendChallenge(f *flow.Flow) error {
	n, _ := strconv.Atoi(f.Get(stateChallenges))
	if n >= MaxChallenges {
		f.Status = flow.StatusFailed
		return ninsho.E(ninsho.CodeRateLimited).WithParam("retry_after_s", 60)
	}
	f.Set(stateChallenges, strconv.Itoa(n+1))
	return nil
}

// Hold puts f at the CAPTCHA step with a new challenge (the caller saves f).
// Nothing is sent until Solve passes.
func (g *Gate) Hold(ctx context.Context, f *flow.Flow) error {
	if err := SpendChallenge(f); err != nil {
		return err
	}
	c, err := g.Captcha.New(ctx, f.Realm, f.ID)
	if err != nil {
		return err
	}
	f.Set(stateCaptcha, c.ID)
	f.Status, f.Step = flow.StatusChallenge, flow.StepCaptcha
	return nil
}

// Held reports whether f waits at the gate's CAPTCHA.
func Held(f *flow.Flow) bool { return f.Step == flow.StepCaptcha && f.Get(stateCaptcha) != "" }

// Next describes the CAPTCHA step of a held flow.
func Next(f *flow.Flow) *flow.Next {
	id := f.Get(stateCaptcha)
	return &flow.Next{Step: flow.StepCaptcha, Captcha: &flow.Captcha{
		ID: id, ImageURL: captcha.ImagePath(id), AudioURL: captcha.AudioPath(id, f.Locale),
	}}
}

// Solve applies submit_captcha or new_captcha to a held flow (the caller
// saves f). A right answer releases f (passed: the caller sends the code
// now); a wrong one is stepErr ninsho.CodeCaptchaIncorrect with a new
// challenge; new_captcha only renews it. Past MaxChallenges the flow fails
// with stepErr ninsho.CodeRateLimited.
func (g *Gate) Solve(ctx context.Context, f *flow.Flow, act flow.Action) (passed bool, stepErr, err error) {
	if act.Name != flow.ActionNewCaptcha {
		cerr := g.Captcha.Check(ctx, f.Get(stateCaptcha), f.ID, act.Answer)
		if cerr == nil {
			f.Set(stateCaptcha, "")
			return true, nil, nil
		}
		if !ninsho.IsCode(cerr, ninsho.CodeCaptchaIncorrect) {
			return false, nil, cerr
		}
		stepErr = cerr
	}
	if err := g.Hold(ctx, f); err != nil {
		if ninsho.IsCode(err, ninsho.CodeRateLimited) {
			return false, err, nil // out of challenges: the flow has ended
		}
		return false, nil, err
	}
	return false, stepErr, nil
}

// IsCaptchaAction reports whether a is one that Solve takes.
func IsCaptchaAction(a flow.Action) bool {
	return a.Name == flow.ActionSubmitCaptcha || a.Name == flow.ActionNewCaptcha
}
