package message_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/store"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// fakeSender is a scripted provider. Call n fails with script[n] when that is
// not nil; calls past the script fail with always, or succeed when it is nil.
type fakeSender struct {
	name   string
	script []error
	always error
	hook   func(m *Outgoing) // runs inside Send, before the outcome

	mu  sync.Mutex
	got []*Outgoing
}

func (s *fakeSender) Name() string { return s.name }

func (s *fakeSender) Send(_ context.Context, m *Outgoing) (string, error) {
	s.mu.Lock()
	n := len(s.got)
	c := *m
	s.got = append(s.got, &c)
	s.mu.Unlock()
	if s.hook != nil {
		s.hook(m)
	}
	if n < len(s.script) && s.script[n] != nil {
		return "", s.script[n]
	}
	if n >= len(s.script) && s.always != nil {
		return "", s.always
	}
	return s.name + "-" + m.ID, nil
}

func (s *fakeSender) calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got)
}

var _ Sender = (*fakeSender)(nil)

// countingMetrics records every call.
type countingMetrics struct {
	mu       sync.Mutex
	events   []string
	breakers []string // "provider state", in order
}

func (c *countingMetrics) add(s string) { c.mu.Lock(); c.events = append(c.events, s); c.mu.Unlock() }
func (c *countingMetrics) Sent(ch Channel, p string, _ time.Duration) {
	c.add("sent " + string(ch) + " " + p)
}
func (c *countingMetrics) Breaker(p string, s BreakerState) {
	c.mu.Lock()
	c.breakers = append(c.breakers, p+" "+s.String())
	c.mu.Unlock()
}
func (c *countingMetrics) AttemptFailed(ch Channel, p string) {
	c.add("attempt_failed " + string(ch) + " " + p)
}
func (c *countingMetrics) Failed(ch Channel, _ string) { c.add("failed " + string(ch)) }

// harness holds a real store (SQLite), a manual clock and an outbox for
// dispatcher tests.
type harness struct {
	store   *store.DB
	clock   *ninsho.ManualClock
	outbox  *Outbox
	logs    *syncBuffer
	metrics *countingMetrics
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newHarness(tb testing.TB) *harness {
	tb.Helper()
	h := &harness{store: storetest.MustOpenSQLite(tb), clock: ninsho.NewManualClock(testT0), logs: &syncBuffer{}, metrics: &countingMetrics{}}
	h.outbox = NewOutbox(h.store, MustBox(tb, 7), MustTemplates(tb), h.clock, NewTestRandom(3))
	return h
}

// dispatcher returns a dispatcher on the harness with cfg's senders and
// tuning; Parallel defaults to 1 so that runs are deterministic.
func (h *harness) dispatcher(tb testing.TB, cfg DispatcherConfig) *Dispatcher {
	tb.Helper()
	cfg.Store, cfg.Box, cfg.Templates, cfg.Clock = h.store, MustBox(tb, 7), MustTemplates(tb), h.clock
	if cfg.Random == nil {
		cfg.Random = NewTestRandom(4)
	}
	if cfg.Owner == "" {
		cfg.Owner = "dispatcher-1"
	}
	if cfg.Parallel == 0 {
		cfg.Parallel = 1
	}
	cfg.Logger = slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.Metrics = h.metrics
	d, err := NewDispatcher(cfg)
	if err != nil {
		tb.Fatalf("NewDispatcher: %v", err)
	}
	return d
}

func (h *harness) enqueue(tb testing.TB, ch Channel) *Message {
	tb.Helper()
	to := "taro@example.com"
	if ch != ChannelEmail {
		to = "+819012345678"
	}
	m, err := h.outbox.Enqueue(context.Background(), "jp", ch, to, TemplateSignupCode, "en", codeVars())
	if err != nil {
		tb.Fatalf("Enqueue: %v", err)
	}
	return m
}

func (h *harness) message(tb testing.TB, id string) *Message {
	tb.Helper()
	m, err := h.store.Message(context.Background(), id)
	if err != nil {
		tb.Fatalf("Message: %v", err)
	}
	return m
}

func (h *harness) attempts(tb testing.TB, id string) (providers []string, ok []bool, errs []string) {
	tb.Helper()
	as, _ := h.store.Attempts(context.Background(), id)
	for _, a := range as {
		providers, ok, errs = append(providers, a.Provider), append(ok, a.OK), append(errs, a.Error)
	}
	return providers, ok, errs
}

func mustRunOnce(tb testing.TB, d *Dispatcher) int {
	tb.Helper()
	n, err := d.RunOnce(context.Background())
	if err != nil {
		tb.Fatalf("RunOnce: %v", err)
	}
	return n
}

var errTemporary = errors.New("provider: 421 service not available")

func TestDispatcherRounds(t *testing.T) {
	tests := []struct {
		name          string
		senders       func() []*fakeSender
		cfg           DispatcherConfig
		channel       Channel
		rounds        int
		wantStatus    Status
		wantAttempts  int
		wantDelivered int
		wantProvider  string
		wantTried     []string
		wantOK        []bool
		wantLastError string
		wantMetrics   []string
	}{
		{
			name:          "sent at the first try",
			senders:       func() []*fakeSender { return []*fakeSender{{name: "a"}} },
			rounds:        1,
			wantStatus:    StatusSent,
			wantAttempts:  1,
			wantDelivered: 1,
			wantProvider:  "a",
			wantTried:     []string{"a"},
			wantOK:        []bool{true},
			wantMetrics:   []string{"sent email a"},
		},
		{
			name: "retried with back-off until sent",
			senders: func() []*fakeSender {
				return []*fakeSender{{name: "a", script: []error{errTemporary, errTemporary}}}
			},
			rounds:        3,
			wantStatus:    StatusSent,
			wantAttempts:  3,
			wantDelivered: 1,
			wantProvider:  "a",
			wantTried:     []string{"a", "a", "a"},
			wantOK:        []bool{false, false, true},
			wantMetrics:   []string{"attempt_failed email a", "attempt_failed email a", "sent email a"},
		},
		{
			name: "fails over to the second provider",
			senders: func() []*fakeSender {
				return []*fakeSender{{name: "a", always: errTemporary}, {name: "b"}}
			},
			rounds:        1,
			wantStatus:    StatusSent,
			wantAttempts:  1,
			wantDelivered: 1,
			wantProvider:  "b",
			wantTried:     []string{"a", "b"},
			wantOK:        []bool{false, true},
			wantMetrics:   []string{"attempt_failed email a", "sent email b"},
		},
		{
			name:          "fails after the last attempt",
			senders:       func() []*fakeSender { return []*fakeSender{{name: "a", always: errTemporary}} },
			cfg:           DispatcherConfig{MaxAttempts: 3},
			rounds:        3,
			wantStatus:    StatusFailed,
			wantAttempts:  3,
			wantProvider:  "a",
			wantTried:     []string{"a", "a", "a"},
			wantOK:        []bool{false, false, false},
			wantLastError: "provider: 421 service not available",
			wantMetrics:   []string{"attempt_failed email a", "attempt_failed email a", "attempt_failed email a", "failed email"},
		},
		{
			name: "permanent error fails at once",
			senders: func() []*fakeSender {
				return []*fakeSender{{name: "a", always: Permanent(errors.New("provider: 550 no such user"))}}
			},
			rounds:        1,
			wantStatus:    StatusFailed,
			wantAttempts:  1,
			wantProvider:  "a",
			wantTried:     []string{"a"},
			wantOK:        []bool{false},
			wantLastError: "provider: 550 no such user",
			wantMetrics:   []string{"attempt_failed email a", "failed email"},
		},
		{
			name: "permanent error on one provider, another accepts",
			senders: func() []*fakeSender {
				return []*fakeSender{{name: "a", always: Permanent(errors.New("provider: refused"))}, {name: "b"}}
			},
			rounds:        1,
			wantStatus:    StatusSent,
			wantAttempts:  1,
			wantDelivered: 1,
			wantProvider:  "b",
			wantTried:     []string{"a", "b"},
			wantOK:        []bool{false, true},
			wantMetrics:   []string{"attempt_failed email a", "sent email b"},
		},
		{
			name: "permanent and temporary errors retry",
			senders: func() []*fakeSender {
				return []*fakeSender{{name: "a", always: Permanent(errors.New("provider: refused"))}, {name: "b", always: errTemporary}}
			},
			rounds:        1,
			wantStatus:    StatusPending,
			wantAttempts:  1,
			wantProvider:  "b",
			wantTried:     []string{"a", "b"},
			wantOK:        []bool{false, false},
			wantLastError: "provider: 421",
			wantMetrics:   []string{"attempt_failed email a", "attempt_failed email b"},
		},
		{
			// Not failed and no attempt used: it waits for a provider.
			name:          "no provider for the channel",
			senders:       func() []*fakeSender { return []*fakeSender{{name: "a"}} },
			channel:       ChannelVoice,
			cfg:           DispatcherConfig{MaxAttempts: 2},
			rounds:        1,
			wantStatus:    StatusPending,
			wantAttempts:  0,
			wantLastError: "message: no provider for channel voice",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			senders := tt.senders()
			var ss []Sender
			for _, s := range senders {
				ss = append(ss, s)
			}
			cfg := tt.cfg
			cfg.Senders = map[Channel][]Sender{ChannelEmail: ss}
			d := h.dispatcher(t, cfg)
			ch := tt.channel
			if ch == "" {
				ch = ChannelEmail
			}
			m := h.enqueue(t, ch)

			delivered := 0
			for round := 1; round <= tt.rounds; round++ {
				if round > 1 {
					prev := h.message(t, m.ID)
					if prev.Status != StatusPending {
						t.Fatalf("before round %d: status = %s, want pending", round, prev.Status)
					}
					// Back-off: BackoffBase·2^(n-1) after failed round n, half of it jitter.
					full := DefaultBackoffBase << (round - 2)
					wait := prev.NextAttemptAt.Sub(h.clock.Now())
					if wait < full/2 || wait > full {
						t.Errorf("before round %d: next attempt in %v, want within [%v, %v]", round, wait, full/2, full)
					}
					if n := mustRunOnce(t, d); n != 0 || h.message(t, m.ID).Attempts != round-1 {
						t.Fatalf("before round %d: a message not yet due was delivered or attempted", round)
					}
					h.clock.Set(prev.NextAttemptAt)
				}
				delivered += mustRunOnce(t, d)
			}

			got := h.message(t, m.ID)
			if got.Status != tt.wantStatus || got.Attempts != tt.wantAttempts || delivered != tt.wantDelivered {
				t.Errorf("got status %s, %d attempts, %d delivered; want %s, %d, %d",
					got.Status, got.Attempts, delivered, tt.wantStatus, tt.wantAttempts, tt.wantDelivered)
			}
			if got.Provider != tt.wantProvider {
				t.Errorf("Provider = %q, want %q", got.Provider, tt.wantProvider)
			}
			if got.LeaseOwner != "" || !got.LeaseUntil.IsZero() {
				t.Errorf("lease = %q until %v, want it cleared", got.LeaseOwner, got.LeaseUntil)
			}
			final := got.Status == StatusSent || got.Status == StatusFailed
			if final != (got.SealedVars == nil) {
				t.Errorf("status %s with %d bytes of sealed vars, want them erased exactly at a final status", got.Status, len(got.SealedVars))
			}
			switch got.Status {
			case StatusSent:
				if got.SentAt == nil || got.ProviderMessageID != tt.wantProvider+"-"+m.ID || got.LastError != "" {
					t.Errorf("sent message: SentAt %v, ProviderMessageID %q, LastError %q", got.SentAt, got.ProviderMessageID, got.LastError)
				}
			default:
				if !strings.Contains(got.LastError, tt.wantLastError) || tt.wantLastError == "" {
					t.Errorf("LastError = %q, want it to contain %q", got.LastError, tt.wantLastError)
				}
			}
			tried, ok, _ := h.attempts(t, m.ID)
			if !slices.Equal(tried, tt.wantTried) || !slices.Equal(ok, tt.wantOK) {
				t.Errorf("attempts = %v %v, want %v %v", tried, ok, tt.wantTried, tt.wantOK)
			}
			if !slices.Equal(h.metrics.events, tt.wantMetrics) {
				t.Errorf("metrics = %q, want %q", h.metrics.events, tt.wantMetrics)
			}
		})
	}
}

func TestDispatcherOutgoing(t *testing.T) {
	h := newHarness(t)
	a := &fakeSender{name: "a"}
	d := h.dispatcher(t, DispatcherConfig{Senders: map[Channel][]Sender{ChannelEmail: {a}, ChannelSMS: {a}}})
	em := h.enqueue(t, ChannelEmail)
	sm := h.enqueue(t, ChannelSMS)
	if n := mustRunOnce(t, d); n != 2 {
		t.Fatalf("RunOnce delivered %d, want 2", n)
	}
	if len(a.got) != 2 {
		t.Fatalf("sender got %d messages, want 2", len(a.got))
	}
	e, s := a.got[0], a.got[1]
	if e.Channel != ChannelEmail {
		e, s = s, e
	}
	if e.ID != em.ID || e.Realm != "jp" || e.Channel != ChannelEmail || e.To != "taro@example.com" || e.Locale != "en" ||
		e.Template != TemplateSignupCode || e.Code != "482913" || e.Subject != "id.example.com: your sign-up verification code" || e.FromName != "" ||
		!strings.Contains(e.Text, "482913") || !strings.Contains(e.HTML, "482913") {
		t.Errorf("e-mail outgoing = %+v", e)
	}
	if s.ID != sm.ID || s.Subject != "" || s.HTML != "" || !strings.HasSuffix(s.Text, "@id.example.com #482913") || s.Code != "482913" {
		t.Errorf("sms outgoing = %+v", s)
	}
}

// TestDispatcherRendersEachRealmsLook checks that the dispatcher renders a
// message with the brand and theme of its own realm, looked up at delivery:
// the sealed variables hold no brand, the e-mail's sender name is the realm's
// name, and a realm the lookup does not know gets the built-in templates.
func TestDispatcherRendersEachRealmsLook(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	writeThemeFile(t, dir, "en/signup_code.subject.txt", "Welcome to {{.brand_name}}: your code\n")
	themed, err := LoadTheme(dir)
	if err != nil || themed == nil {
		t.Fatalf("LoadTheme = %v, %v", themed, err)
	}
	var looked []string
	a := &fakeSender{name: "a"}
	d := h.dispatcher(t, DispatcherConfig{
		Senders: map[Channel][]Sender{ChannelEmail: {a}, ChannelSMS: {a}},
		Looks: func(realm string) Look {
			looked = append(looked, realm)
			if realm == "jp" {
				return Look{Brand: Brand{Name: "さくら商店", LogoURL: "https://id.example.com/brand/logo", Color: "#e83e8c"}, Templates: themed}
			}
			return Look{}
		},
	})
	ctx := context.Background()
	for _, m := range []struct {
		realm string
		ch    Channel
		to    string
	}{{"jp", ChannelEmail, "a@example.com"}, {"jp", ChannelSMS, "+819012345678"}, {"us", ChannelEmail, "b@example.com"}} {
		msg, err := h.outbox.Enqueue(ctx, m.realm, m.ch, m.to, TemplateSignupCode, "en", codeVars())
		if err != nil {
			t.Fatal(err)
		}
		vars, err := OpenVars(MustBox(t, 7), msg.ID, msg.SealedVars)
		if err != nil {
			t.Fatal(err)
		}
		for k := range vars {
			if strings.HasPrefix(k, "brand_") {
				t.Errorf("sealed variables hold %s; the brand is added at delivery", k)
			}
		}
	}
	if n := mustRunOnce(t, d); n != 3 {
		t.Fatalf("RunOnce delivered %d, want 3", n)
	}
	byTo := map[string]*Outgoing{}
	for _, o := range a.got {
		byTo[o.To] = o
	}
	jp, sms, us := byTo["a@example.com"], byTo["+819012345678"], byTo["b@example.com"]
	if jp.Subject != "Welcome to さくら商店: your code" || jp.FromName != "さくら商店" ||
		!strings.Contains(jp.HTML, `alt="さくら商店"`) || !strings.Contains(jp.HTML, "color:"+EmailColor("#e83e8c")+";") {
		t.Errorf("jp e-mail: subject %q, from %q, html:\n%s", jp.Subject, jp.FromName, jp.HTML)
	}
	if !strings.HasPrefix(sms.Text, "さくら商店: your sign-up code") || sms.FromName != "" {
		t.Errorf("jp SMS = %q (from %q)", sms.Text, sms.FromName)
	}
	if us.Subject != "id.example.com: your sign-up verification code" || us.FromName != "" || strings.Contains(us.HTML, "<img") {
		t.Errorf("us e-mail (no look): subject %q, from %q", us.Subject, us.FromName)
	}
	slices.Sort(looked)
	if strings.Join(looked, ",") != "jp,jp,us" {
		t.Errorf("looked up %v, want each message's realm", looked)
	}
}

func TestDispatcherProviderHealth(t *testing.T) {
	h := newHarness(t)
	a := &fakeSender{name: "a", always: errTemporary}
	b := &fakeSender{name: "b"}
	d := h.dispatcher(t, DispatcherConfig{
		Senders:          map[Channel][]Sender{ChannelEmail: {a, b}},
		FailureThreshold: 2,
		CoolOff:          time.Minute,
	})
	steps := []struct {
		advance   time.Duration
		wantTried []string
	}{
		{0, []string{"a", "b"}},
		{0, []string{"a", "b"}}, // a's second failure in a row: its breaker opens
		{30 * time.Second, []string{"b"}},
		{30 * time.Second, []string{"a", "b"}}, // back-off over: a half-open probe
		{0, []string{"b"}},                     // which failed: open again (for 2m)
		{119 * time.Second, []string{"b"}},
		{time.Second, []string{"a", "b"}}, // the doubled back-off is over
	}
	for i, st := range steps {
		h.clock.Advance(st.advance)
		m := h.enqueue(t, ChannelEmail)
		if n := mustRunOnce(t, d); n != 1 {
			t.Fatalf("step %d: delivered %d, want 1", i, n)
		}
		if tried, _, _ := h.attempts(t, m.ID); !slices.Equal(tried, st.wantTried) {
			t.Errorf("step %d: tried %v, want %v", i, tried, st.wantTried)
		}
	}

	// A success resets the count.
	h2 := newHarness(t)
	flaky := &fakeSender{name: "a", script: []error{errTemporary, nil, errTemporary}}
	d2 := h2.dispatcher(t, DispatcherConfig{
		Senders:          map[Channel][]Sender{ChannelEmail: {flaky, &fakeSender{name: "b"}}},
		FailureThreshold: 2,
	})
	for i, want := range [][]string{{"a", "b"}, {"a"}, {"a", "b"}, {"a"}} {
		m := h2.enqueue(t, ChannelEmail)
		mustRunOnce(t, d2)
		if tried, _, _ := h2.attempts(t, m.ID); !slices.Equal(tried, want) {
			t.Errorf("flaky step %d: tried %v, want %v", i, tried, want)
		}
	}
}

func TestDispatcherLeaseLost(t *testing.T) {
	h := newHarness(t)
	var stolen []*Message
	a := &fakeSender{name: "a"}
	a.hook = func(m *Outgoing) {
		// The send takes longer than the lease; another dispatcher claims
		// the message meanwhile.
		h.clock.Advance(DefaultLease + time.Second)
		now := h.clock.Now()
		stolen, _ = h.store.ClaimMessages(context.Background(), "dispatcher-2", now, now.Add(DefaultLease), 10)
	}
	d := h.dispatcher(t, DispatcherConfig{Senders: map[Channel][]Sender{ChannelEmail: {a}}})
	m := h.enqueue(t, ChannelEmail)
	if n := mustRunOnce(t, d); n != 0 {
		t.Errorf("RunOnce delivered %d after losing the lease, want 0", n)
	}
	if len(stolen) != 1 {
		t.Fatalf("second dispatcher claimed %d messages, want 1", len(stolen))
	}
	got := h.message(t, m.ID)
	if got.Status != StatusPending || got.LeaseOwner != "dispatcher-2" || got.Attempts != 0 || got.SealedVars == nil {
		t.Errorf("after a lost lease: status %s, owner %q, attempts %d, vars %d bytes; want the new owner's untouched pending message",
			got.Status, got.LeaseOwner, got.Attempts, len(got.SealedVars))
	}
	if tried, ok, _ := h.attempts(t, m.ID); !slices.Equal(tried, []string{"a"}) || !ok[0] {
		t.Errorf("attempts = %v %v, want the successful attempt recorded", tried, ok)
	}
	if !strings.Contains(h.logs.String(), "lease lost") {
		t.Errorf("log does not mention the lost lease:\n%s", h.logs.String())
	}
}

func TestDispatcherLeaseTooShortForNextProvider(t *testing.T) {
	h := newHarness(t)
	a := &fakeSender{name: "a", always: errTemporary, hook: func(*Outgoing) { h.clock.Advance(25 * time.Second) }}
	b := &fakeSender{name: "b"}
	d := h.dispatcher(t, DispatcherConfig{Senders: map[Channel][]Sender{ChannelEmail: {a, b}}}) // lease 30s, send timeout 10s
	m := h.enqueue(t, ChannelEmail)
	mustRunOnce(t, d)
	if b.calls() != 0 {
		t.Errorf("b was tried with 5s of lease left and a 10s send timeout")
	}
	got := h.message(t, m.ID)
	if got.Status != StatusPending || got.Attempts != 1 || got.LeaseOwner != "" {
		t.Errorf("status %s, attempts %d, owner %q; want pending after one round, lease released", got.Status, got.Attempts, got.LeaseOwner)
	}
}

func TestDispatcherNeverRecordsCode(t *testing.T) {
	h := newHarness(t)
	leaky := &fakeSender{name: "a", always: Permanent(fmt.Errorf("provider: rejected body %q for Taro Yamada", "Your code is 482913"))}
	d := h.dispatcher(t, DispatcherConfig{Senders: map[Channel][]Sender{ChannelEmail: {leaky}}})
	m := h.enqueue(t, ChannelEmail)
	mustRunOnce(t, d)
	got := h.message(t, m.ID)
	_, _, errs := h.attempts(t, m.ID)
	for where, s := range map[string]string{"LastError": got.LastError, "Attempt.Error": errs[0], "log": h.logs.String()} {
		if strings.Contains(s, "482913") || strings.Contains(s, "Taro Yamada") {
			t.Errorf("%s holds a variable: %q", where, s)
		}
	}
	if want := `provider: rejected body "Your code is [redacted]" for [redacted]`; got.LastError != want {
		t.Errorf("LastError = %q, want %q", got.LastError, want)
	}
}

func TestRedact(t *testing.T) {
	vars := map[string]string{"code": "12", "name": "Al", "host": "id.example.com"}
	long := strings.Repeat("é", MaxLastError)
	tests := []struct{ in, want string }{
		{"code 12 for Al at id.example.com", "code [redacted] for Al at [redacted]"},
		{"line one\r\nline two", "line one line two"},
		{long, long[:MaxLastError] + "…"},
	}
	for _, tt := range tests {
		if got := Redact(tt.in, vars); got != tt.want {
			t.Errorf("redact(%.40q) = %.60q, want %.60q", tt.in, got, tt.want)
		}
	}
}

func TestDispatcherUnopenableVars(t *testing.T) {
	h := newHarness(t)
	a := &fakeSender{name: "a"}
	cfg := DispatcherConfig{Senders: map[Channel][]Sender{ChannelEmail: {a}}}
	d := h.dispatcher(t, cfg)
	other := NewOutbox(h.store, MustBox(t, 8), MustTemplates(t), h.clock, NewTestRandom(5)) // another key
	m, err := other.Enqueue(context.Background(), "jp", ChannelEmail, "a@example.com", TemplateSignupCode, "en", codeVars())
	if err != nil {
		t.Fatal(err)
	}
	mustRunOnce(t, d)
	got := h.message(t, m.ID)
	if got.Status != StatusFailed || got.SealedVars != nil || !strings.Contains(got.LastError, "open variables") || a.calls() != 0 {
		t.Errorf("status %s, vars %d bytes, LastError %q, %d sends; want failed without sending", got.Status, len(got.SealedVars), got.LastError, a.calls())
	}
}

// TestDispatcherCancelledReleases ends the context during the first send of
// a batch of two: the message in hand is still recorded (sent), and the rest
// of the batch is released untouched for the next round. A context ended
// before the claim claims nothing.
func TestDispatcherCancelledReleases(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := &fakeSender{name: "a", hook: func(*Outgoing) { cancel() }}
	d := h.dispatcher(t, DispatcherConfig{Senders: map[Channel][]Sender{ChannelEmail: {a}}})
	first, second := h.enqueue(t, ChannelEmail), h.enqueue(t, ChannelEmail)
	if n, err := d.RunOnce(ctx); n != 1 || err != nil {
		t.Fatalf("RunOnce cancelled during the first send = %d, %v; want 1, nil", n, err)
	}
	if got := h.message(t, first.ID); got.Status != StatusSent || got.Attempts != 1 {
		t.Errorf("message in hand: status %s, attempts %d; want sent after 1", got.Status, got.Attempts)
	}
	got := h.message(t, second.ID)
	if got.Status != StatusPending || got.Attempts != 0 || got.LeaseOwner != "" || got.SealedVars == nil || a.calls() != 1 {
		t.Errorf("rest of the batch: status %s, attempts %d, owner %q, vars %d bytes, %d sends; want it released untouched after 1 send",
			got.Status, got.Attempts, got.LeaseOwner, len(got.SealedVars), a.calls())
	}

	if n, err := d.RunOnce(ctx); n != 0 || !errors.Is(err, context.Canceled) {
		t.Errorf("RunOnce(cancelled) = %d, %v; want 0 and context.Canceled from the claim", n, err)
	}
	if got := h.message(t, second.ID); got.Status != StatusPending || got.LeaseOwner != "" || a.calls() != 1 {
		t.Errorf("after RunOnce(cancelled): status %s, owner %q, %d sends; want nothing claimed or sent", got.Status, got.LeaseOwner, a.calls())
	}
	if n := mustRunOnce(t, d); n != 1 || a.calls() != 2 {
		t.Errorf("next round delivered %d with %d sends in all, want 1 and 2", n, a.calls())
	}
}

func TestDispatcherParallel(t *testing.T) {
	h := newHarness(t)
	a := &fakeSender{name: "a"}
	d := h.dispatcher(t, DispatcherConfig{Senders: map[Channel][]Sender{ChannelEmail: {a}}, Parallel: 4, Batch: 8})
	const n = 20
	for range n {
		h.enqueue(t, ChannelEmail)
	}
	total := 0
	for range 3 {
		total += mustRunOnce(t, d)
	}
	if total != n || a.calls() != n {
		t.Errorf("delivered %d with %d sends, want %d each", total, a.calls(), n)
	}
	seen := map[string]bool{}
	for _, m := range a.got {
		if seen[m.ID] {
			t.Errorf("message %s sent twice", m.ID)
		}
		seen[m.ID] = true
	}
}

func TestDispatcherRun(t *testing.T) {
	h := newHarness(t)
	sent := make(chan string, 10)
	a := &fakeSender{name: "a", hook: func(m *Outgoing) { sent <- m.ID }}
	// With an hour between polls, only Wake can make Run deliver before the
	// test binary's -timeout ends the test (with every goroutine's stack):
	// the test waits for channels, never for time.
	d := h.dispatcher(t, DispatcherConfig{
		Senders:      map[Channel][]Sender{ChannelEmail: {a}},
		PollInterval: time.Hour,
		Wake:         h.outbox.Wakeups(),
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- d.Run(ctx) }()

	for i := range 3 {
		m := h.enqueue(t, ChannelEmail)
		h.outbox.Wake()
		if id := <-sent; id != m.ID {
			t.Errorf("message %d: sent %s, want %s", i, id, m.ID)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil after cancel", err)
	}
}

func TestDispatcherBackoff(t *testing.T) {
	h := newHarness(t)
	d := h.dispatcher(t, DispatcherConfig{Senders: map[Channel][]Sender{ChannelEmail: {&fakeSender{name: "a"}}}})
	for n := 1; n <= 70; n++ {
		full := min(DefaultBackoffBase<<min(n-1, 20), DefaultBackoffMax)
		for range 20 {
			if got := d.Backoff(n); got < full/2 || got > full {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", n, got, full/2, full)
			}
		}
	}
	zero := h.dispatcher(t, DispatcherConfig{Senders: map[Channel][]Sender{ChannelEmail: {&fakeSender{name: "a"}}}, Random: bytes.NewReader(make([]byte, 8))})
	if got := zero.Backoff(3); got != 4*time.Second {
		t.Errorf("backoff(3) with zero jitter = %v, want 4s", got)
	}
}

func TestNewDispatcherErrors(t *testing.T) {
	box, tm, db := MustBox(t, 1), MustTemplates(t), storetest.MustOpenSQLite(t)
	senders := map[Channel][]Sender{ChannelEmail: {&fakeSender{name: "a"}}}
	tests := []struct {
		name    string
		cfg     DispatcherConfig
		wantErr string
	}{
		{"no store", DispatcherConfig{Box: box, Templates: tm, Senders: senders}, "needs a store"},
		{"no box", DispatcherConfig{Store: db, Templates: tm, Senders: senders}, "needs a secret box"},
		{"no templates", DispatcherConfig{Store: db, Box: box, Senders: senders}, "needs templates"},
		{"no senders", DispatcherConfig{Store: db, Box: box, Templates: tm}, "at least one sender"},
		{"nil sender", DispatcherConfig{Store: db, Box: box, Templates: tm, Senders: map[Channel][]Sender{ChannelSMS: {nil}}}, "nil sender for channel sms"},
		{"same name twice", DispatcherConfig{Store: db, Box: box, Templates: tm, Senders: map[Channel][]Sender{ChannelSMS: {&fakeSender{name: "a"}, &fakeSender{name: "a"}}}}, `two senders named "a" for channel sms`},
		{"send timeout", DispatcherConfig{Store: db, Box: box, Templates: tm, Senders: senders, Lease: time.Second, SendTimeout: time.Second}, "must be shorter than the lease"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewDispatcher(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "message: ") {
				t.Fatalf("NewDispatcher error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
	d, err := NewDispatcher(DispatcherConfig{Store: db, Box: box, Templates: tm, Senders: senders})
	if err != nil {
		t.Fatal(err)
	}
	if c := d.Config(); c.Lease != DefaultLease || c.SendTimeout != DefaultLease/3 || c.Batch != DefaultBatch ||
		c.MaxAttempts != DefaultMaxAttempts || c.PollInterval != DefaultPollInterval || !ninsho.ValidID(d.Owner()) {
		t.Errorf("defaults not applied: %+v", c)
	}
}
