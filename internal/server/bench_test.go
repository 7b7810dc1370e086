package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/server"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// BenchmarkMe measures GET /api/v1/me with a valid bearer token through the
// whole handler (middleware, routing, session check on SQLite, JSON), and
// BenchmarkHealthz the middleware and routing alone. Run with
// go test ./internal/server -run XXX -bench . -benchmem
func BenchmarkMe(b *testing.B) {
	env := flowtest.New(b, storetest.MustOpenSQLite(b))
	dev := env.MustSignUp(b, env.JP, "bench@example.jp", "kumo-no-ue-42", "bench@example.jp")
	_ = dev
	h := newBenchServer(env)
	// Sign in through the API to get a token.
	ans, err := env.Signin.Start(context.Background(), env.JP, flowtest.Req("192.0.2.1", dev), signinInput("bench@example.jp", "kumo-no-ue-42"))
	if err != nil || ans.Session == nil {
		b.Fatalf("signin: %v", err)
	}
	r := httptest.NewRequest("GET", "/api/v1/me", nil)
	r.Header.Set("Authorization", "Bearer "+ans.Session.Token)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != 200 {
				b.Fatalf("status %d", rec.Code)
			}
		}
	})
}

func BenchmarkHealthz(b *testing.B) {
	env := flowtest.New(b, storetest.MustOpenSQLite(b))
	h := newBenchServer(env)
	r := httptest.NewRequest("GET", "/healthz", nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			h.ServeHTTP(httptest.NewRecorder(), r)
		}
	})
}

func newBenchServer(env *flowtest.Env) http.Handler {
	return server.New(server.Deps{
		Realms:   env.Realms,
		Flows:    env.Engine,
		Signup:   env.Signup,
		Signin:   env.Signin,
		Registry: prometheus.NewRegistry(),
		Logger:   slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})
}

func signinInput(id, pw string) signin.Input { return signin.Input{Identifier: id, Password: pw} }
