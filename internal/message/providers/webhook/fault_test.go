package webhook_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/message/providers/webhook"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/secret"
	"github.com/ninsho/ninsho/internal/store"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// Faults of gateway A in the HTTP fault test.
const (
	httpOK    int32 = iota // answers 200
	http500                // answers every request 500
	httpHang               // reads the request and never answers
	httpClose              // closes the connection without an answer
)

// faultyGateway answers as its fault says and counts what it accepted by
// Idempotency-Key.
type faultyGateway struct {
	fault atomic.Int32
	mu    sync.Mutex
	got   map[string]int
	stop  chan struct{}
}

func (g *faultyGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch g.fault.Load() {
	case http500:
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	case httpHang:
		select {
		case <-r.Context().Done():
		case <-g.stop:
		}
		return
	case httpClose:
		c, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			c.Close()
		}
		return
	}
	g.mu.Lock()
	g.got[r.Header.Get("Idempotency-Key")]++
	g.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"id":"gw-1"}`))
}

func (g *faultyGateway) accepted() map[string]int {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[string]int{}
	for k, v := range g.got {
		out[k] = v
	}
	return out
}

func newFaultyGateway(t *testing.T) (*faultyGateway, string) {
	g := &faultyGateway{got: map[string]int{}, stop: make(chan struct{})}
	srv := httptest.NewServer(g)
	t.Cleanup(func() { close(g.stop); srv.Close() })
	return g, srv.URL
}

// TestFailOverBetweenGateways is the fault test of issue 11 over HTTP:
// gateway A answers 500, hangs past the send timeout, or closes the
// connection for every request; every text message still arrives through
// gateway B exactly once, A's breaker opens, every attempt is recorded with
// its class, and once A works again a half-open probe closes the breaker.
func TestFailOverBetweenGateways(t *testing.T) {
	const (
		n           = 20
		threshold   = 3
		parallel    = 4
		sendTimeout = 300 * time.Millisecond
	)
	faults := []struct {
		name      string
		fault     int32
		wantClass string
	}{
		{"500", http500, message.ClassProvider},
		{"hang", httpHang, message.ClassTimeout},
		{"close", httpClose, message.ClassConnection},
	}
	storetest.EachDatabase(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		for _, f := range faults {
			t.Run(f.name, func(t *testing.T) {
				db := open(t)
				clock := &ninsho.OffsetClock{}
				gwA, urlA := newFaultyGateway(t)
				gwB, urlB := newFaultyGateway(t)
				gwA.fault.Store(f.fault)
				sender := func(name, url string) *webhook.Sender {
					s, err := webhook.New(webhook.Config{Name: name, URL: url, Secret: testSecret,
						CallbackURL: "https://id.example.com/hooks/" + name + "/status", Clock: clock, Timeout: sendTimeout})
					if err != nil {
						t.Fatal(err)
					}
					return s
				}
				box, err := secret.NewBox(ninsho.NewSeededRandom(1), bytes.Repeat([]byte{7}, 32))
				if err != nil {
					t.Fatal(err)
				}
				templates, err := message.DefaultTemplates()
				if err != nil {
					t.Fatal(err)
				}
				outbox := message.NewOutbox(db, box, templates, clock, ninsho.NewSeededRandom(2))
				d, err := message.NewDispatcher(message.DispatcherConfig{
					Store: db, Box: box, Templates: templates, Clock: clock, Random: ninsho.NewSeededRandom(3),
					RealmSenders:     map[string]map[message.Channel][]message.Sender{"jp": {message.ChannelSMS: {sender("gw-a", urlA), sender("gw-b", urlB)}}},
					FailureThreshold: threshold, CoolOff: time.Minute, Parallel: parallel, SendTimeout: sendTimeout,
				})
				if err != nil {
					t.Fatal(err)
				}
				ctx := context.Background()
				enqueue := func() string {
					m, err := outbox.Enqueue(ctx, "jp", message.ChannelSMS, "+819012345678", message.TemplateSignupCode, "ja",
						map[string]string{"code": "482913", "name": "", "minutes": "10", "host": "id.example.com"})
					if err != nil {
						t.Fatalf("Enqueue: %v", err)
					}
					return m.ID
				}
				var ids []string
				for range n {
					ids = append(ids, enqueue())
				}
				if sent, err := d.RunOnce(ctx); err != nil || sent != n {
					t.Fatalf("RunOnce = %d, %v; want all %d sent in one round", sent, err, n)
				}
				gotB := gwB.accepted()
				for _, id := range ids {
					if gotB[id] != 1 {
						t.Errorf("message %s reached B %d times, want exactly once", id, gotB[id])
					}
				}
				if len(gotB) != n || len(gwA.accepted()) != 0 {
					t.Errorf("B accepted %d messages, A %d; want %d and 0", len(gotB), len(gwA.accepted()), n)
				}
				if st := d.BreakerState("gw-a"); st != message.BreakerOpen {
					t.Errorf("A's breaker %v, want open", st)
				}
				failedA := 0
				for _, id := range ids {
					as, err := db.Attempts(ctx, id)
					if err != nil {
						t.Fatal(err)
					}
					if last := as[len(as)-1]; last.Provider != "gw-b" || !last.OK || last.Class != "" {
						t.Errorf("%s: last attempt %+v, want gw-b ok", id, *last)
					}
					for _, at := range as[:len(as)-1] {
						failedA++
						if at.Provider != "gw-a" || at.OK || at.Class != f.wantClass || at.Duration <= 0 || strings.Contains(at.Error, "482913") {
							t.Errorf("%s: failed attempt %q ok=%v class %q error %q duration %v; want gw-a, class %q, no code",
								id, at.Provider, at.OK, at.Class, at.Error, at.Duration, f.wantClass)
						}
					}
				}
				if failedA < threshold || failedA > threshold+parallel-1 {
					t.Errorf("%d attempts went to A, want %d to %d", failedA, threshold, threshold+parallel-1)
				}

				gwA.fault.Store(httpOK)
				clock.Advance(time.Minute)
				probe := enqueue()
				if sent, err := d.RunOnce(ctx); err != nil || sent != 1 {
					t.Fatalf("probe round: RunOnce = %d, %v", sent, err)
				}
				if gwA.accepted()[probe] != 1 || d.BreakerState("gw-a") != message.BreakerClosed {
					t.Errorf("after the probe: A accepted %v, breaker %v; want the probe and closed", gwA.accepted(), d.BreakerState("gw-a"))
				}
				if len(gwB.accepted()) != n {
					t.Errorf("B got more messages after A recovered")
				}
			})
		}
	})
}
