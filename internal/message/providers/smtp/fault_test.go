package smtp

import (
	"bytes"
	"context"
	"net"
	"net/mail"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/message/messageprom"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/secret"
	"github.com/ninsho/ninsho/internal/store"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// Relay faults of the fault test.
const (
	faultNone  int32 = iota // a working relay
	fault451                // every recipient refused with 451 (temporary)
	faultHang               // the connection is accepted and nothing is ever said
	faultClose              // the connection is closed at once
)

// faultyListener hands connections to the SMTP server only while its fault
// is faultNone; otherwise it holds them silent or closes them.
type faultyListener struct {
	net.Listener
	fault *atomic.Int32

	mu   sync.Mutex
	held []net.Conn
}

func (l *faultyListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		switch l.fault.Load() {
		case faultHang:
			l.mu.Lock()
			l.held = append(l.held, c)
			l.mu.Unlock()
		case faultClose:
			c.Close()
		default:
			return c, nil
		}
	}
}

func (l *faultyListener) Close() error {
	l.mu.Lock()
	for _, c := range l.held {
		c.Close()
	}
	l.mu.Unlock()
	return l.Listener.Close()
}

// faultyRelay starts an in-process SMTP relay whose fault can be switched.
func faultyRelay(tb testing.TB, be *backend, fault *atomic.Int32) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	fl := &faultyListener{Listener: ln, fault: fault}
	srv := gosmtp.NewServer(be)
	srv.Domain, srv.AllowInsecureAuth = "localhost", true
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	go srv.Serve(fl)
	tb.Cleanup(func() { fl.Close(); srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// byMessageID counts a relay's messages by their Message-ID.
func byMessageID(tb testing.TB, be *backend) map[string]int {
	tb.Helper()
	out := map[string]int{}
	for _, r := range be.received() {
		m, err := mail.ReadMessage(bytes.NewReader(r.data))
		if err != nil {
			tb.Fatalf("relay got an unreadable message: %v", err)
		}
		out[strings.Trim(m.Header.Get("Message-ID"), "<>")]++
	}
	return out
}

func breakerGauge(tb testing.TB, reg *prometheus.Registry, provider string) float64 {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "ninsho_message_provider_breaker_state" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == provider {
				return m.GetGauge().GetValue()
			}
		}
	}
	return -1
}

// TestFailOverToTheSecondRelay is the fault test of issue 11: relay A
// refuses with 451, hangs, or closes the connection; every message arrives
// through relay B exactly once, A's breaker opens, every attempt is
// recorded, and once A works again a half-open probe closes its breaker.
func TestFailOverToTheSecondRelay(t *testing.T) {
	const (
		n           = 20
		threshold   = 3
		parallel    = 4
		sendTimeout = 400 * time.Millisecond
	)
	faults := []struct {
		name      string
		fault     int32
		wantErr   string // in the attempt's error text
		wantClass string // the attempt's error class
	}{
		{"451", fault451, "451", message.ClassProvider},
		{"hang", faultHang, "timeout", message.ClassTimeout},
		{"close", faultClose, "EOF", message.ClassConnection},
	}
	storetest.EachDatabase(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		for _, f := range faults {
			t.Run(f.name, func(t *testing.T) {
				db := open(t)
				clock := &ninsho.OffsetClock{}
				var faultA, faultB atomic.Int32
				faultA.Store(f.fault)
				beA, beB := &backend{}, &backend{}
				if f.fault == fault451 {
					beA.rcptErr = &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "Try again later"}
				}
				relay := func(name string, port int) *Sender {
					s, err := New(Config{Name: name, Host: "127.0.0.1", Port: port, TLS: TLSNone, From: "no-reply@example.com", Timeout: sendTimeout, Clock: clock})
					if err != nil {
						t.Fatal(err)
					}
					return s
				}
				a, b := relay("relay-a", faultyRelay(t, beA, &faultA)), relay("relay-b", faultyRelay(t, beB, &faultB))

				box, err := secret.NewBox(ninsho.NewSeededRandom(1), bytes.Repeat([]byte{7}, 32))
				if err != nil {
					t.Fatal(err)
				}
				templates, err := message.DefaultTemplates()
				if err != nil {
					t.Fatal(err)
				}
				reg := prometheus.NewRegistry()
				metrics, err := messageprom.New(reg)
				if err != nil {
					t.Fatal(err)
				}
				metrics.Providers("relay-a", "relay-b")
				outbox := message.NewOutbox(db, box, templates, clock, ninsho.NewSeededRandom(2))
				d, err := message.NewDispatcher(message.DispatcherConfig{
					Store: db, Box: box, Templates: templates, Clock: clock, Random: ninsho.NewSeededRandom(3),
					Senders:          map[message.Channel][]message.Sender{message.ChannelEmail: {a, b}},
					FailureThreshold: threshold, CoolOff: time.Minute, Parallel: parallel,
					SendTimeout: sendTimeout, Metrics: metrics,
				})
				if err != nil {
					t.Fatal(err)
				}
				ctx := context.Background()
				enqueue := func() *message.Message {
					m, err := outbox.Enqueue(ctx, "jp", message.ChannelEmail, "taro@example.com", message.TemplateSignupCode, "ja",
						map[string]string{"code": "482913", "name": "山田 太郎", "minutes": "10", "host": "id.example.com"})
					if err != nil {
						t.Fatalf("Enqueue: %v", err)
					}
					return m
				}
				var ids []string
				for range n {
					ids = append(ids, enqueue().ID)
				}
				if sent, err := d.RunOnce(ctx); err != nil || sent != n {
					t.Fatalf("RunOnce = %d, %v; want all %d sent in one round (fail-over)", sent, err, n)
				}

				gotB := byMessageID(t, beB)
				for _, id := range ids {
					if gotB[id+"@ninsho"] != 1 {
						t.Errorf("message %s arrived %d times through B, want exactly once", id, gotB[id+"@ninsho"])
					}
				}
				if len(gotB) != n || len(beA.received()) != 0 {
					t.Errorf("B got %d distinct messages, A %d; want %d and 0", len(gotB), len(beA.received()), n)
				}
				if st := d.BreakerState("relay-a"); st != message.BreakerOpen || breakerGauge(t, reg, "relay-a") != 2 {
					t.Errorf("A's breaker %v (gauge %v), want open (2)", st, breakerGauge(t, reg, "relay-a"))
				}

				// Every attempt is recorded: A's failures (until its
				// breaker opened, plus those already in flight), then B.
				failedA := 0
				for _, id := range ids {
					as, err := db.Attempts(ctx, id)
					if err != nil {
						t.Fatal(err)
					}
					last := as[len(as)-1]
					if last.Provider != "relay-b" || !last.OK || last.Error != "" || last.Duration <= 0 {
						t.Errorf("%s: last attempt %+v, want relay-b ok with a duration", id, *last)
					}
					for _, at := range as[:len(as)-1] {
						failedA++
						if at.Provider != "relay-a" || at.OK || !strings.Contains(at.Error, f.wantErr) || at.Class != f.wantClass || at.Duration <= 0 {
							t.Errorf("%s: failed attempt %q ok=%v error %q class %q duration %v; want relay-a, an error with %q, class %q, a duration",
								id, at.Provider, at.OK, at.Error, at.Class, at.Duration, f.wantErr, f.wantClass)
						}
						if strings.Contains(at.Error, "482913") {
							t.Errorf("attempt error holds the code: %q", at.Error)
						}
					}
					if len(as) > 2 {
						t.Errorf("%s: %d attempts, want at most A then B", id, len(as))
					}
				}
				if failedA < threshold || failedA > threshold+parallel-1 {
					t.Errorf("%d attempts went to A, want %d (the threshold) to %d (with those in flight)", failedA, threshold, threshold+parallel-1)
				}
				if f.fault == faultHang {
					for _, id := range ids {
						as, _ := db.Attempts(ctx, id)
						if len(as) == 2 && (as[0].Duration < sendTimeout || as[0].Duration > 10*sendTimeout) {
							t.Errorf("hung attempt took %v, want about the send timeout %v", as[0].Duration, sendTimeout)
						}
					}
				}

				// A is fixed; after the back-off a probe goes to A and
				// closes its breaker.
				faultA.Store(faultNone)
				beA.mu.Lock()
				beA.rcptErr = nil
				beA.mu.Unlock()
				clock.Advance(time.Minute)
				probe := enqueue()
				if sent, err := d.RunOnce(ctx); err != nil || sent != 1 {
					t.Fatalf("probe round: RunOnce = %d, %v", sent, err)
				}
				if got := byMessageID(t, beA); got[probe.ID+"@ninsho"] != 1 {
					t.Errorf("A got %v, want the probe %s", got, probe.ID)
				}
				if st := d.BreakerState("relay-a"); st != message.BreakerClosed || breakerGauge(t, reg, "relay-a") != 0 {
					t.Errorf("after the probe: A's breaker %v (gauge %v), want closed (0)", st, breakerGauge(t, reg, "relay-a"))
				}
				if as, _ := db.Attempts(ctx, probe.ID); len(as) != 1 || as[0].Provider != "relay-a" || !as[0].OK {
					t.Errorf("probe attempts %v, want one ok attempt on relay-a", as)
				}
				if len(byMessageID(t, beB)) != n {
					t.Errorf("B got more messages after A recovered")
				}
			})
		}
	})
}
