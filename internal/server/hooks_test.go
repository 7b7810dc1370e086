package server_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ninsho/ninsho/internal/clientip"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/message/providers/hook"
	"github.com/ninsho/ninsho/internal/server"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// TestHooksDoNotRevealProviderNames: with a provider "gw" whose callback is
// POST /hooks/gw/status, every other path under /hooks — an unknown name,
// an unknown path of gw, /hooks/gw without a path, /hooks itself, a path
// not in clean form — answers the same JSON 404 problem (no redirect, no
// HTML page), so nobody can tell which names are configured. The callback
// itself gets the path below the name.
func TestHooksDoNotRevealProviderNames(t *testing.T) {
	env := flowtest.New(t, storetest.MustOpenSQLite(t))
	var got []string
	gw := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/status" {
			hook.NotFound(w, r)
			return
		}
		got = append(got, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
		w.WriteHeader(http.StatusNoContent)
	})
	h := mustHandler(server.New(server.Deps{
		Realms: env.Realms, Flows: env.Engine, Signup: env.Signup, Signin: env.Signin,
		Hooks:    map[string]http.Handler{"gw": gw},
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		ClientIP: &clientip.Resolver{},
	}))
	do := func(method, target string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, target, strings.NewReader("")))
		return rec
	}
	rec := do("POST", "/hooks/gw/status?a=1")
	if rec.Code != http.StatusNoContent || len(got) != 1 || got[0] != "POST /status?a=1" {
		t.Fatalf("callback: %d, handler saw %v", rec.Code, got)
	}
	norm := func(rec *httptest.ResponseRecorder) string {
		return strings.ReplaceAll(rec.Body.String(), rec.Header().Get("X-Request-Id"), "ID")
	}
	want := do("GET", "/hooks/gw/x")
	if want.Code != http.StatusNotFound || want.Header().Get("Content-Type") != "application/problem+json" || !strings.Contains(want.Body.String(), `"code":"not_found"`) {
		t.Fatalf("unknown path of gw: %d %q %s", want.Code, want.Header().Get("Content-Type"), want.Body)
	}
	for _, target := range []string{
		"/hooks/nope/status", "/hooks/nope/x", "/hooks/nope", "/hooks/nope/", "/hooks/gw", "/hooks/gw/", "/hooks",
		"/hooks/", "/hooks//status", "/hooks/gw//status", "/hooks/nope//status", "/hooks/gw/../gw/status", "/hooks/g%77/x",
		"/hooks/gw%2Fstatus", "/hooks/gw%2fstatus",
	} {
		for _, method := range []string{"GET", "POST"} {
			rec := do(method, target)
			if rec.Code != want.Code || rec.Header().Get("Content-Type") != want.Header().Get("Content-Type") || rec.Header().Get("Location") != "" || norm(rec) != norm(want) {
				t.Errorf("%s %s: %d %q Location %q %s, want the same 404 problem as /hooks/gw/x",
					method, target, rec.Code, rec.Header().Get("Content-Type"), rec.Header().Get("Location"), rec.Body)
			}
		}
	}
	if len(got) != 1 {
		t.Errorf("the callback ran %d times, want once", len(got))
	}
}
