package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/config"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/org"
	"github.com/ninsho/ninsho/internal/realmset"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// multiUA is a person's browser: the risk engine holds HTTP libraries
// behind a CAPTCHA at once, which would hide the sequence under test.
const multiUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0 Safari/537.36"

// clientAddrHeader carries the address a test client pretends to connect
// from; the proxy turns it into X-Forwarded-For, as a load balancer does
// with the client's connection address.
const clientAddrHeader = "X-Test-Client-Addr"

// cluster is n instances on one database behind a round-robin reverse
// proxy, sharing secrets and one stopped clock (so that no cache lifetime,
// lease or window passes unless the test moves it).
type cluster struct {
	t     *testing.T
	apps  []*App
	clock *ninsho.ManualClock
	proxy *httptest.Server
	http  *http.Client

	mu        sync.Mutex
	delivered map[string]int // outbox id → deliveries
	by        map[int]int    // instance → deliveries
}

// startCluster starts n development instances on databaseURL (a fresh
// schema) behind the proxy. No instance polls the realm settings on a
// timer (RealmTick never fires): a realm change can reach them only by
// notice.
func startCluster(t *testing.T, n int, databaseURL string) *cluster {
	t.Helper()
	c := &cluster{t: t, clock: ninsho.NewManualClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)),
		http: &http.Client{Timeout: 20 * time.Second}, delivered: map[string]int{}, by: map[int]int{}}
	key := func() config.Secret {
		b := make([]byte, 32)
		rand.Read(b)
		return config.Secret(base64.StdEncoding.EncodeToString(b))
	}
	hashKey, encKey := key(), key()
	never := make(chan time.Time)
	var targets []*url.URL
	for i := range n {
		cfg := config.Default()
		cfg.Addr, cfg.DataDir, cfg.DatabaseURL = "127.0.0.1:0", t.TempDir(), config.Secret(databaseURL)
		cfg.Password.MemoryKiB, cfg.Password.Time = 8192, 1
		cfg.Secrets.HashKey, cfg.Secrets.EncryptionKeys = hashKey, []config.Secret{encKey}
		cfg.TrustedProxies = []string{"127.0.0.1/32"}
		a, err := NewApp(context.Background(), cfg, Options{LogOutput: io.Discard, Clock: c.clock, RealmTick: never,
			Delivered: func(m *message.Outgoing) { c.record(i, m) }})
		if err != nil {
			t.Fatalf("NewApp: %v", err)
		}
		if err := a.Start(); err != nil {
			t.Fatalf("Start: %v", err)
		}
		t.Cleanup(func() { a.Close() })
		c.apps = append(c.apps, a)
		u, _ := url.Parse(a.URL())
		targets = append(targets, u)
	}
	var next atomic.Uint64
	c.proxy = httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(targets[(next.Add(1)-1)%uint64(len(targets))])
		r.Out.Header.Set("X-Forwarded-For", r.In.Header.Get(clientAddrHeader))
		r.Out.Header.Del(clientAddrHeader)
	}})
	t.Cleanup(c.proxy.Close)
	if l := c.apps[0].listener; l != nil {
		for _, a := range c.apps {
			waitUntil(t, "every instance listening for notices", func() bool { return a.listener.PID() != 0 })
		}
	}
	return c
}

func (c *cluster) record(instance int, m *message.Outgoing) {
	c.mu.Lock()
	c.delivered[m.ID]++
	c.by[instance]++
	c.mu.Unlock()
}

// waitUntil polls cond until it holds, failing after a deadline.
func waitUntil(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// answer is what a test reads of a JSON answer: a flow or a problem.
type answer struct {
	ID     string          `json:"id"`
	Status json.RawMessage `json:"status"` // a flow's status, a problem's HTTP status
	Code   string          `json:"code"`   // a problem's
	Next   *struct {
		Step    string `json:"step"`
		Captcha *struct {
			ID string `json:"id"`
		} `json:"captcha"`
	} `json:"next"`
	Errors []struct {
		Code string `json:"code"`
	} `json:"errors"`
	Session *struct {
		Token string `json:"token"`
	} `json:"session"`
	DeviceToken string `json:"device_token"`
	Answer      string `json:"answer"` // the development CAPTCHA answer
	Messages    []struct {
		Code string `json:"code"`
	} `json:"messages"`
	Organisations []struct {
		ID string `json:"id"`
	} `json:"organisations"` // GET /api/v1/me's
}

// String is the answer as a script compares it: status, codes, next step.
func (a answer) transcript(status int) string {
	codes := []string{}
	if a.Code != "" {
		codes = append(codes, a.Code)
	}
	for _, e := range a.Errors {
		codes = append(codes, e.Code)
	}
	step := ""
	if a.Next != nil {
		step = a.Next.Step
	}
	return fmt.Sprintf("%d %s %s %s", status, strings.Trim(string(a.Status), `"`), strings.Join(codes, ","), step)
}

// call sends a JSON request to base (an instance or the proxy) as a client
// at addr.
func (c *cluster) call(base, method, path, token, addr string, body any) (int, answer) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("User-Agent", multiUA)
	req.Header.Set(clientAddrHeader, addr)
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var a answer
	if len(raw) > 0 && strings.Contains(res.Header.Get("Content-Type"), "json") {
		if err := json.Unmarshal(raw, &a); err != nil {
			c.t.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	return res.StatusCode, a
}

// signUp makes an active account through base and returns the session
// token and the device token of the device that completed the sign-up.
func (c *cluster) signUp(base, email, password, addr string) (session, device string) {
	c.t.Helper()
	status, f := c.call(base, "POST", "/api/v1/signup", "", addr, map[string]string{
		"identifier": email, "password": password, "name": "Test Person", "locale": "en"})
	if status != http.StatusCreated || f.ID == "" {
		c.t.Fatalf("sign-up %s: %s", email, f.transcript(status))
	}
	var code string
	waitUntil(c.t, "the sign-up code of "+email, func() bool {
		_, in := c.call(base, "GET", "/dev/api/messages?to="+url.QueryEscape(email), "", addr, nil)
		if len(in.Messages) > 0 {
			code = in.Messages[0].Code
		}
		return code != ""
	})
	status, done := c.call(base, "POST", "/api/v1/flows/"+f.ID, "", addr, map[string]string{"action": "submit_code", "code": code})
	if status != http.StatusOK || done.Session == nil {
		c.t.Fatalf("sign-up code of %s: %s", email, done.transcript(status))
	}
	return done.Session.Token, f.DeviceToken
}

// stuffing is a credential-stuffing run: wrong passwords for three
// accounts from six addresses, each from a new device, with the CAPTCHAs
// solved as a solving service would, until the accounts lock; then each
// owner tries the right password from a new device and from the device
// that signed up. It returns every answer in order and the accounts' lock
// state (kind, ladder level, until — relative to the stopped clock).
func (c *cluster) stuffing(base string) (transcript []string, locks []string) {
	c.t.Helper()
	const pw = "the-owners-own-42"
	emails := []string{"aiko@example.jp", "ben@example.jp", "chie@example.jp"}
	devices := make([]string, len(emails))
	for i, e := range emails {
		_, devices[i] = c.signUp(base, e, pw, fmt.Sprintf("192.0.2.%d", 10+i))
	}
	addrs := []string{"198.51.100.1", "198.51.100.2", "203.0.113.7", "203.0.113.8", "198.51.100.77", "203.0.113.99"}
	say := func(what string, status int, a answer) {
		transcript = append(transcript, what+" → "+a.transcript(status))
	}
	for i := range 42 {
		email, addr := emails[i%len(emails)], addrs[i%len(addrs)]
		status, f := c.call(base, "POST", "/api/v1/signin", "", addr, map[string]string{"identifier": email, "password": fmt.Sprintf("guess-%d", i)})
		say(fmt.Sprintf("%02d %s wrong", i, email), status, f)
		if f.Next == nil || f.Next.Step != "captcha" || f.Next.Captcha == nil {
			continue
		}
		_, sol := c.call(base, "GET", "/dev/api/captcha/"+f.Next.Captcha.ID, "", addr, nil)
		status, f = c.call(base, "POST", "/api/v1/flows/"+f.ID, "", addr, map[string]string{"action": "submit_captcha", "answer": sol.Answer})
		say(fmt.Sprintf("%02d %s captcha", i, email), status, f)
		if f.Next != nil && f.Next.Step == "password" {
			status, f = c.call(base, "POST", "/api/v1/flows/"+f.ID, "", addr, map[string]string{"action": "submit_password", "password": fmt.Sprintf("guess-%d", i)})
			say(fmt.Sprintf("%02d %s wrong after captcha", i, email), status, f)
		}
	}
	// A minute later the first lock has ended: the same run again climbs
	// the lock ladder.
	c.clock.Advance(61 * time.Second)
	for i := range 33 {
		email, addr := emails[i%len(emails)], addrs[(i+1)%len(addrs)]
		status, f := c.call(base, "POST", "/api/v1/signin", "", addr, map[string]string{"identifier": email, "password": fmt.Sprintf("again-%d", i)})
		say(fmt.Sprintf("%02d %s wrong, later", i, email), status, f)
		if f.Next == nil || f.Next.Step != "captcha" || f.Next.Captcha == nil {
			continue
		}
		_, sol := c.call(base, "GET", "/dev/api/captcha/"+f.Next.Captcha.ID, "", addr, nil)
		status, f = c.call(base, "POST", "/api/v1/flows/"+f.ID, "", addr, map[string]string{"action": "submit_captcha", "answer": sol.Answer})
		say(fmt.Sprintf("%02d %s captcha, later", i, email), status, f)
		if f.Next != nil && f.Next.Step == "password" {
			status, f = c.call(base, "POST", "/api/v1/flows/"+f.ID, "", addr, map[string]string{"action": "submit_password", "password": fmt.Sprintf("again-%d", i)})
			say(fmt.Sprintf("%02d %s wrong after captcha, later", i, email), status, f)
		}
	}
	for i, email := range emails {
		status, f := c.call(base, "POST", "/api/v1/signin", "", "198.51.100.200", map[string]string{"identifier": email, "password": pw})
		say(email+" owner, new device", status, f)
		status, f = c.call(base, "POST", "/api/v1/signin", "", fmt.Sprintf("192.0.2.%d", 10+i), map[string]string{"identifier": email, "password": pw, "device_token": devices[i]})
		say(email+" owner, own device", status, f)
	}
	for _, email := range emails {
		a, err := c.apps[0].DB.AccountByEmail(context.Background(), "default", email)
		if err != nil {
			c.t.Fatal(err)
		}
		until := "-"
		if a.Lock.Until != nil {
			until = a.Lock.Until.Sub(c.clock.Now()).String()
		}
		locks = append(locks, fmt.Sprintf("%s: %s level %d until +%s failures %d status %s", email, a.Lock.Kind, a.Lock.Level, until, a.FailedUnfamiliar, a.Status))
	}
	return transcript, locks
}

// TestSeveralInstancesBehaveAsOne: three instances on one PostgreSQL
// behind a round-robin proxy (issue 16).
func TestSeveralInstancesBehaveAsOne(t *testing.T) {
	single := startCluster(t, 1, storetest.PostgresURL(t))
	three := startCluster(t, 3, storetest.PostgresURL(t))
	ctx := context.Background()

	t.Run("credential stuffing locks as on one instance", func(t *testing.T) {
		single.t, three.t = t, t
		want, wantLocks := single.stuffing(single.proxy.URL)
		got, gotLocks := three.stuffing(three.proxy.URL)
		if !slices.Equal(got, want) {
			t.Errorf("answers across three instances differ from one instance's:\n%s", diffLines(want, got))
		}
		if !slices.Equal(gotLocks, wantLocks) {
			t.Errorf("locks across three instances:\n%s\nwant as on one instance:\n%s", strings.Join(gotLocks, "\n"), strings.Join(wantLocks, "\n"))
		}
		joined := strings.Join(want, "\n")
		for _, code := range []string{"password_incorrect", "captcha", "account_locked"} {
			if !strings.Contains(joined, code) {
				t.Errorf("the script never met %s; it proves too little:\n%s", code, joined)
			}
		}
		t.Logf("the run, identical on one and on three instances (%d answers):\n%s\nlocks:\n%s", len(want), joined, strings.Join(wantLocks, "\n"))
	})

	t.Run("1000 messages across instances are delivered once each", func(t *testing.T) {
		three.t = t
		const total = 1000
		attemptsBefore := storetest.MustRowCounts(t, three.apps[0].DB)["delivery_attempt"]
		three.mu.Lock()
		clear(three.by)
		three.mu.Unlock()
		ids := make(chan string, total)
		var wg sync.WaitGroup
		for i, a := range three.apps {
			wg.Go(func() {
				for j := i; j < total; j += len(three.apps) {
					err := a.DB.InTx(ctx, func(ctx context.Context) error {
						m, err := a.kit.Outbox.Enqueue(ctx, "default", message.ChannelEmail, fmt.Sprintf("m%04d@example.jp", j),
							"signup_code", "en", map[string]string{"name": "Test", "code": "123456", "minutes": "10", "host": "id.example.jp"})
						if err == nil {
							ids <- m.ID
						}
						return err
					})
					if err != nil {
						t.Errorf("enqueue %d: %v", j, err)
						return
					}
					a.kit.Outbox.Wake()
				}
			})
		}
		wg.Wait()
		close(ids)
		want := map[string]bool{}
		for id := range ids {
			want[id] = true
		}
		if len(want) != total {
			t.Fatalf("enqueued %d distinct messages, want %d", len(want), total)
		}
		count := func() int {
			three.mu.Lock()
			defer three.mu.Unlock()
			n := 0
			for id := range want {
				if three.delivered[id] > 0 {
					n++
				}
			}
			return n
		}
		waitUntil(t, "every message delivered", func() bool { return count() == total })
		// Let every dispatcher look once more: a second claim would show now.
		for _, a := range three.apps {
			if _, err := a.dispatcher.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
		}
		three.mu.Lock()
		for id := range want {
			if n := three.delivered[id]; n != 1 {
				t.Errorf("message %s delivered %d times", id, n)
			}
		}
		t.Logf("deliveries by instance: %v", three.by)
		three.mu.Unlock()
		// The attempt is recorded after the provider took the message.
		attempts := func() int { return storetest.MustRowCounts(t, three.apps[0].DB)["delivery_attempt"] - attemptsBefore }
		waitUntil(t, "every delivery attempt recorded", func() bool { return attempts() >= total })
		if n := attempts(); n != total {
			t.Errorf("%d delivery attempts recorded for %d messages, want one each", n, total)
		}
	})

	t.Run("a session is valid everywhere and its revocation seen by all", func(t *testing.T) {
		three.t = t
		token, _ := three.signUp(three.apps[0].URL(), "dai@example.jp", "kumo-no-ue-42", "192.0.2.50")
		for i, a := range three.apps {
			if status, me := three.call(a.URL(), "GET", "/api/v1/me", token, "192.0.2.50", nil); status != http.StatusOK {
				t.Fatalf("instance %d refused a session made on instance 0: %s", i, me.transcript(status))
			}
		}
		// Every instance has it cached now, and the clock stands still: only
		// a notice can make instances 1 and 2 refuse it.
		start := time.Now()
		if status, f := three.call(three.apps[0].URL(), "POST", "/api/v1/signout", token, "192.0.2.50", nil); status != http.StatusNoContent {
			t.Fatalf("sign-out on instance 0: %s", f.transcript(status))
		}
		if status, _ := three.call(three.apps[0].URL(), "GET", "/api/v1/me", token, "192.0.2.50", nil); status != http.StatusUnauthorized {
			t.Errorf("instance 0 still accepts the session it revoked: %d", status)
		}
		var worst time.Duration
		for i, a := range three.apps[1:] {
			waitUntil(t, fmt.Sprintf("instance %d to refuse the revoked session", i+1), func() bool {
				status, _ := three.call(a.URL(), "GET", "/api/v1/me", token, "192.0.2.50", nil)
				return status == http.StatusUnauthorized
			})
			worst = max(worst, time.Since(start))
		}
		if limit := signin.SessionCacheTTL + 250*time.Millisecond; worst > limit {
			t.Errorf("the revocation reached every instance after %v, want at most %v", worst, limit)
		}
		t.Logf("revocation seen by every instance %v after the sign-out answered (documented: at most SessionCacheTTL = %v)", worst, signin.SessionCacheTTL)
	})

	t.Run("a new organisation is in /me on every instance", func(t *testing.T) {
		three.t = t
		token, _ := three.signUp(three.apps[0].URL(), "eri@example.jp", "kumo-no-ue-43", "192.0.2.51")
		for i, a := range three.apps {
			// Every instance remembers "no organisations" now.
			if status, me := three.call(a.URL(), "GET", "/api/v1/me", token, "192.0.2.51", nil); status != http.StatusOK || len(me.Organisations) != 0 {
				t.Fatalf("instance %d: /me before: %s with %d organisations", i, me.transcript(status), len(me.Organisations))
			}
		}
		start := time.Now()
		status, o := three.call(three.apps[1].URL(), "POST", "/api/v1/orgs", token, "192.0.2.51", map[string]string{"kind": "seller", "name": "Kumo Shop"})
		if status != http.StatusCreated || o.ID == "" {
			t.Fatalf("create an organisation on instance 1: %s", o.transcript(status))
		}
		if _, me := three.call(three.apps[1].URL(), "GET", "/api/v1/me", token, "192.0.2.51", nil); len(me.Organisations) != 1 {
			t.Errorf("instance 1 does not show the organisation it just created: %d organisations", len(me.Organisations))
		}
		// The clock stands still: only a notice can refresh instances 0 and 2.
		var worst time.Duration
		for _, i := range []int{0, 2} {
			waitUntil(t, fmt.Sprintf("instance %d to show the organisation", i), func() bool {
				_, me := three.call(three.apps[i].URL(), "GET", "/api/v1/me", token, "192.0.2.51", nil)
				return len(me.Organisations) == 1 && me.Organisations[0].ID == o.ID
			})
			worst = max(worst, time.Since(start))
		}
		if limit := org.MineTTL + 250*time.Millisecond; worst > limit {
			t.Errorf("the new organisation reached every instance after %v, want at most %v", worst, limit)
		}
		t.Logf("new organisation in /me on every instance %v after it was created (documented: at most %v)", worst, org.MineTTL)
	})

	t.Run("a realm change is seen by all", func(t *testing.T) {
		start := time.Now()
		if _, err := three.apps[2].RealmSettings.Set(ctx, realmset.Who{Name: "test"}, "default",
			realmset.Change{Assign: []realmset.Assignment{{Key: "name", Value: json.RawMessage(`"Renamed Shop"`)}}}); err != nil {
			t.Fatal(err)
		}
		var worst time.Duration
		for i, a := range three.apps {
			waitUntil(t, fmt.Sprintf("instance %d to serve the renamed realm", i), func() bool {
				return a.Realms.ByID("default").Name == "Renamed Shop"
			})
			worst = max(worst, time.Since(start))
		}
		if limit := config.DefaultRealmRefresh; worst > limit {
			t.Errorf("the realm change reached every instance after %v, want at most realm_refresh %v", worst, limit)
		}
		t.Logf("realm change seen by every instance %v after it was committed (no instance polled: realm_refresh never ticked)", worst)
	})

	t.Run("housekeeping runs on one instance per period", func(t *testing.T) {
		ran := 0
		for _, a := range three.apps {
			if a.housekeep(ctx) {
				ran++
			}
		}
		if ran != 1 {
			t.Errorf("%d instances did this period's housekeeping, want 1", ran)
		}
	})
}

// diffLines shows two transcripts side by side from their first
// difference.
func diffLines(want, got []string) string {
	var b strings.Builder
	for i := 0; i < max(len(want), len(got)); i++ {
		w, g := "", ""
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		mark := "  "
		if w != g {
			mark = "≠ "
		}
		fmt.Fprintf(&b, "%s%-70s | %s\n", mark, w, g)
	}
	return b.String()
}
