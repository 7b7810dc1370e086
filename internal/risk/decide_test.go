package risk_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/risk"
)

const (
	browser  = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
	headless = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36"
)

type decisionCase struct {
	name string
	in   risk.Signals
	want risk.Decision
}

// Shorthands for the wanted decisions.
func allow() risk.Decision { return risk.Decision{Action: risk.Allow} }
func captcha(rs ...risk.Reason) risk.Decision {
	return risk.Decision{Action: risk.Captcha, Reasons: rs}
}
func code(rs ...risk.Reason) risk.Decision { return risk.Decision{Action: risk.Code, Reasons: rs} }
func deny(rs ...risk.Reason) risk.Decision {
	return risk.Decision{Action: risk.Deny, Reasons: rs, RetryAfter: time.Minute}
}

var beforeCases = []decisionCase{
	{"unfamiliar device, nothing else", risk.Signals{UserAgent: browser}, allow()},
	{"familiar device, nothing else", risk.Signals{DeviceFamiliar: true, UserAgent: browser}, allow()},

	// Failed passwords for the identifier.
	{"unfamiliar device, 2 unfamiliar failures", risk.Signals{IdentifierFailures: 2, UserAgent: browser}, allow()},
	{"unfamiliar device, 3 unfamiliar failures", risk.Signals{IdentifierFailures: 3, UserAgent: browser}, captcha(risk.ReasonIdentifierFailures)},
	{"unfamiliar device, 3 unfamiliar failures, CAPTCHA solved", risk.Signals{IdentifierFailures: 3, UserAgent: browser, CaptchaSolved: true}, allow()},
	{"unfamiliar device, 9 familiar failures", risk.Signals{IdentifierFailuresFamiliar: 9, UserAgent: browser}, allow()},
	{"familiar device, 50 unfamiliar failures", risk.Signals{DeviceFamiliar: true, IdentifierFailures: 50, UserAgent: browser}, allow()},
	{"familiar device, 4 familiar failures", risk.Signals{DeviceFamiliar: true, IdentifierFailuresFamiliar: 4, UserAgent: browser}, allow()},
	{"familiar device, 5 familiar failures", risk.Signals{DeviceFamiliar: true, IdentifierFailuresFamiliar: 5, UserAgent: browser}, captcha(risk.ReasonIdentifierFailures)},
	{"familiar device, 5 familiar failures, CAPTCHA solved", risk.Signals{DeviceFamiliar: true, IdentifierFailuresFamiliar: 5, UserAgent: browser, CaptchaSolved: true}, allow()},

	// Velocity per address and prefix.
	{"address at 99 a minute", risk.Signals{AddressAttempts: 99, UserAgent: browser}, allow()},
	{"address at 100 a minute", risk.Signals{AddressAttempts: 100, UserAgent: browser}, deny(risk.ReasonAddressVelocity)},
	// The owner's device shares the address (an office, a carrier's NAT)
	// but not the flood: strangers' attempts do not refuse it (issue 8).
	{"address over 100 a minute, familiar device", risk.Signals{DeviceFamiliar: true, AddressAttempts: 150, UserAgent: browser}, allow()},
	{"prefix over 1,000 a minute, familiar device", risk.Signals{DeviceFamiliar: true, PrefixAttempts: 1500, UserAgent: browser}, allow()},
	{"address over 100 a minute, CAPTCHA solved", risk.Signals{AddressAttempts: 150, UserAgent: browser, CaptchaSolved: true}, deny(risk.ReasonAddressVelocity)},
	{"prefix at 999 a minute", risk.Signals{PrefixAttempts: 999, UserAgent: browser}, allow()},
	{"prefix at 1,000 a minute", risk.Signals{PrefixAttempts: 1000, UserAgent: browser}, deny(risk.ReasonPrefixVelocity)},
	{"one device token at 30 a minute", risk.Signals{DeviceAttempts: 30, UserAgent: browser}, deny(risk.ReasonDeviceVelocity)},
	{"one device token at 29 a minute", risk.Signals{DeviceAttempts: 29, UserAgent: browser}, risk.Decision{Action: risk.Allow}},
	{"the owner's device at 30 a minute", risk.Signals{DeviceFamiliar: true, DeviceAttempts: 30, UserAgent: browser}, risk.Decision{Action: risk.Allow}},

	// Spraying.
	{"address tried 9 identifiers", risk.Signals{AddressAccounts: 9, UserAgent: browser}, allow()},
	{"address tried 10 identifiers", risk.Signals{AddressAccounts: 10, UserAgent: browser}, captcha(risk.ReasonAddressManyAccounts)},
	{"address tried 10 identifiers, familiar device", risk.Signals{DeviceFamiliar: true, AddressAccounts: 10, UserAgent: browser}, allow()},
	{"identifier tried from 9 addresses", risk.Signals{AccountAddresses: 9, UserAgent: browser}, allow()},
	{"identifier tried from 10 addresses", risk.Signals{AccountAddresses: 10, UserAgent: browser}, captcha(risk.ReasonAccountManyAddresses)},
	{"identifier tried from 10 addresses, familiar device", risk.Signals{DeviceFamiliar: true, AccountAddresses: 10, UserAgent: browser}, allow()},
	{"attacker signals all high, familiar device", risk.Signals{DeviceFamiliar: true, IdentifierFailures: 50, AddressAccounts: 50, AccountAddresses: 50, UserAgent: browser}, allow()},

	// Automation signs.
	{"no user agent", risk.Signals{}, captcha(risk.ReasonNoUserAgent)},
	{"blank user agent", risk.Signals{UserAgent: " \t"}, captcha(risk.ReasonNoUserAgent)},
	{"no user agent, familiar device", risk.Signals{DeviceFamiliar: true}, allow()},
	{"headless user agent", risk.Signals{UserAgent: headless}, captcha(risk.ReasonHeadlessUserAgent)},
	{"headless user agent, familiar device", risk.Signals{DeviceFamiliar: true, UserAgent: headless}, captcha(risk.ReasonHeadlessUserAgent)},
	{"python-requests, familiar device", risk.Signals{DeviceFamiliar: true, UserAgent: "python-requests/2.31.0"}, captcha(risk.ReasonHeadlessUserAgent)},
	// A password manager fills and sends the form at once, on a new device
	// too: speed alone asks nothing; with another signal it asks a CAPTCHA.
	{"form sent in 300 ms alone, unfamiliar device (a password manager)", risk.Signals{UserAgent: browser, FormElapsed: 300 * time.Millisecond}, allow()},
	{"form sent in 1 ms alone, unfamiliar device", risk.Signals{UserAgent: browser, FormElapsed: time.Millisecond}, allow()},
	{"form sent in 300 ms, familiar device (a password manager)", risk.Signals{DeviceFamiliar: true, UserAgent: browser, FormElapsed: 300 * time.Millisecond}, allow()},
	{"form sent in 400 ms, 1 unfamiliar failure", risk.Signals{IdentifierFailures: 1, UserAgent: browser, FormElapsed: 400 * time.Millisecond}, captcha(risk.ReasonTooFast)},
	{"form sent in 400 ms, address tried another identifier", risk.Signals{AddressAccounts: 2, UserAgent: browser, FormElapsed: 400 * time.Millisecond}, captcha(risk.ReasonTooFast)},
	{"form sent in 400 ms, address tried this identifier only", risk.Signals{AddressAccounts: 1, UserAgent: browser, FormElapsed: 400 * time.Millisecond}, allow()},
	{"form sent in 400 ms, no user agent", risk.Signals{FormElapsed: 400 * time.Millisecond}, captcha(risk.ReasonNoUserAgent, risk.ReasonTooFast)},
	{"form sent in 400 ms, 1 unfamiliar failure, CAPTCHA solved", risk.Signals{IdentifierFailures: 1, UserAgent: browser, FormElapsed: 400 * time.Millisecond, CaptchaSolved: true}, allow()},
	{"form sent in 400 ms, familiar device, 4 familiar failures", risk.Signals{DeviceFamiliar: true, IdentifierFailuresFamiliar: 4, AddressAccounts: 5, UserAgent: browser, FormElapsed: 400 * time.Millisecond}, allow()},
	{"form sent in 800 ms, 1 unfamiliar failure", risk.Signals{IdentifierFailures: 1, UserAgent: browser, FormElapsed: 800 * time.Millisecond}, allow()},
	{"form sent in 800 ms", risk.Signals{UserAgent: browser, FormElapsed: 800 * time.Millisecond}, allow()},
	{"form time unknown (API)", risk.Signals{UserAgent: browser, FormElapsed: 0}, allow()},
	// A page post without a believable form time counts as sent at once,
	// under the same rule: only with another signal, only on unfamiliar devices.
	{"form not rendered alone, unfamiliar device", risk.Signals{UserAgent: browser, FormElapsed: risk.FormNotRendered}, allow()},
	{"form not rendered, address tried another identifier", risk.Signals{AddressAccounts: 2, UserAgent: browser, FormElapsed: risk.FormNotRendered}, captcha(risk.ReasonTooFast)},
	{"form not rendered, 1 unfamiliar failure", risk.Signals{IdentifierFailures: 1, UserAgent: browser, FormElapsed: risk.FormNotRendered}, captcha(risk.ReasonTooFast)},
	{"form not rendered, familiar device, address tried others", risk.Signals{DeviceFamiliar: true, AddressAccounts: 5, UserAgent: browser, FormElapsed: risk.FormNotRendered}, allow()},
	{"headless and too fast, CAPTCHA solved", risk.Signals{UserAgent: headless, FormElapsed: time.Millisecond, CaptchaSolved: true}, allow()},

	// Signals of AfterPassword are not read before the password.
	{"heightened, churn, unfamiliar network", risk.Signals{Heightened: true, RecentSignouts: 50, UserAgent: browser}, allow()},

	// Several at once: every reason, in the order of the constants.
	{"everything, unfamiliar device", risk.Signals{
		IdentifierFailures: 3, AddressAttempts: 100, PrefixAttempts: 1000, AddressAccounts: 10,
		AccountAddresses: 10, UserAgent: headless, FormElapsed: time.Millisecond, CaptchaSolved: true,
	}, deny(risk.ReasonIdentifierFailures, risk.ReasonAddressVelocity, risk.ReasonPrefixVelocity,
		risk.ReasonAddressManyAccounts, risk.ReasonAccountManyAddresses, risk.ReasonHeadlessUserAgent, risk.ReasonTooFast)},
	{"spraying without user agent", risk.Signals{IdentifierFailures: 3, AddressAccounts: 10, AccountAddresses: 10},
		captcha(risk.ReasonIdentifierFailures, risk.ReasonAddressManyAccounts, risk.ReasonAccountManyAddresses, risk.ReasonNoUserAgent)},
}

var afterCases = []decisionCase{
	{"familiar device and network", risk.Signals{DeviceFamiliar: true, NetworkFamiliar: true}, allow()},
	{"familiar device and network, every joining signal", risk.Signals{
		DeviceFamiliar: true, NetworkFamiliar: true, IdentifierFailures: 50, AccountAddresses: 50, RecentSignouts: 50, Heightened: true,
	}, allow()},
	{"familiar device and network, automation signs", risk.Signals{DeviceFamiliar: true, NetworkFamiliar: true, UserAgent: headless, FormElapsed: time.Millisecond}, allow()},

	{"unfamiliar device, familiar network", risk.Signals{NetworkFamiliar: true}, code(risk.ReasonDeviceUnfamiliar)},
	{"unfamiliar device and network", risk.Signals{}, code(risk.ReasonDeviceUnfamiliar, risk.ReasonNetworkUnfamiliar)},
	{"unfamiliar device, heightened", risk.Signals{NetworkFamiliar: true, Heightened: true}, code(risk.ReasonDeviceUnfamiliar, risk.ReasonHeightened)},

	{"familiar device, unfamiliar network alone", risk.Signals{DeviceFamiliar: true}, allow()},
	{"familiar device, unfamiliar network, heightened", risk.Signals{DeviceFamiliar: true, Heightened: true}, code(risk.ReasonNetworkUnfamiliar, risk.ReasonHeightened)},
	{"familiar device, unfamiliar network, 1 unfamiliar failure", risk.Signals{DeviceFamiliar: true, IdentifierFailures: 1}, code(risk.ReasonNetworkUnfamiliar, risk.ReasonIdentifierFailures)},
	{"familiar device, unfamiliar network, 4 familiar failures", risk.Signals{DeviceFamiliar: true, IdentifierFailuresFamiliar: 4}, allow()},
	{"familiar device, unfamiliar network, 9 addresses", risk.Signals{DeviceFamiliar: true, AccountAddresses: 9}, allow()},
	{"familiar device, unfamiliar network, 10 addresses", risk.Signals{DeviceFamiliar: true, AccountAddresses: 10}, code(risk.ReasonNetworkUnfamiliar, risk.ReasonAccountManyAddresses)},
	{"familiar device, unfamiliar network, 4 sign-outs", risk.Signals{DeviceFamiliar: true, RecentSignouts: 4}, allow()},
	{"familiar device, unfamiliar network, 5 sign-outs", risk.Signals{DeviceFamiliar: true, RecentSignouts: 5}, code(risk.ReasonNetworkUnfamiliar, risk.ReasonSignoutChurn)},
	{"familiar device and network, churn alone", risk.Signals{DeviceFamiliar: true, NetworkFamiliar: true, RecentSignouts: 50}, allow()},

	{"everything, unfamiliar device", risk.Signals{IdentifierFailures: 1, AccountAddresses: 10, RecentSignouts: 5, Heightened: true},
		code(risk.ReasonDeviceUnfamiliar, risk.ReasonNetworkUnfamiliar, risk.ReasonIdentifierFailures,
			risk.ReasonAccountManyAddresses, risk.ReasonSignoutChurn, risk.ReasonHeightened)},
}

func TestBeforePassword(t *testing.T) {
	testDecisions(t, risk.DefaultPolicy().BeforePassword, beforeCases)
}

func TestAfterPassword(t *testing.T) {
	testDecisions(t, risk.DefaultPolicy().AfterPassword, afterCases)
}

func testDecisions(t *testing.T, decide func(risk.Signals) risk.Decision, cases []decisionCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := decide(c.in)
			if got.Action != c.want.Action || !slices.Equal(got.Reasons, c.want.Reasons) || got.RetryAfter != c.want.RetryAfter {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

// TestFamiliarDevicesIgnoreUnreadCounts holds what sign-in relies on to
// skip reads (internal/signin, gauge): for a device familiar to the
// account, neither decision reads the address, network or device rates;
// for a familiar device on a familiar network, neither reads the
// sign-outs. Each is checked against every other signal set from the
// tables above, with the counts far past any threshold.
func TestFamiliarDevicesIgnoreUnreadCounts(t *testing.T) {
	p := risk.DefaultPolicy()
	for _, c := range append(slices.Clone(beforeCases), afterCases...) {
		base := c.in
		base.DeviceFamiliar = true
		for _, network := range []bool{false, true} {
			base.NetworkFamiliar = network
			busy := base
			busy.AddressAttempts, busy.PrefixAttempts, busy.DeviceAttempts = 1_000_000, 1_000_000, 1_000_000
			if network {
				busy.RecentSignouts = 1_000_000
			}
			for name, decide := range map[string]func(risk.Signals) risk.Decision{"BeforePassword": p.BeforePassword, "AfterPassword": p.AfterPassword} {
				if got, want := decide(busy), decide(base); got.Action != want.Action || !slices.Equal(got.Reasons, want.Reasons) {
					t.Errorf("%s, %s, familiar network %v: %+v with the unread counts, %+v without", c.name, name, network, got, want)
				}
			}
		}
	}
}

// TestZeroThresholdsAreOff checks that a policy without thresholds turns the
// counting checks off rather than firing on every attempt.
func TestZeroThresholdsAreOff(t *testing.T) {
	var p risk.Policy
	s := risk.Signals{
		IdentifierFailures: 50, IdentifierFailuresFamiliar: 50, AddressAttempts: 5000, PrefixAttempts: 5000,
		AddressAccounts: 50, AccountAddresses: 50, RecentSignouts: 50, UserAgent: browser, FormElapsed: time.Millisecond,
	}
	if got := p.BeforePassword(s); got.Action != risk.Allow {
		t.Errorf("BeforePassword: got %+v, want allow", got)
	}
	s.DeviceFamiliar = true
	if got := p.AfterPassword(s); got.Action != risk.Code || !slices.Equal(got.Reasons, []risk.Reason{risk.ReasonNetworkUnfamiliar, risk.ReasonIdentifierFailures}) {
		t.Errorf("AfterPassword: got %+v, want code for network_unfamiliar, identifier_failures", got)
	}
}

// TestTablesCoverEverything fails when an Action or Reason declared in
// risk.go is never the outcome of a case above, so a new constant comes with
// its tests.
func TestTablesCoverEverything(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range slices.Concat(beforeCases, afterCases) {
		seen[string(c.want.Action)] = true
		for _, r := range c.want.Reasons {
			seen[string(r)] = true
		}
	}
	declared := declaredConstants(t, "risk.go", "Action", "Reason")
	if len(declared) < 16 {
		t.Fatalf("got %d constants in risk.go, want at least 16 (4 actions, 12 reasons)", len(declared))
	}
	for _, v := range declared {
		if !seen[v] {
			t.Errorf("no case decides %q", v)
		}
	}
}

// declaredConstants returns the values of the string constants in file whose
// declared type is one of types.
func declaredConstants(tb testing.TB, file string, types ...string) []string {
	tb.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, decl := range f.Decls {
		g, ok := decl.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			v := spec.(*ast.ValueSpec)
			typ, ok := v.Type.(*ast.Ident)
			if !ok || !slices.Contains(types, typ.Name) {
				continue
			}
			for _, e := range v.Values {
				if lit, ok := e.(*ast.BasicLit); ok {
					s, err := strconv.Unquote(lit.Value)
					if err != nil {
						tb.Fatal(err)
					}
					out = append(out, s)
				}
			}
		}
	}
	return out
}

func TestLockFor(t *testing.T) {
	p := risk.DefaultPolicy()
	cases := []struct {
		level int
		want  time.Duration
	}{
		{-1, 0},
		{0, 0},
		{1, time.Minute},
		{2, 5 * time.Minute},
		{3, 30 * time.Minute},
		{4, 2 * time.Hour},
		{5, 24 * time.Hour},
		{6, 24 * time.Hour},
		{1000, 24 * time.Hour},
	}
	for _, c := range cases {
		if got := p.LockFor(c.level); got != c.want {
			t.Errorf("LockFor(%d): got %v, want %v", c.level, got, c.want)
		}
	}
	if got := (risk.Policy{}).LockFor(1); got != 0 {
		t.Errorf("LockFor(1) with an empty ladder: got %v, want 0", got)
	}
}

func TestDecisionStrings(t *testing.T) {
	cases := []struct {
		in   risk.Decision
		want []string
	}{
		{allow(), []string{}},
		{code(risk.ReasonDeviceUnfamiliar, risk.ReasonHeightened), []string{"device_unfamiliar", "heightened_protection"}},
	}
	for _, c := range cases {
		got := c.in.Strings()
		if got == nil || !slices.Equal(got, c.want) {
			t.Errorf("%+v.Strings(): got %#v, want %#v", c.in, got, c.want)
		}
	}
}

// TestOverRateIsBeforePasswordsDenial: OverRate, from the three per-minute
// counts alone, denies exactly when BeforePassword would deny on them.
func TestOverRateIsBeforePasswordsDenial(t *testing.T) {
	p := risk.DefaultPolicy()
	for _, c := range []struct {
		name string
		s    risk.Signals
		want []risk.Reason
	}{
		{"under every rate", risk.Signals{AddressAttempts: p.AddressPerMinute - 1, PrefixAttempts: p.PrefixPerMinute - 1, DeviceAttempts: p.DevicePerMinute - 1}, nil},
		{"address", risk.Signals{AddressAttempts: p.AddressPerMinute}, []risk.Reason{risk.ReasonAddressVelocity}},
		{"prefix and device", risk.Signals{PrefixAttempts: p.PrefixPerMinute, DeviceAttempts: p.DevicePerMinute}, []risk.Reason{risk.ReasonPrefixVelocity, risk.ReasonDeviceVelocity}},
		{"familiar device", risk.Signals{DeviceFamiliar: true, AddressAttempts: p.AddressPerMinute * 2}, nil},
	} {
		d := p.OverRate(c.s)
		if c.want == nil {
			if d.Action != risk.Allow || len(d.Reasons) != 0 {
				t.Errorf("%s: OverRate = %+v, want risk.Allow", c.name, d)
			}
		} else if d.Action != risk.Deny || d.RetryAfter != risk.RateWindow || !slices.Equal(d.Reasons, c.want) {
			t.Errorf("%s: OverRate = %+v, want risk.Deny for %v after %v", c.name, d, c.want, risk.RateWindow)
		}
		s := c.s
		s.UserAgent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"
		if full := p.BeforePassword(s); (full.Action == risk.Deny) != (d.Action == risk.Deny) {
			t.Errorf("%s: BeforePassword = %v, OverRate = %v: they must deny alike", c.name, full.Action, d.Action)
		}
	}
}
