package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ninsho/ninsho/internal/clientip"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/httperr"
	"github.com/ninsho/ninsho/internal/message/providers/devinbox"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/server"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

type fixture struct {
	h     http.Handler
	env   *flowtest.Env
	log   *bytes.Buffer
	reg   *prometheus.Registry
	ready error
}

func newServer(tb testing.TB, dev bool, inbox http.Handler) *fixture {
	tb.Helper()
	env := flowtest.New(tb, storetest.MustOpenSQLite(tb))
	f := &fixture{env: env, log: &bytes.Buffer{}, reg: prometheus.NewRegistry()}
	if inbox == nil {
		inbox = devinbox.NewHandler(env.DB)
	}
	f.h = mustHandler(server.New(server.Deps{
		Realms:   env.Realms,
		Flows:    env.Engine,
		Signup:   env.Signup,
		Signin:   env.Signin,
		DevInbox: inbox,
		Ready:    func(context.Context) error { return f.ready },
		Registry: f.reg,
		Logger:   slog.New(slog.NewJSONHandler(f.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		ClientIP: &clientip.Resolver{Trusted: clientip.MustParse("10.0.0.0/8")},
		Dev:      dev,
	}))
	return f
}

func (f *fixture) do(method, target, ctype, body string, hdr ...string) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, target, rd)
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Add(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, r)
	return rec
}

func TestRequestIDOnEveryResponse(t *testing.T) {
	f := newServer(t, false, nil)
	seen := map[string]bool{}
	for _, target := range []string{"/healthz", "/readyz", "/metrics", "/signin", "/nope", "/api/v1/nope", "/api/v1/me", "/static/app.js"} {
		rec := f.do("GET", target, "", "")
		id := rec.Header().Get("X-Request-Id")
		if !ninsho.ValidID(id) || seen[id] {
			t.Errorf("GET %s: X-Request-Id %q (not an id, or repeated)", target, id)
		}
		seen[id] = true
	}
}

func TestHealthAndReadiness(t *testing.T) {
	f := newServer(t, false, nil)
	if rec := f.do("GET", "/healthz", "", ""); rec.Code != 200 {
		t.Errorf("healthz: %d", rec.Code)
	}
	if rec := f.do("GET", "/readyz", "", ""); rec.Code != 200 {
		t.Errorf("readyz: %d", rec.Code)
	}
	f.ready = errors.New("database is down")
	if rec := f.do("GET", "/readyz", "", ""); rec.Code != 503 || strings.Contains(rec.Body.String(), "database") {
		t.Errorf("readyz when not ready: %d %q", rec.Code, rec.Body)
	}
	if rec := f.do("GET", "/healthz", "", ""); rec.Code != 200 {
		t.Errorf("healthz when not ready: %d", rec.Code)
	}
}

func TestUnknownRoutes(t *testing.T) {
	f := newServer(t, false, nil)
	tests := []struct {
		method, target string
		status         int
		ctype          string
	}{
		{"GET", "/api/v1/nope", 404, "application/problem+json"},
		{"GET", "/api", 404, "application/problem+json"},
		{"PUT", "/api/v1/signin", 405, "application/problem+json"},
		{"GET", "/nope", 404, "text/html; charset=utf-8"},
		{"DELETE", "/signin", 405, "text/html; charset=utf-8"},
		{"GET", "/dev/inbox", 404, "text/html; charset=utf-8"}, // not in development
	}
	for _, tt := range tests {
		rec := f.do(tt.method, tt.target, "", "")
		if rec.Code != tt.status || rec.Header().Get("Content-Type") != tt.ctype {
			t.Errorf("%s %s: %d %q, want %d %q", tt.method, tt.target, rec.Code, rec.Header().Get("Content-Type"), tt.status, tt.ctype)
		}
		if id := rec.Header().Get("X-Request-Id"); !strings.Contains(rec.Body.String(), id) {
			t.Errorf("%s %s: the body does not show the reference %s", tt.method, tt.target, id)
		}
	}
}

func TestDevInboxOnlyInDevelopment(t *testing.T) {
	f := newServer(t, true, nil)
	rec := f.do("GET", "/dev/api/messages", "", "")
	if rec.Code != 200 {
		t.Errorf("dev inbox API in development: %d %s", rec.Code, rec.Body)
	}
}

func TestPanicRecovery(t *testing.T) {
	boom := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("kaboom: secret detail") })
	f := newServer(t, true, boom)
	rec := f.do("GET", "/dev/inbox", "", "")
	id := rec.Header().Get("X-Request-Id")
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), id) || strings.Contains(rec.Body.String(), "kaboom") {
		t.Errorf("panic on a page: %d %s", rec.Code, rec.Body)
	}
	if !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Errorf("panic on a page answered %q", rec.Header().Get("Content-Type"))
	}
	if !strings.Contains(f.log.String(), "kaboom: secret detail") || !strings.Contains(f.log.String(), `"stack"`) {
		t.Errorf("the panic was not logged with its stack")
	}
}

func TestPanicRecoveryOnAPI(t *testing.T) {
	f := newServer(t, false, nil)
	rec := f.do("GET", "/api/v1/flows/01900000-0000-7000-8000-000000000001", "", "")
	if rec.Code != 404 {
		t.Fatalf("unknown flow: %d", rec.Code)
	}
	// The engine's store is nil: loading a flow panics inside the API.
	f.env.Engine.Store = nil
	rec = f.do("GET", "/api/v1/flows/01900000-0000-7000-8000-000000000001", "", "")
	if rec.Code != 500 || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("panic in the API: %d %q %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	var p httperr.Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	if p.Code != "internal" || p.RequestID != rec.Header().Get("X-Request-Id") {
		t.Errorf("problem = %+v", p)
	}
}

func TestAccessLog(t *testing.T) {
	f := newServerWith(t, func(d *server.Deps) {
		d.ClientIP = &clientip.Resolver{Trusted: clientip.MustParse("10.0.0.0/8")}
		d.Clock = &stepClock{now: storetest.Epoch, step: 1500 * time.Microsecond}
	})
	f.do("GET", "/signin?token=hunter2&lang=en", "", "", "X-Forwarded-For", "203.0.113.9")
	r := httptest.NewRequest("POST", "/api/v1/signin", strings.NewReader(`{"identifier":"a@example.jp","password":"hunter2"}`))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer hunter2")
	r.RemoteAddr = "10.1.2.3:4567"
	r.Header.Set("X-Forwarded-For", "203.0.113.9")
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, r)

	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(f.log.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if m["msg"] == "http request" {
			lines = append(lines, m)
		}
	}
	if len(lines) != 2 {
		t.Fatalf("got %d access log lines, want 2: %s", len(lines), f.log)
	}
	if strings.Contains(f.log.String(), "hunter2") {
		t.Errorf("the log shows a secret: %s", f.log)
	}
	first, second := lines[0], lines[1]
	if first["path"] != "/signin" || first["method"] != "GET" || first["status"] != float64(200) || first["client_ip"] != "192.0.2.1" || first["route"] != "GET /signin" {
		t.Errorf("first line = %v", first)
	}
	if second["client_ip"] != "203.0.113.9" || second["route"] != "POST /api/v1/signin" || second["request_id"] != rec.Header().Get("X-Request-Id") {
		t.Errorf("second line = %v (a trusted proxy's X-Forwarded-For should be used)", second)
	}
	if second["duration_ms"] != 1.5 {
		t.Errorf("got duration_ms %v, want 1.5 (the clock steps 1.5 ms a reading): %v", second["duration_ms"], second)
	}
	if _, ok := second["duration"]; ok {
		t.Errorf("a duration without its unit in the key: %v", second)
	}
}

// stepClock advances by step at every reading.
type stepClock struct {
	mu   sync.Mutex
	now  time.Time
	step time.Duration
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(c.step)
	return c.now
}

func TestMetrics(t *testing.T) {
	f := newServer(t, false, nil)
	f.do("GET", "/signin", "", "")
	f.do("GET", "/signin", "", "")
	f.do("GET", "/api/v1/me", "", "")
	f.do("GET", "/nope/"+strings.Repeat("x", 50), "", "")
	rec := f.do("GET", "/metrics", "", "")
	body := rec.Body.String()
	for _, want := range []string{
		`ninsho_http_requests_total{route="GET /signin",status="200"} 2`,
		`ninsho_http_requests_total{route="GET /api/v1/me",status="401"} 1`,
		`ninsho_http_request_duration_seconds_bucket{route="GET /signin",status="200",le="+Inf"} 2`,
		`ninsho_http_requests_total{route="/",status="404"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, "xxxxx") {
		t.Errorf("an unknown path became a label")
	}
	// A second server on the same registry shares the metrics.
	mustHandler(server.New(server.Deps{Realms: f.env.Realms, Registry: f.reg}))
}

func TestBrowserSecurity(t *testing.T) {
	f := newServer(t, false, nil)
	rec := f.do("POST", "/signin", "application/x-www-form-urlencoded", "identifier=a&password=b", "Sec-Fetch-Site", "cross-site")
	if rec.Code != 403 {
		t.Errorf("cross-site form post: %d", rec.Code)
	}
	rec = f.do("GET", "/signin", "", "")
	if rec.Header().Get("Content-Security-Policy") == "" || rec.Header().Get("X-Frame-Options") != "DENY" {
		t.Errorf("security headers missing: %v", rec.Header())
	}
	// API routes refuse form bodies.
	rec = f.do("POST", "/api/v1/signin", "application/x-www-form-urlencoded", "identifier=a&password=b")
	if rec.Code != 415 {
		t.Errorf("form body on the API: %d", rec.Code)
	}
}

// mustHandler is server.New's handler; the tests' realms have nothing that
// can fail to load.
func mustHandler(h http.Handler, err error) http.Handler {
	if err != nil {
		panic(err)
	}
	return h
}
