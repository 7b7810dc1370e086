package server_test

import (
	"crypto/tls"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ninsho/ninsho/internal/httperr"
	"github.com/ninsho/ninsho/internal/server"
)

// newServerWith is newServer (production) with the Deps adjusted by edit.
func newServerWith(tb testing.TB, edit func(*server.Deps)) *fixture {
	tb.Helper()
	f := newServer(tb, false, nil)
	d := server.Deps{
		Realms: f.env.Realms, Flows: f.env.Engine, Signup: f.env.Signup, Signin: f.env.Signin,
		Registry: f.reg, Logger: slog.New(slog.NewJSONHandler(f.log, nil)),
	}
	edit(&d)
	f.h = mustHandler(server.New(d))
	return f
}

func TestStrictTransportSecurity(t *testing.T) {
	targets := []string{"/healthz", "/signin", "/nope", "/api/v1/me", "/api/v1/nope", "/metrics", "/static/app.js"}
	tests := []struct {
		name string
		hsts bool
		tls  bool
		want string
	}{
		{"plain http public URL", false, false, ""},
		{"https public URL behind a proxy", true, false, server.HSTSValue},
		{"request over TLS", false, true, server.HSTSValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newServerWith(t, func(d *server.Deps) { d.HSTS = tt.hsts })
			for _, target := range targets {
				r := httptest.NewRequest("GET", target, nil)
				if tt.tls {
					r.TLS = &tls.ConnectionState{}
				}
				rec := httptest.NewRecorder()
				f.h.ServeHTTP(rec, r)
				if got := rec.Header().Get("Strict-Transport-Security"); got != tt.want {
					t.Errorf("GET %s (%d): got Strict-Transport-Security %q, want %q", target, rec.Code, got, tt.want)
				}
			}
		})
	}
	if got, want := server.HSTSValue, "max-age=63072000; includeSubDomains"; got != want {
		t.Errorf("got HSTSValue %q, want %q (docs/operations.md states it)", got, want)
	}
}

func TestMetricsHiddenFromTheMainListener(t *testing.T) {
	f := newServerWith(t, func(d *server.Deps) { d.HideMetrics = true })
	f.do("GET", "/signin", "", "")
	if rec := f.do("GET", "/metrics", "", ""); rec.Code != http.StatusNotFound || strings.Contains(rec.Body.String(), "ninsho_http") {
		t.Errorf("got GET /metrics %d %.80q, want 404 without metrics", rec.Code, rec.Body)
	}

	m := server.NewMetrics(server.Deps{Realms: f.env.Realms, Registry: f.reg})
	rec := httptest.NewRecorder()
	m.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if got, want := rec.Code, http.StatusOK; got != want || !strings.Contains(rec.Body.String(), `ninsho_http_requests_total{route="GET /signin",status="200"} 1`) {
		t.Errorf("got the metrics listener's /metrics %d %.200q, want %d with the main listener's counts", got, rec.Body, want)
	}
	for _, target := range []string{"/", "/signin", "/api/v1/me", "/healthz"} {
		rec := httptest.NewRecorder()
		m.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
		if rec.Code != http.StatusNotFound || rec.Header().Get("Content-Type") != "application/problem+json" || rec.Header().Get("X-Request-Id") == "" {
			t.Errorf("got the metrics listener's %s %d %q, want a 404 problem with a request id", target, rec.Code, rec.Header().Get("Content-Type"))
		}
	}
}

func TestMetricsBearerToken(t *testing.T) {
	const token = "s3cret-metrics-token"
	f := newServerWith(t, func(d *server.Deps) { d.MetricsToken = token })
	handlers := map[string]http.Handler{
		"main listener":    f.h,
		"metrics listener": server.NewMetrics(server.Deps{Realms: f.env.Realms, Registry: f.reg, MetricsToken: token}),
	}
	tests := []struct {
		name   string
		auth   string
		status int
	}{
		{"no header", "", http.StatusUnauthorized},
		{"wrong token", "Bearer s3cret-metrics-tokem", http.StatusUnauthorized},
		{"prefix of the token", "Bearer s3cret", http.StatusUnauthorized},
		{"token plus more", "Bearer " + token + "x", http.StatusUnauthorized},
		{"basic scheme", "Basic " + token, http.StatusUnauthorized},
		{"token alone", token, http.StatusUnauthorized},
		{"right token", "Bearer " + token, http.StatusOK},
		{"scheme in lower case", "bearer " + token, http.StatusOK},
	}
	for name, h := range handlers {
		for _, tt := range tests {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				r := httptest.NewRequest("GET", "/metrics", nil)
				if tt.auth != "" {
					r.Header.Set("Authorization", tt.auth)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				if rec.Code != tt.status {
					t.Fatalf("got %d %.120q, want %d", rec.Code, rec.Body, tt.status)
				}
				if tt.status == http.StatusOK {
					if !strings.Contains(rec.Body.String(), "ninsho_http_requests_total") {
						t.Errorf("got a body without the metrics: %.200q", rec.Body)
					}
					return
				}
				var p httperr.Problem
				if rec.Header().Get("Content-Type") != "application/problem+json" || json.Unmarshal(rec.Body.Bytes(), &p) != nil || p.Code != "unauthenticated" {
					t.Errorf("got %q %s, want an unauthenticated problem", rec.Header().Get("Content-Type"), rec.Body)
				}
				if got := rec.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
					t.Errorf("got WWW-Authenticate %q, want a Bearer challenge", got)
				}
				if strings.Contains(rec.Body.String(), "ninsho_http") {
					t.Errorf("the refusal shows metrics: %.200q", rec.Body)
				}
			})
		}
	}
}
