package cli_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/bench"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/message/providers/webhook"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/secret"
	"github.com/ninsho/ninsho/internal/store"
)

// crashGateway is a webhook gateway that honours the Idempotency-Key: it
// checks every request's signature, counts raw requests per key, and
// accepts (delivers to the person) a key only the first time. Once hold
// is set it takes each new request in — delivering it — but keeps the
// answer back until the connection drops, so that the server can be
// killed with a batch in flight whose messages the gateway has already
// delivered.
type crashGateway struct {
	t      *testing.T
	secret []byte

	mu        sync.Mutex
	raw       int
	requests  map[string]int // raw requests per Idempotency-Key
	delivered []string       // keys in the order first accepted
	held      map[string]bool
	holdAfter int // hold new requests once this many keys are delivered
	holding   bool
	changed   chan struct{} // closed and replaced at every request
}

func (g *crashGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	ts := r.Header.Get(webhook.HeaderTimestamp)
	mac := hmac.New(sha256.New, g.secret)
	mac.Write([]byte(ts + "." + string(body)))
	var req webhook.Request
	if err != nil || r.Header.Get(webhook.HeaderSignature) != "v1="+hex.EncodeToString(mac.Sum(nil)) ||
		json.Unmarshal(body, &req) != nil || req.ID == "" || r.Header.Get(webhook.HeaderIdempotency) != req.ID {
		g.t.Errorf("gateway: a request breaks the contract")
		http.Error(w, "contract broken", http.StatusBadRequest)
		return
	}
	g.mu.Lock()
	g.raw++
	g.requests[req.ID]++
	if g.requests[req.ID] == 1 {
		g.delivered = append(g.delivered, req.ID)
	}
	hold := g.holding && len(g.delivered) > g.holdAfter
	if hold {
		g.held[req.ID] = true
	}
	close(g.changed)
	g.changed = make(chan struct{})
	g.mu.Unlock()
	if hold {
		<-r.Context().Done() // the server was killed: the answer is lost
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"id":"gw-%s"}`, req.ID)
}

// waitFor waits until cond, called with the gateway locked, holds.
func (g *crashGateway) waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	waitChanged(t, &g.mu, &g.changed, "gateway: "+what, timeout, cond)
}

// waitChanged waits until cond, called with mu held, holds. *changed is a
// channel closed (and replaced, under mu) at every change cond may see.
func waitChanged(t *testing.T, mu *sync.Mutex, changed *chan struct{}, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		mu.Lock()
		ok, next := cond(), *changed
		mu.Unlock()
		if ok {
			return
		}
		select {
		case <-next:
		case <-deadline.C:
			t.Fatalf("%s did not happen within %v", what, timeout)
		}
	}
}

// TestSIGKILLWhileDispatching is the crash test of issue 11: the real
// `ninsho serve` is killed with SIGKILL while a batch is being dispatched
// through a webhook provider; after a restart on the same data every message
// is delivered and none twice, counted at the gateway. The messages whose
// answers the kill cut off come back after their lease (30 s) and reach the
// gateway a second time with the same Idempotency-Key, which the gateway
// absorbs.
func TestSIGKILLWhileDispatching(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary, waits out a 30 s lease")
	}
	const total = 200
	ctx := context.Background()
	dir := t.TempDir()
	bin, data := filepath.Join(dir, "ninsho"), filepath.Join(dir, "data")
	if err := bench.Build(ctx, "github.com/ninsho/ninsho/cmd/ninsho", bin); err != nil {
		t.Fatal(err)
	}
	gwSecret := "crash-test-secret-0123456789"
	g := &crashGateway{t: t, secret: []byte(gwSecret), requests: map[string]int{}, held: map[string]bool{},
		holdAfter: 40, holding: true, changed: make(chan struct{})}
	gw := httptest.NewServer(g)
	defer gw.Close()

	// A fixed port, so that callback_url names the server in both runs.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	encKey := bytes.Repeat([]byte{0x5a}, 32)
	cfg := map[string]any{
		"mode": "development", "addr": addr, "data_dir": data, "public_url": "http://" + addr,
		"secrets": map[string]any{
			"hash_key":        base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x3c}, 32)),
			"encryption_keys": []string{base64.StdEncoding.EncodeToString(encKey)},
		},
		"providers": []any{map[string]any{"name": "gw", "type": "webhook", "webhook": map[string]any{"url": gw.URL + "/send", "secret": gwSecret}}},
		"realms": []any{map[string]any{"id": "jp", "name": "Example", "hosts": []string{"127.0.0.1"}, "default_locale": "ja",
			"phone_region": "JP", "identifier_disclosure": "explicit", "providers": map[string]any{"email": []string{"gw"}, "sms": []string{"gw"}}}},
	}
	cfgPath := filepath.Join(dir, "ninsho.json")
	b, _ := json.Marshal(cfg)
	if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
		t.Fatal(err)
	}

	// The messages are in the outbox before the server starts, written as
	// the server would write them (sealed under its key).
	ids := enqueueMessages(t, data, encKey, total)

	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NINSHO_") {
			env = append(env, kv)
		}
	}
	args := []string{"serve", "--config", cfgPath}
	p, err := bench.Start(ctx, bin, args, env, filepath.Join(dir, "first.log"), "running at", "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	parallel := message.DefaultParallel
	g.waitFor(t, "a batch in flight", 30*time.Second, func() bool { return len(g.held) == parallel })
	if err := syscall.Kill(p.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.Stop() // reaps the killed process
	g.mu.Lock()
	deliveredBefore, held := len(g.delivered), len(g.held)
	g.holding = false
	g.mu.Unlock()
	t.Logf("killed with %d of %d messages delivered, %d requests in flight", deliveredBefore, total, held)
	if deliveredBefore >= total {
		t.Fatalf("every message was delivered before the kill")
	}

	start := time.Now()
	p, err = bench.Start(ctx, bin, args, env, filepath.Join(dir, "second.log"), "running at", "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	g.waitFor(t, "every message delivered", 60*time.Second, func() bool { return len(g.delivered) == total })
	t.Logf("after the restart, the last message arrived in %v (the lease of the killed batch is %v)",
		time.Since(start).Round(100*time.Millisecond), message.DefaultLease)

	// The server's outbox has no pending message left; every message is
	// sent through gw.
	db, err := store.Open(ctx, store.Options{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, err := db.OutboxBacklog(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if b.Pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages still pending", b.Pending)
		}
		time.Sleep(20 * time.Millisecond) // polling another process's progress
	}
	for _, id := range ids {
		m, err := db.Message(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if m.Status != message.StatusSent || m.Provider != "gw" || m.ProviderMessageID != "gw-"+id {
			t.Errorf("message %s: %s through %q (%q), want sent through gw", id, m.Status, m.Provider, m.ProviderMessageID)
		}
	}

	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.delivered) != total {
		t.Errorf("the gateway delivered %d distinct messages, want %d", len(g.delivered), total)
	}
	for _, id := range ids {
		n := g.requests[id]
		switch {
		case n == 0:
			t.Errorf("message %s never reached the gateway", id)
		case g.held[id] && n != 2:
			t.Errorf("message %s, in flight at the kill, reached the gateway %d times, want 2 (once after the restart)", id, n)
		case !g.held[id] && n != 1:
			t.Errorf("message %s reached the gateway %d times, want once", id, n)
		}
	}
	if g.raw != total+held {
		t.Errorf("%d raw requests, want %d messages + %d retried after the crash", g.raw, total, held)
	}
	t.Logf("%d messages, %d distinct deliveries, %d raw requests: %d retries after the crash absorbed by the Idempotency-Key",
		total, len(g.delivered), g.raw, g.raw-len(g.delivered))

	// The running server takes the gateway's signed callbacks at the
	// callback_url it sent, and refuses a forged one.
	cb := func(id, status, secret string) int {
		body := []byte(`{"id":"` + id + `","status":"` + status + `"}`)
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		req, _ := http.NewRequest("POST", "http://"+addr+"/hooks/gw/status", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(webhook.HeaderTimestamp, ts)
		req.Header.Set(webhook.HeaderSignature, webhook.Sign([]byte(secret), ts, body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := cb(ids[0], "delivered", gwSecret); code != http.StatusNoContent {
		t.Errorf("signed callback: %d, want 204", code)
	}
	if code := cb(ids[1], "undelivered", "forged-secret-0123456789"); code != http.StatusUnauthorized {
		t.Errorf("forged callback: %d, want 401", code)
	}
	for id, want := range map[string]message.DeliveryStatus{ids[0]: message.DeliveryDelivered, ids[1]: message.DeliverySent} {
		if d, err := db.Delivery(ctx, id); err != nil || d.Status != want {
			t.Errorf("message %s: %s, %v; want %s", id, d.Status, err, want)
		}
	}
}

// enqueueMessages writes n sign-up code e-mails of realm jp to the outbox of
// the SQLite database in data, sealed under encKey, and returns their ids.
func enqueueMessages(t *testing.T, data string, encKey []byte, n int) []string {
	t.Helper()
	db, err := store.Open(context.Background(), store.Options{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	return enqueueInto(t, db, encKey, "user", n)
}

// enqueueInto writes n sign-up code e-mails of realm jp, to
// <prefix>NNN@example.jp, to db's outbox, sealed under encKey, as a server
// would, and returns their ids.
func enqueueInto(t *testing.T, db *store.DB, encKey []byte, prefix string, n int) []string {
	t.Helper()
	ctx := context.Background()
	box, err := secret.NewBox(ninsho.SecureRandom, encKey)
	if err != nil {
		t.Fatal(err)
	}
	templates, err := message.DefaultTemplates()
	if err != nil {
		t.Fatal(err)
	}
	outbox := message.NewOutbox(db, box, templates, ninsho.SystemClock{}, ninsho.SecureRandom)
	ids := make([]string, 0, n)
	err = db.InTx(ctx, func(ctx context.Context) error {
		for i := range n {
			m, err := outbox.Enqueue(ctx, "jp", message.ChannelEmail, fmt.Sprintf("%s%03d@example.jp", prefix, i), message.TemplateSignupCode, "ja",
				map[string]string{"code": fmt.Sprintf("%06d", 100000+i), "name": "山田 太郎", "minutes": "10", "host": "127.0.0.1"})
			if err != nil {
				return err
			}
			ids = append(ids, m.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}
