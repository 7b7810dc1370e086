package server_test

import (
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/server"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// TestUnlockPassedThrough: Deps.Unlock reaches the pages and the API; nil
// leaves their routes 404.
func TestUnlockPassedThrough(t *testing.T) {
	env := flowtest.New(t, storetest.MustOpenSQLite(t))
	for _, tt := range []struct {
		name        string
		with        bool
		page, apiSt int
	}{
		{"with unlock", true, 200, 400},
		{"without unlock", false, 404, 404},
	} {
		d := server.Deps{Realms: env.Realms, Flows: env.Engine, Signup: env.Signup, Signin: env.Signin, Logger: slog.New(slog.DiscardHandler)}
		if tt.with {
			d.Unlock = env.Unlock
		}
		h := mustHandler(server.New(d))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/unlock", nil))
		if rec.Code != tt.page {
			t.Errorf("%s: GET /unlock = %d, want %d", tt.name, rec.Code, tt.page)
		}
		r := httptest.NewRequest("POST", "/api/v1/unlock", strings.NewReader(`{"identifier":"not an identifier"}`))
		r.Header.Set("Content-Type", "application/json")
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != tt.apiSt {
			t.Errorf("%s: POST /api/v1/unlock = %d, want %d: %s", tt.name, rec.Code, tt.apiSt, rec.Body)
		}
	}
}
