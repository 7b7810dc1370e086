package cli_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/bench"
	"github.com/ninsho/ninsho/internal/loadgen"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/message/providers/webhook"
	"github.com/ninsho/ninsho/internal/store"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// twoGateway is a webhook gateway shared by two servers, each sending to
// its own path (/a/send, /b/send). It counts requests per message id
// (the Idempotency-Key) and which server sent them. Once hold is set, it
// takes server a's new requests in — the message counts as handed over —
// but keeps the answer back until the connection drops, so that a can be
// killed with its sends in flight.
type twoGateway struct {
	mu        sync.Mutex
	requests  map[string]int            // requests per message id
	by        map[string]map[string]int // server -> message id -> requests
	held      map[string]bool           // message ids a had in flight, answer withheld
	holdAfter int                       // hold a's requests once a has sent this many
	changed   chan struct{}
}

func newTwoGateway(holdAfter int) *twoGateway {
	return &twoGateway{requests: map[string]int{}, by: map[string]map[string]int{"a": {}, "b": {}},
		held: map[string]bool{}, holdAfter: holdAfter, changed: make(chan struct{})}
}

func (g *twoGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	server := strings.Trim(strings.TrimSuffix(r.URL.Path, "/send"), "/")
	body, _ := io.ReadAll(r.Body)
	var req webhook.Request
	if json.Unmarshal(body, &req) != nil || req.ID == "" || r.Header.Get(webhook.HeaderIdempotency) != req.ID || g.by[server] == nil {
		http.Error(w, "contract broken", http.StatusBadRequest)
		return
	}
	g.mu.Lock()
	g.requests[req.ID]++
	hold := server == "a" && len(g.by["a"]) >= g.holdAfter
	g.by[server][req.ID]++
	if hold {
		g.held[req.ID] = true
	}
	close(g.changed)
	g.changed = make(chan struct{})
	g.mu.Unlock()
	if hold {
		<-r.Context().Done() // the sender died: the answer is lost
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"id":"gw-%s"}`, req.ID)
}

func (g *twoGateway) waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	waitChanged(t, &g.mu, &g.changed, "gateway: "+what, timeout, cond)
}

// leaseBound is how long after its lease ended a message the killed server
// had claimed may wait for the survivor: its poll interval and a send.
const leaseBound = 5 * time.Second

// TestSIGKILLOneOfTwoInstances runs two `ninsho serve` processes on one
// PostgreSQL database, each delivering through a webhook to a gateway in
// the test. Messages are in the outbox before they start, and more are
// enqueued through both (sign-ups with codes); server a is killed with
// SIGKILL while its dispatcher holds claims and has sends in flight. Every
// message is delivered; each reaches the gateway once, except those a had
// handed to the gateway before dying, whose answer it never read: the
// survivor sends them again after their lease, with the same
// Idempotency-Key, so a provider that honours it delivers them once (the
// gateway counts exactly two requests each). No lease of a's outlives its
// expiry by more than leaseBound: the survivor takes the rows over.
func TestSIGKILLOneOfTwoInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs two server binaries, waits out a 30 s lease")
	}
	dbURL := storetest.PostgresURL(t) // skips without NINSHO_TEST_POSTGRES
	const preloaded, perServer = 150, 20
	ctx := context.Background()
	dir := t.TempDir()
	bin := filepath.Join(dir, "ninsho")
	if err := bench.Build(ctx, "github.com/ninsho/ninsho/cmd/ninsho", bin); err != nil {
		t.Fatal(err)
	}
	g := newTwoGateway(8)
	gw := httptest.NewServer(g)
	defer gw.Close()

	encKey := bytes.Repeat([]byte{0x6b}, 32)
	configFor := func(name string) string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		cfg := map[string]any{
			"mode": "development", "addr": addr, "data_dir": filepath.Join(dir, name), "public_url": "http://" + addr,
			"database_url": dbURL, "trusted_proxies": []string{"127.0.0.1"},
			"password": map[string]any{"memory_kib": 8192, "time": 1},
			"secrets": map[string]any{
				"hash_key":        base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x4d}, 32)),
				"encryption_keys": []string{base64.StdEncoding.EncodeToString(encKey)},
			},
			"providers": []any{map[string]any{"name": "gw", "type": "webhook",
				"webhook": map[string]any{"url": gw.URL + "/" + name + "/send", "secret": "kill-test-secret-0123456789"}}},
			"realms": []any{map[string]any{"id": "jp", "name": "Example", "hosts": []string{"127.0.0.1"}, "default_locale": "ja",
				"phone_region": "JP", "identifier_disclosure": "explicit", "providers": map[string]any{"email": []string{"gw"}, "sms": []string{"gw"}}}},
		}
		p := filepath.Join(dir, name+".json")
		b, _ := json.Marshal(cfg)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NINSHO_") {
			env = append(env, kv)
		}
	}
	start := func(name string) *bench.Process {
		p, err := bench.Start(ctx, bin, []string{"serve", "--config", configFor(name)}, env, filepath.Join(dir, name+".log"), "running at", "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	// a starts first on a full outbox: its first batch is claimed whole,
	// 8 are sent, and the next ones are held in flight.
	db, err := store.Open(ctx, store.Options{URL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	enqueueInto(t, db, encKey, "pre", preloaded)
	a := start("a")
	defer a.Stop()
	g.waitFor(t, "a's sends in flight", 30*time.Second, func() bool { return len(g.held) == message.DefaultParallel })
	b := start("b")
	defer b.Stop()

	// More messages, enqueued through both servers: sign-ups, each with
	// its code e-mail.
	var wg sync.WaitGroup
	for i, p := range []*bench.Process{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hc := loadgen.NewClientFrom(8, 10*time.Second, uint32(3+i)<<16)
			for j := range perServer {
				body, _ := json.Marshal(map[string]string{"identifier": fmt.Sprintf("kill%d-%02d@example.com", i, j),
					"password": "Kasumi-Yamabuki-Hotaru-42", "name": "Kill Test", "locale": "en"})
				req, _ := http.NewRequest("POST", p.URL+"/api/v1/signup", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				res, err := hc.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				res.Body.Close()
				if res.StatusCode != http.StatusCreated {
					t.Errorf("sign-up through %d: %d", i, res.StatusCode)
				}
			}
		}()
	}
	wg.Wait()

	// a's claims at the moment it dies.
	sqldb, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer sqldb.Close()
	owner := fmt.Sprintf("%%/%d/%%", a.PID())
	leases := map[string]time.Time{}
	rows, err := sqldb.Query(`SELECT id, lease_until FROM message WHERE status = 'pending' AND lease_owner LIKE $1`, owner)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		var until int64
		if err := rows.Scan(&id, &until); err != nil {
			t.Fatal(err)
		}
		leases[id] = time.UnixMicro(until)
	}
	rows.Close()
	if err := syscall.Kill(a.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	_ = a.Stop() // reaps it
	g.mu.Lock()
	held := len(g.held)
	g.mu.Unlock()
	t.Logf("a killed holding %d claims, %d of them sent to the gateway without an answer", len(leases), held)
	if len(leases) == 0 || held == 0 {
		t.Fatalf("a held no claims when it was killed (%d leases, %d in flight)", len(leases), held)
	}

	var ids []string
	idRows, err := sqldb.Query(`SELECT id FROM message`)
	if err != nil {
		t.Fatal(err)
	}
	for idRows.Next() {
		var id string
		idRows.Scan(&id)
		ids = append(ids, id)
	}
	idRows.Close()
	if want := preloaded + 2*perServer; len(ids) != want {
		t.Errorf("%d messages in the outbox, want %d", len(ids), want)
	}
	g.waitFor(t, "every message delivered", message.DefaultLease+30*time.Second, func() bool {
		for _, id := range ids {
			if g.requests[id] == 0 {
				return false
			}
		}
		return true
	})
	t.Logf("every message reached the gateway %v after the kill", time.Since(killed).Round(100*time.Millisecond))
	waitUntil(t, "every message recorded as sent", 20*time.Second, func() bool {
		var n int
		return sqldb.QueryRow(`SELECT count(*) FROM message WHERE status <> 'sent'`).Scan(&n) == nil && n == 0
	})

	g.mu.Lock()
	defer g.mu.Unlock()
	dups := 0
	for _, id := range ids {
		n := g.requests[id]
		switch {
		case g.held[id] && n != 2:
			t.Errorf("message %s, handed over by a before it died, reached the gateway %d times, want 2", id, n)
		case !g.held[id] && n != 1:
			t.Errorf("message %s reached the gateway %d times, want once", id, n)
		}
		if n > 1 {
			dups++
		}
	}
	// Each lease a held ended, and b took the row over soon after.
	for id, until := range leases {
		var sentAt int64
		if err := sqldb.QueryRow(`SELECT sent_at FROM message WHERE id = $1`, id).Scan(&sentAt); err != nil {
			t.Fatal(err)
		}
		sent := time.UnixMicro(sentAt)
		if sent.Before(until) || sent.After(until.Add(leaseBound)) {
			t.Errorf("message %s claimed by a until %v was sent at %v: want after the lease and within %v", id, until.Format(time.StampMilli), sent.Format(time.StampMilli), leaseBound)
		}
		if g.by["b"][id] == 0 {
			t.Errorf("message %s claimed by a was not taken over by b", id)
		}
	}
	t.Logf("%d messages: %d reached the gateway twice (handed over by a before SIGKILL), the others once; a's %d leases taken over by b after they ended",
		len(ids), dups, len(leases))
}
