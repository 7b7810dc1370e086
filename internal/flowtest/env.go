// Package flowtest builds the authentication services on a real database for
// tests: a manual clock, a seeded random source, fast password hashing, the
// outbox delivering to the development inbox, and two realms — "jp"
// (explicit) and "safe".
package flowtest

import (
	"context"
	"github.com/ninsho/ninsho/internal/changebudget"
	"github.com/ninsho/ninsho/internal/message/providers/webhook"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/authflow"
	"github.com/ninsho/ninsho/internal/captcha"
	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/device"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/message/providers/devinbox"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/passkey"
	"github.com/ninsho/ninsho/internal/password"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/reauth"
	"github.com/ninsho/ninsho/internal/reset"
	"github.com/ninsho/ninsho/internal/risk"
	"github.com/ninsho/ninsho/internal/secret"
	"github.com/ninsho/ninsho/internal/session"
	"github.com/ninsho/ninsho/internal/sessions"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/signup"
	"github.com/ninsho/ninsho/internal/smsguard"
	"github.com/ninsho/ninsho/internal/startgate"
	"github.com/ninsho/ninsho/internal/store"
	"github.com/ninsho/ninsho/internal/store/storetest"
	"github.com/ninsho/ninsho/internal/throttle"
	"github.com/ninsho/ninsho/internal/trust"
	"github.com/ninsho/ninsho/internal/twostep"
	"github.com/ninsho/ninsho/internal/unlock"
)

// Epoch is where the clock of every Env starts.
var Epoch = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// Seed seeds the random source of every Env (ninsho.NewSeededRandom): codes,
// tokens and ids come out the same on every run, so no test depends on luck.
const Seed = 20261125

// FastParams are argon2id parameters small enough for tests.
var FastParams = password.Params{Memory: 8, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// Env is a complete set of flow services on one database.
type Env struct {
	DB         *store.DB
	Clock      *ninsho.ManualClock
	Kit        *authflow.Kit
	Realms     *realm.Registry
	JP, Safe   *realm.Realm
	Signup     *signup.Service
	Signin     *signin.Service
	Engine     *flow.Engine
	Dispatcher *message.Dispatcher
	Captcha    *captcha.Service
	Unlock     *unlock.Service
	Reset      *reset.Service
	Gate       *startgate.Gate
	TwoStep    *twostep.Service
	Trust      *trust.Service
	Reauth     *reauth.Service
	// Sessions is the owner's sessions, devices and history "this wasn't
	// me".
	Sessions *sessions.Service
	// Budget is the settings changes budget (changebudget) of the profile
	// service.
	Budget *changebudget.Budget
	// SMSGuard caps SMS and voice messages (the default limits).
	SMSGuard *smsguard.Guard
	// Box seals outbox variables and TOTP secrets.
	Box *secret.Box
}

// New builds an Env on db.
func New(tb testing.TB, db *store.DB) *Env {
	tb.Helper()
	clock := ninsho.NewManualClock(Epoch)
	random := ninsho.NewSeededRandom(Seed)
	hasher, err := secret.NewHasher([]byte("0123456789abcdef0123456789abcdef-test"))
	if err != nil {
		tb.Fatal(err)
	}
	box, err := secret.NewBox(random, []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		tb.Fatal(err)
	}
	templates, err := message.DefaultTemplates()
	if err != nil {
		tb.Fatal(err)
	}
	outbox := message.NewOutbox(db, box, templates, clock, random)
	inbox := devinbox.NewSender(db, clock)
	senders := map[message.Channel][]message.Sender{}
	for _, ch := range []message.Channel{message.ChannelEmail, message.ChannelSMS, message.ChannelVoice} {
		senders[ch] = []message.Sender{inbox}
	}
	disp, err := message.NewDispatcher(message.DispatcherConfig{
		Store: db, Box: box, Templates: templates, Senders: senders, Clock: clock, Random: random,
	})
	if err != nil {
		tb.Fatal(err)
	}
	jp := &realm.Realm{ID: "jp", Name: "Ninsho", DefaultLocale: "ja", PhoneRegion: "JP", Disclosure: realm.DisclosureExplicit, PublicHost: "id.example.jp", BaseURL: "https://id.example.jp", TypoTolerance: true, SignInWithCode: true}
	safe := &realm.Realm{ID: "safe", Name: "Safe", DefaultLocale: "en", PhoneRegion: "US", Disclosure: realm.DisclosureSafe, PublicHost: "id.example.com", BaseURL: "https://id.example.com", TypoTolerance: true}
	realms := realm.NewRegistry([]*realm.Realm{jp, safe})
	kit := &authflow.Kit{
		Tx: db, Clock: clock, Random: random,
		Accounts: db, Flows: db, Events: db,
		Codes: &code.Service{Store: db, Clock: clock, Random: random, Hasher: hasher, Policy: code.DefaultPolicy(),
			Guard: &code.Guard{Store: db, Clock: clock, Policy: code.DefaultGuardPolicy()}},
		Sessions:  &session.Service{Store: db, Clock: clock, Random: random, Hasher: hasher, Policy: session.DefaultPolicy()},
		Devices:   &device.Service{Store: db, Clock: clock, Random: random, Hasher: hasher},
		Outbox:    outbox,
		Passwords: &password.Hasher{Params: FastParams, Limiter: password.NewLimiter(4, 64, time.Minute), Random: random},
		Policy:    password.DefaultPolicy(),
		Binder:    &flow.Binder{Hasher: hasher, Random: random},
		Counter:   &throttle.Counter{Store: db, Clock: clock},
	}
	e := &Env{DB: db, Clock: clock, Kit: kit, Realms: realms, JP: jp, Safe: safe, Dispatcher: disp}
	kit.Networks = db
	e.Captcha = &captcha.Service{Store: db, Box: box, Clock: clock, Random: random}
	counter := &throttle.Counter{Store: db, Clock: clock}
	e.Gate = &startgate.Gate{Counter: counter, Captcha: e.Captcha, Limits: startgate.DefaultLimits()}
	e.SMSGuard = &smsguard.Guard{Counter: counter}
	kit.SMSGuard = e.SMSGuard
	e.Signup = &signup.Service{Kit: kit, Realms: realms, Gate: e.Gate}
	e.Signin = signin.NewService(kit, realms)
	e.Signin.Gate = e.Gate
	e.Signin.Protect = &signin.Protection{
		Policy:   risk.DefaultPolicy(),
		Counter:  counter,
		Checks:   db,
		Locks:    db,
		Networks: db,
		Captcha:  e.Captcha,
	}
	e.Unlock = &unlock.Service{Kit: kit, Realms: realms, Locks: db, Gate: e.Gate, Forget: e.Signin.ForgetAccount}
	e.Reset = &reset.Service{Kit: kit, Realms: realms, Locks: db, Gate: e.Gate, Forget: e.Signin.ForgetAccount}
	e.Box = box
	e.TwoStep = &twostep.Service{Tx: db, Clock: clock, Random: random, Store: db, Backup: db, Events: db,
		Box: box, Hasher: hasher, Guard: kit.Codes.Guard, Alert: authflow.TwoStepAlerter{Kit: kit},
		Phone: &twostep.Phone{Codes: kit.Codes, Flows: db, Outbox: kit.Outbox, Channels: kit.Channels,
			Counter: &throttle.Counter{Store: db, Clock: clock}, SMSGuard: e.SMSGuard},
		Passkeys: passkey.RelyingParty{}}
	kit.TwoStep = e.TwoStep
	e.Trust = &trust.Service{Tx: db, Clock: clock, Random: random, Store: db, Events: db}
	kit.Trust = e.Trust
	e.TwoStep.TurnedOff = func(ctx context.Context, rl *realm.Realm, req ninsho.Request, accountID string) error {
		return kit.ForgetTrusted(ctx, rl, req, accountID, trust.ReasonTwoStepOff)
	}
	e.Budget = &changebudget.Budget{Counter: counter}
	e.Sessions = &sessions.Service{Tx: db, Clock: clock, Random: random, Store: db, Events: db,
		Policy: kit.Sessions.Policy, Forget: e.Signin.ForgetAccount, Secure: e.Unlock, HistoryWindow: signin.HistoryWindow}
	e.Reauth = &reauth.Service{Kit: kit, Realms: realms, Signin: e.Signin, Guard: kit.Codes.Guard, Starts: counter}
	e.Engine = &flow.Engine{Store: db, Clock: clock, Binder: kit.Binder, Handlers: map[flow.Kind]flow.Handler{
		flow.KindSignup: e.Signup, flow.KindSignin: e.Signin, flow.KindUnlock: e.Unlock, flow.KindReset: e.Reset,
		flow.KindReauth: e.Reauth,
	}, Annotate: authflow.Deliveries{Kit: kit, Reports: db, Realms: realms}}
	kit.Reports = db
	return e
}

// Messages delivers every due message and returns those sent to to, newest
// first.
func (e *Env) Messages(tb testing.TB, to string) []*devinbox.Message {
	tb.Helper()
	if _, err := e.Dispatcher.RunOnce(context.Background()); err != nil {
		tb.Fatalf("deliver: %v", err)
	}
	ms, err := e.DB.DevMessages(context.Background(), to, 100)
	if err != nil {
		tb.Fatalf("dev messages: %v", err)
	}
	return ms
}

// LastCode delivers due messages and returns the code of the newest message
// to to; it fails the test when there is none.
func (e *Env) LastCode(tb testing.TB, to string) string {
	tb.Helper()
	ms := e.Messages(tb, to)
	if len(ms) == 0 || ms[0].Code == "" {
		tb.Fatalf("no code was delivered to %s (messages: %d)", to, len(ms))
	}
	return ms[0].Code
}

// BrowserUA is the User-Agent of an ordinary desktop browser: requests that
// stand for a person send it, so that the risk engine sees no automation.
const BrowserUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0 Safari/537.36"

// Req is a request from a browser at ip with the device token dev that
// expresses no language (no ?lang=, cookie or Accept-Language): it is
// answered in the realm's default, and its messages are in the account's.
func Req(ip, dev string) ninsho.Request {
	return ninsho.Request{IP: ip, UserAgent: BrowserUA, DeviceToken: dev, RequestID: "req-test", Locale: "ja"}
}

// ReqIn is Req from a person who chose the language lang in this request
// (?lang=, the language cookie or Accept-Language).
func ReqIn(ip, dev, lang string) ninsho.Request {
	r := Req(ip, dev)
	r.Locale, r.LocaleChosen = lang, true
	return r
}

// MustSignUp signs up and confirms an account with identifier and password
// in rl, and returns the device token of the browser that did it.
func (e *Env) MustSignUp(tb testing.TB, rl *realm.Realm, ident, pw, to string) string {
	tb.Helper()
	ctx := context.Background()
	ans, err := e.Signup.Start(ctx, rl, Req("192.0.2.10", ""), signup.Input{Identifier: ident, Name: "Hanako Yamada", Password: pw})
	if err != nil {
		tb.Fatalf("sign up %s: %v", ident, err)
	}
	c := e.LastCode(tb, to)
	done, err := e.Engine.Act(ctx, rl.ID, ans.Flow.ID, Req("192.0.2.10", ans.DeviceToken), flow.Action{Name: flow.ActionSubmitCode, Code: c})
	if err != nil || done.Session == nil {
		tb.Fatalf("confirm sign-up of %s: %v", ident, err)
	}
	return ans.DeviceToken
}

// EachRealmAndDB runs fn as EachDB does, once with the explicit realm (JP)
// and once with the enumeration-safe one (Safe), as subtests "explicit"
// and "safe".
func EachRealmAndDB(t *testing.T, fn func(t *testing.T, e *Env, rl *realm.Realm)) {
	for _, name := range []string{"explicit", "safe"} {
		t.Run(name, func(t *testing.T) {
			EachDB(t, func(t *testing.T, e *Env) {
				rl := e.JP
				if name == "safe" {
					rl = e.Safe
				}
				fn(t, e, rl)
			})
		})
	}
}

// EachDB runs fn with a fresh Env on SQLite, and on PostgreSQL when
// NINSHO_TEST_POSTGRES is set.
func EachDB(t *testing.T, fn func(t *testing.T, e *Env)) {
	storetest.EachDatabase(t, func(t *testing.T, open func(tb testing.TB) *store.DB) {
		fn(t, New(t, open(t)))
	})
}

// WantCode fails the test unless err carries the catalogue code want ("" for
// no error).
func WantCode(tb testing.TB, err error, want ninsho.Code) {
	tb.Helper()
	if got := ninsho.CodeOf(err); got != want {
		tb.Fatalf("error code = %q (%v), want %q", got, err, want)
	}
}

// WantRefusals fails tb unless err refuses exactly the fields want, in
// order, each written "code/field" (ninsho.Error.All).
func WantRefusals(tb testing.TB, err error, want ...string) {
	tb.Helper()
	var got []string
	for _, e := range ninsho.ErrorOf(err).All() {
		got = append(got, string(e.Code)+"/"+e.Field)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		tb.Errorf("refusals = %v, want %v (err %v)", got, want, err)
	}
}

// DownDispatcher returns a second dispatcher on e's outbox whose only
// provider of ch is a webhook gateway at a loopback port nothing listens on
// (every send is refused: a real outage, no stand-in), with a breaker that
// opens at the first failure. Run it once to open the breaker; its
// ChannelDown then reports ch down for every realm.
func (e *Env) DownDispatcher(tb testing.TB, ch message.Channel) *message.Dispatcher {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // the port is now refused
	gw, err := webhook.New(webhook.Config{Name: "gw-down", URL: "http://" + addr + "/send", Secret: []byte("flowtest-webhook-secret-0123456789"),
		CallbackURL: "https://id.example.jp/hooks/gw-down/status", Clock: e.Clock, Timeout: time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	templates, err := message.DefaultTemplates()
	if err != nil {
		tb.Fatal(err)
	}
	d, err := message.NewDispatcher(message.DispatcherConfig{
		Store: e.DB, Box: e.Box, Templates: templates, Clock: e.Clock, Random: ninsho.NewSeededRandom(99),
		Senders: map[message.Channel][]message.Sender{ch: {gw}}, FailureThreshold: 1,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return d
}
