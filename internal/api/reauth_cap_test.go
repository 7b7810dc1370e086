package api_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/api"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/reauth"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// TestReauthAPIStartCap: POST /api/v1/reauth starts at most
// reauth.StartsPerSession flows per session within reauth.StartWindow; the
// next answers 429 rate_limited with Retry-After and creates no flow.
func TestReauthAPIStartCap(t *testing.T) {
	env := flowtest.New(t, storetest.MustOpenSQLite(t))
	h := api.New(api.Deps{Realms: env.Realms, Flows: env.Engine, Signup: env.Signup, Signin: env.Signin,
		Reauth: env.Reauth, Now: env.Clock.Now})
	dev := env.MustSignUp(t, env.JP, "hanako@example.jp", pw, "hanako@example.jp")
	in, err := env.Signin.Start(context.Background(), env.JP, flowtest.Req("192.0.2.10", dev), signin.Input{Identifier: "hanako@example.jp", Password: pw})
	if err != nil || in.Session == nil {
		t.Fatalf("sign in: %v", err)
	}
	bearer := []string{"Authorization", "Bearer " + in.Session.Token}
	for i := range reauth.StartsPerSession {
		env.Clock.Advance(time.Second)
		if rec := do(h, "POST", "/api/v1/reauth", "application/json", "{}", bearer...); rec.Code != 201 {
			t.Fatalf("start %d: %d %s", i+1, rec.Code, rec.Body)
		}
	}
	rec := do(h, "POST", "/api/v1/reauth?lang=en", "application/json", "{}", bearer...)
	if rec.Code != 429 || !strings.Contains(rec.Body.String(), `"code":"rate_limited"`) ||
		rec.Header().Get("Retry-After") != strconv.Itoa(int(reauth.StartWindow/time.Second)) {
		t.Errorf("start %d: %d Retry-After %q %s; want 429 rate_limited, Retry-After %d", reauth.StartsPerSession+1,
			rec.Code, rec.Header().Get("Retry-After"), rec.Body, int(reauth.StartWindow/time.Second))
	}
}
