package cli_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/config"
	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/loadgen"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// Bounds of the PostgreSQL restart test.
const (
	// outageAnswerBound: no answer takes longer while the database is
	// down (a refused connection is answered at once; nothing hangs).
	outageAnswerBound = 5 * time.Second
	// recoveryBound: after the database accepts connections again, every
	// kind of request succeeds again within it, without a restart of
	// Ninsho (database/sql drops the dead connections and dials new ones).
	recoveryBound = 10 * time.Second
	// downFor is how long the database stays down.
	downFor = 2 * time.Second
)

// TestPostgresRestartMidLoad stops a PostgreSQL server of the test's own
// (fast shutdown) under steady load — sign-ups with their codes, sign-ins,
// session checks — keeps it down for downFor and starts it again. While it
// is down every answer is 503 unavailable with Retry-After and a catalogue
// body, within outageAnswerBound (a session check may still be answered
// from the one-second principal cache); /readyz says not ready; after the
// restart every kind of request succeeds again within recoveryBound, and
// the rows show nothing half-written.
func TestPostgresRestartMidLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL server of its own")
	}
	if os.Getenv(storetest.PostgresEnv) == "" {
		t.Skipf("%s is not set; skipping PostgreSQL", storetest.PostgresEnv)
	}
	pg := newPGCluster(t)
	_, _ = pg.start()
	pg.mustExec("postgres", "CREATE DATABASE ninsho")
	app := startAppWith(t, func(c *config.Config) {
		c.DatabaseURL = config.Secret(pg.url("ninsho"))
		c.TrustedProxies = []string{"127.0.0.1"}
	})
	base := app.URL()
	hc := loadgen.NewClientFrom(64, 10*time.Second, 1<<16)
	api := &loadgen.API{Client: hc, URL: base}
	ctx := context.Background()
	var seeded []loadgen.Account
	for i := range 4 {
		a, err := api.Signup(ctx, fmt.Sprintf("seed%d@example.com", i), fmt.Sprintf("Kaede-Hoshizora-%d", 7919*i+104729), "Fault Seed")
		if err != nil {
			t.Fatal(err)
		}
		seeded = append(seeded, a)
	}

	rec := &answers{}
	var stop atomic.Bool
	var wg sync.WaitGroup
	ops := []string{"signup", "signup_code", "signin", "session"}
	for w := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The fifth worker only signs in and checks its session: the
			// others may all be polling the inbox for a sign-up code (which
			// reads no database) for as long as the outage lasts.
			runFaultLoad(base, hc, rec, &stop, w, seeded[w%4], w < 4)
		}()
	}
	defer func() { stop.Store(true); wg.Wait() }()

	waitUntil(t, "every kind of request succeeds before the outage", 60*time.Second, func() bool {
		return rec.okSince(time.Time{}, 3, ops...)
	})

	// The outage.
	tStop := time.Now()
	pg.stop(syscall.SIGINT)
	tDown := time.Now()
	t.Logf("fast shutdown took %v", tDown.Sub(tStop).Round(time.Millisecond))
	if code := getStatus(t, hc, base+"/readyz", nil); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz while the database is down: %d, want 503", code)
	}
	page := pageDuringOutage(t, hc, base, seeded[0].SessionToken)
	<-time.After(downFor) // the outage lasts this long: the load meets it
	tLaunch, tUp := pg.start()
	t.Logf("down for %v; the restarted server took %v to accept connections", tLaunch.Sub(tDown).Round(time.Millisecond), tUp.Sub(tLaunch).Round(time.Millisecond))

	waitUntil(t, "every kind of request succeeds again", recoveryBound, func() bool {
		return rec.okSince(tUp, 1, ops...)
	})
	tRecovered := time.Now()
	waitUntil(t, "steady load again", 30*time.Second, func() bool {
		return rec.okSince(tUp, 3, ops...)
	})
	waitUntil(t, "/readyz ready again", recoveryBound, func() bool {
		return getStatus(t, hc, base+"/readyz", nil) == http.StatusOK
	})
	stop.Store(true)
	wg.Wait()
	t.Logf("every kind of request succeeded again %v after the database accepted connections",
		tRecovered.Sub(tUp).Round(time.Millisecond))

	all := rec.snapshot()
	var during, unavailable, ok int
	var slowest time.Duration
	for _, x := range all {
		if x.err != nil {
			t.Errorf("%s at %v: transport failure %v", x.op, x.start.Sub(tStop), x.err)
			continue
		}
		if x.status >= 500 && (x.status != http.StatusServiceUnavailable || x.retryAfter == "" || x.code != string(ninsho.CodeUnavailable)) {
			t.Errorf("%s at %v: %d %q (Retry-After %q), want 503 unavailable with Retry-After", x.op, x.start.Sub(tStop).Round(time.Millisecond), x.status, x.code, x.retryAfter)
		}
		if x.status == http.StatusServiceUnavailable {
			unavailable++
		}
		if x.status/100 == 2 {
			ok++
		}
		if x.end.After(tStop) && x.start.Before(tUp) {
			during++
			slowest = max(slowest, x.end.Sub(x.start))
			// A session check may be answered from the principal cache
			// (signin.SessionCacheTTL) without the database.
			cached := x.op == "session" && x.status == http.StatusOK && x.start.Before(tDown.Add(signin.SessionCacheTTL))
			if x.start.After(tDown) && x.end.Before(tLaunch) && x.status != http.StatusServiceUnavailable && !cached {
				t.Errorf("%s while the database was down: %d %q, want 503: %s", x.op, x.status, x.code, x.body)
			}
		}
	}
	t.Logf("%d answers: %d 2xx, %d 503 unavailable; %d met the outage, the slowest of them in %v (bound %v); HTML page during the outage: %d",
		len(all), ok, unavailable, during, slowest.Round(time.Millisecond), outageAnswerBound, page)
	if unavailable == 0 || during == 0 {
		t.Errorf("the load never met the outage")
	}
	if slowest > outageAnswerBound {
		t.Errorf("an answer during the outage took %v, bound %v", slowest, outageAnswerBound)
	}

	// Nothing half-written; every message sent once the dispatcher caught
	// up (the ones that failed in the outage are retried after back-off).
	db, err := sql.Open("pgx", pg.url("ninsho"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	drain := time.Now()
	waitUntil(t, "the outbox drained", 30*time.Second, func() bool {
		var n int
		return db.QueryRow(`SELECT count(*) FROM message WHERE status = 'pending'`).Scan(&n) == nil && n == 0
	})
	t.Logf("the outbox drained %v after the load stopped", time.Since(drain).Round(time.Millisecond))
	checkInvariants(t, db)
}

// runFaultLoad is one worker of steady load until stop: a sign-up and its
// code (signUpOnce; only when signups), a sign-in of acc and a session
// check, again and again. After a 503 it goes on at once with the
// next request (a person pressing again), paced by a short pause.
func runFaultLoad(base string, hc *http.Client, rec *answers, stop *atomic.Bool, w int, acc loadgen.Account, signups bool) {
	post := func(path string, body any) *http.Request {
		b, _ := json.Marshal(body)
		r, _ := http.NewRequest("POST", base+path, bytes.NewReader(b))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Accept-Language", "en")
		return r
	}
	pause := func(x answer) {
		if x.status == http.StatusServiceUnavailable || x.err != nil {
			<-time.After(50 * time.Millisecond) // pacing, not waiting for time
		}
	}
	for i := 0; !stop.Load(); i++ {
		if signups {
			signUpOnce(hc, rec, post, pause, fmt.Sprintf("load%d-%d-%d@example.com", w, i, time.Now().UnixNano()%1e6), base, stop)
		}
		x, _ := rec.do(hc, "signin", post("/api/v1/signin", map[string]string{
			"identifier": acc.Identifier, "password": acc.Password, "device_token": acc.DeviceToken}))
		pause(x)
		r, _ := http.NewRequest("GET", base+"/api/v1/me", nil)
		r.Header.Set("Authorization", "Bearer "+acc.SessionToken)
		x, _ = rec.do(hc, "session", r)
		pause(x)
	}
}

// signUpOnce is a worker's sign-up of id: the start, then the code from the
// development inbox (polled, since delivery is asynchronous) entered, again
// after a 503 as a person would.
func signUpOnce(hc *http.Client, rec *answers, post func(string, any) *http.Request, pause func(answer), id, base string, stop *atomic.Bool) {
	x, body := rec.do(hc, "signup", post("/api/v1/signup", map[string]string{
		"identifier": id, "password": "Kasumi-Yamabuki-Hotaru-42", "name": "Fault Load", "locale": "en"}))
	pause(x)
	if x.status == http.StatusCreated {
		var f struct {
			ID          string `json:"id"`
			DeviceToken string `json:"device_token"`
		}
		json.Unmarshal(body, &f)
		// The code is delivered asynchronously: poll for it a little,
		// then enter it (again after a 503, as a person would).
		deadline := time.Now().Add(5 * time.Second)
		for !stop.Load() && time.Now().Before(deadline) {
			code := inboxCodeOnce(hc, base, id)
			if code == "" {
				<-time.After(20 * time.Millisecond) // polling asynchronous delivery
				continue
			}
			x, _ := rec.do(hc, "signup_code", post("/api/v1/flows/"+f.ID, map[string]string{
				"action": "submit_code", "code": code, "device_token": f.DeviceToken}))
			pause(x)
			if x.status != http.StatusServiceUnavailable {
				break
			}
		}
	}
}

// inboxCodeOnce returns the newest code the development inbox holds for
// to, or "" (none yet, or the inbox could not be read).
func inboxCodeOnce(hc *http.Client, base, to string) string {
	res, err := hc.Get(base + "/dev/api/messages?to=" + url.QueryEscape(to))
	if err != nil {
		return ""
	}
	defer res.Body.Close()
	var inbox struct {
		Messages []struct {
			Code string `json:"code"`
		} `json:"messages"`
	}
	if res.StatusCode != 200 || json.NewDecoder(res.Body).Decode(&inbox) != nil || len(inbox.Messages) == 0 {
		return ""
	}
	return inbox.Messages[0].Code
}

// pageDuringOutage loads the account page with a session cookie while the
// database is down, in both languages: a 503 HTML page with the
// catalogue's message and Retry-After. It returns the status.
func pageDuringOutage(t *testing.T, hc *http.Client, base, token string) int {
	t.Helper()
	status := 0
	for _, l := range []string{"ja", "en"} {
		r, _ := http.NewRequest("GET", base+"/account", nil)
		r.AddCookie(&http.Cookie{Name: "ninsho_session", Value: token})
		r.Header.Set("Accept-Language", l)
		res, err := hc.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(res.Body)
		res.Body.Close()
		status = res.StatusCode
		msg := i18n.ErrorMessage(l, ninsho.CodeUnavailable, nil)
		if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" ||
			!strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") || !strings.Contains(b.String(), htmlEscape(msg)) {
			t.Errorf("the account page (%s) while the database is down: %d, Retry-After %q, %s; want 503 with the message %q",
				l, res.StatusCode, res.Header.Get("Retry-After"), res.Header.Get("Content-Type"), msg)
		}
	}
	return status
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

// getStatus returns the status of GET u.
func getStatus(t *testing.T, hc *http.Client, u string, hdr http.Header) int {
	t.Helper()
	r, _ := http.NewRequest("GET", u, nil)
	for k, v := range hdr {
		r.Header[k] = v
	}
	res, err := hc.Do(r)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	res.Body.Close()
	return res.StatusCode
}

// waitUntil polls cond until it holds, or fails the test after timeout.
func waitUntil(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(20 * time.Millisecond) // polling a real condition
	}
}
