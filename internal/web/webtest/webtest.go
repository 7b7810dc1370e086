// Package webtest holds test helpers for the HTTP adapters: a flow engine on
// the real store (a fresh SQLite database) whose steps a script answers, and
// golden-file comparison.
package webtest

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/secret"
	"github.com/ninsho/ninsho/internal/store"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// Update rewrites golden files instead of comparing with them
// (go test ./internal/... -update).
var Update = flag.Bool("update", false, "rewrite golden files")

// Golden compares got with testdata/name, or writes it there with -update.
func Golden(tb testing.TB, name string, got []byte) {
	tb.Helper()
	path := filepath.Join("testdata", name)
	if *Update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if string(got) != string(want) {
		tb.Errorf("%s differs from the golden file (run with -update after checking):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// Epoch is the fixed time the helpers' clocks start at.
var Epoch = time.Date(2026, 11, 25, 1, 2, 3, 0, time.UTC)

// Realms returns a registry with realm "jp" (さくら商店: Japanese, the
// fallback, branded with a colour, support and legal links) and realm "us"
// (Maple Goods: English, host us.example, no branding).
func Realms() *realm.Registry {
	return realm.NewRegistry([]*realm.Realm{
		{ID: "jp", Name: "さくら商店", Hosts: []string{"jp.example"}, DefaultLocale: "ja", PhoneRegion: "JP", Disclosure: realm.DisclosureExplicit, Brand: SakuraBrand},
		{ID: "us", Name: "Maple Goods", Hosts: []string{"us.example"}, DefaultLocale: "en", PhoneRegion: "US", Disclosure: realm.DisclosureExplicit},
	})
}

// SakuraBrand is the branding of realm "jp" in Realms.
var SakuraBrand = realm.Brand{
	PrimaryColor:   "#d63384",
	SupportURL:     "https://sakura.example.jp/help",
	SupportContact: "お電話: 0120-123-456（平日 10:00〜18:00）",
	TermsURL:       "https://sakura.example.jp/terms",
	PrivacyURL:     "https://sakura.example.jp/privacy",
}

// Script is a flow.Handler whose answers the test sets. Act records the last
// action and request.
type Script struct {
	mu sync.Mutex
	// ActFunc answers Act; nil answers the flow with View's next.
	ActFunc  func(f *flow.Flow, a flow.Action) (*flow.Answer, error)
	NextStep *flow.Next // what View answers as next
	LastAct  flow.Action
	LastReq  ninsho.Request
}

var _ flow.Handler = (*Script)(nil)

// Act calls ActFunc.
func (s *Script) Act(ctx context.Context, f *flow.Flow, req ninsho.Request, a flow.Action) (*flow.Answer, error) {
	s.mu.Lock()
	s.LastAct, s.LastReq = a, req
	fn := s.ActFunc
	s.mu.Unlock()
	if fn == nil {
		return &flow.Answer{Flow: f, Next: s.NextStep}, nil
	}
	return fn(f, a)
}

// View answers the flow with NextStep.
func (s *Script) View(ctx context.Context, f *flow.Flow) (*flow.Answer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &flow.Answer{Flow: f, Next: s.NextStep}, nil
}

// Last returns the last action and request Act saw.
func (s *Script) Last() (flow.Action, ninsho.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.LastAct, s.LastReq
}

// Engine is a flow engine over the real flow store (store.DB on a fresh
// SQLite database) whose kinds are all answered by one Script, with a manual
// clock at Epoch. The adapters under test see the store's own not-found,
// conflict and round-trip behaviour; only the flow services are scripted.
type Engine struct {
	*flow.Engine
	Store  *store.DB
	Script *Script
	Clock  *ninsho.ManualClock
	// Client is the kind of client the flows MustAddFlowAt stores belong
	// to: ninsho.ClientPage (bound to FlowSecret) unless set.
	Client ninsho.Client
}

// FlowSecret is the binding secret of the page flows MustAddFlowAt stores;
// FlowCookie carries it.
const FlowSecret = "webtest-flow-secret"

// FlowCookie is the Cookie header value that binds a page request to the
// flow FlowID.
const FlowCookie = "ninsho_flow_" + FlowID + "=" + FlowSecret

// NewEngine returns an engine over a fresh, migrated SQLite database in a
// temporary directory of tb (storetest.MustOpenSQLite), closed when the test
// ends.
func NewEngine(tb testing.TB) *Engine {
	tb.Helper()
	st := storetest.MustOpenSQLite(tb)
	sc := &Script{}
	clk := ninsho.NewManualClock(Epoch)
	h, err := secret.NewHasher([]byte("webtest-binding-key-0123456789abcdef"))
	if err != nil {
		tb.Fatal(err)
	}
	return &Engine{
		Engine: &flow.Engine{Store: st, Clock: clk, Binder: &flow.Binder{Hasher: h, Random: ninsho.SecureRandom}, Handlers: map[flow.Kind]flow.Handler{
			flow.KindSignup: sc,
			flow.KindSignin: sc,
			flow.KindUnlock: sc,
			flow.KindReset:  sc,
		}},
		Store:  st,
		Script: sc,
		Clock:  clk,
	}
}

// FlowID is the id of the flow MustAddFlow stores.
const FlowID = "01900000-0000-7000-8000-000000000001"

// MustAddFlow stores a flow of kind k in realm "jp" with id FlowID, at
// challenge step verification_code by SMS, expiring an hour after Epoch.
func (e *Engine) MustAddFlow(tb testing.TB, k flow.Kind) *flow.Flow {
	tb.Helper()
	return e.MustAddFlowAt(tb, k, &flow.Next{Step: flow.StepVerificationCode, Channel: "sms", Destination: "+81 ** **** **78", ResendAfterS: 30, Alternatives: []string{"email"}}, nil)
}

// CaptchaID is the id of the CAPTCHA challenge of CaptchaNext.
const CaptchaID = "01900000-0000-7000-8000-0000000000c1"

// CaptchaNext is a sign-in's CAPTCHA step with challenge CaptchaID.
func CaptchaNext() *flow.Next {
	return &flow.Next{Step: flow.StepCaptcha, Captcha: &flow.Captcha{
		ID:       CaptchaID,
		ImageURL: "/api/v1/captcha/" + CaptchaID + ".png",
		AudioURL: "/api/v1/captcha/" + CaptchaID + ".wav?lang=ja",
	}}
}

// MustAddFlowAt stores a flow of kind k in realm "jp" with id FlowID and the
// given state, at next's step (status challenge for a code or a CAPTCHA,
// open otherwise), expiring an hour after Epoch; the script's View answers
// next.
func (e *Engine) MustAddFlowAt(tb testing.TB, k flow.Kind, next *flow.Next, state map[string]string) *flow.Flow {
	tb.Helper()
	f := &flow.Flow{
		ID:         FlowID,
		Realm:      "jp",
		Kind:       k,
		Status:     flow.StatusOpen,
		Step:       next.Step,
		Identifier: "+819012345678",
		Locale:     "ja",
		CreatedAt:  Epoch,
		UpdatedAt:  Epoch,
		ExpiresAt:  Epoch.Add(time.Hour),
		State:      state,
	}
	switch next.Step {
	case flow.StepVerificationCode:
		f.Status, f.Channel, f.Destination = flow.StatusChallenge, "sms", "+819012345678"
	case flow.StepCaptcha:
		f.Status = flow.StatusChallenge
	}
	f.Client = e.Client
	if f.Client == "" {
		f.Client = ninsho.ClientPage
	}
	if f.Client == ninsho.ClientPage {
		f.BindingHash = e.Binder.Hasher.Hash("flow-binding", f.ID, FlowSecret)
	}
	if err := e.Store.CreateFlow(context.Background(), f); err != nil {
		tb.Fatal(err)
	}
	e.Script.mu.Lock()
	e.Script.NextStep = next
	e.Script.mu.Unlock()
	return f
}
