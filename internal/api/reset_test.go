package api_test

import (
	"strings"
	"testing"

	"github.com/ninsho/ninsho/internal/api"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

func newResetAPI(tb testing.TB) (*api.Handler, *flowtest.Env) {
	tb.Helper()
	env := flowtest.New(tb, storetest.MustOpenSQLite(tb))
	return api.New(api.Deps{
		Realms: env.Realms,
		Flows:  env.Engine,
		Signup: env.Signup,
		Signin: env.Signin,
		Reset:  env.Reset,
		Now:    env.Clock.Now,
	}), env
}

func TestPasswordAssistantWithoutService(t *testing.T) {
	h, _ := newAPI(t)
	rec := do(h, "POST", "/api/v1/password-assistant", "application/json", `{"identifier":"taro@example.jp"}`)
	if rec.Code != 404 || !strings.Contains(rec.Body.String(), `"not_found"`) {
		t.Errorf("got %d %s, want 404 not_found", rec.Code, rec.Body)
	}
}

func TestPasswordAssistantBodies(t *testing.T) {
	h, _ := newResetAPI(t)
	tests := []struct {
		body   string
		status int
		code   string
	}{
		{`{"identifier":"taro@example.jp","password":"x"}`, 400, "request_invalid"},
		{`{"identifier":"` + strings.Repeat("a", 321) + `"}`, 400, "field_too_long"},
		{`{"identifier":"taro@@example"}`, 400, "identifier_invalid"},
		{`{"identifier":"nobody@example.jp"}`, 400, "account_not_found"},
	}
	for _, tt := range tests {
		rec := do(h, "POST", "/api/v1/password-assistant", "application/json", tt.body)
		if rec.Code != tt.status || !strings.Contains(rec.Body.String(), `"`+tt.code+`"`) {
			t.Errorf("%s: got %d %s, want %d %s", tt.body, rec.Code, rec.Body, tt.status, tt.code)
		}
	}
}

// TestPasswordAssistantNewPassword: the code, then a new password typed twice
// (mismatch and the old one refused) completes with a session.
func TestPasswordAssistantNewPassword(t *testing.T) {
	h, env := newResetAPI(t)
	env.MustSignUp(t, env.JP, "taro@example.jp", pw, "taro@example.jp")
	rec := do(h, "POST", "/api/v1/password-assistant", "application/json", jsonBody(t, map[string]string{"identifier": "Taro@Example.jp"}))
	if rec.Code != 200 {
		t.Fatalf("start: got %d %s, want 200", rec.Code, rec.Body)
	}
	fb := decodeFlow(t, rec)
	if fb.Kind != string(flow.KindReset) || fb.Status != "challenge" || fb.Next == nil || fb.Next.Step != flow.StepVerificationCode || strings.Contains(fb.Next.Destination, "taro@") {
		t.Fatalf("got flow %+v %+v, want a masked code step", fb, fb.Next)
	}
	dev := fb.DeviceToken
	act := func(status int, body map[string]string) flowBody {
		t.Helper()
		body["device_token"] = dev
		rec := do(h, "POST", "/api/v1/flows/"+fb.ID, "application/json", jsonBody(t, body))
		if rec.Code != status {
			t.Fatalf("%s: got %d %s, want %d", body["action"], rec.Code, rec.Body, status)
		}
		return decodeFlow(t, rec)
	}
	got := act(200, map[string]string{"action": "submit_code", "code": env.LastCode(t, "taro@example.jp")})
	if got.Next == nil || got.Next.Step != flow.StepChoose || strings.Join(got.Next.Options, ",") != "choose_sign_in_with_code,set_new_password" {
		t.Fatalf("after the code: got %+v, want the choice of both", got.Next)
	}
	for _, tt := range []struct{ pw, confirm, code string }{
		{"sora-no-shita-7", "sora-no-shita-8", "password_mismatch"},
		{pw, pw, "password_reused"},
	} {
		got := act(400, map[string]string{"action": "set_new_password", "password": tt.pw, "password_confirmation": tt.confirm})
		if len(got.Errors) == 0 || !strings.Contains(string(got.Errors[0]), `"`+tt.code+`"`) {
			t.Errorf("got errors %s, want %s", got.Errors, tt.code)
		}
	}
	done := act(200, map[string]string{"action": "set_new_password", "password": "sora-no-shita-7", "password_confirmation": "sora-no-shita-7"})
	if done.Status != "complete" || done.Session == nil || done.Session.Token == "" {
		t.Fatalf("got %+v, want complete with a session", done)
	}
	if rec := do(h, "GET", "/api/v1/me", "", "", "Authorization", "Bearer "+done.Session.Token); rec.Code != 200 {
		t.Errorf("me after the reset: got %d, want 200", rec.Code)
	}
}

// TestPasswordAssistantSafeRealm: an unknown identifier in a safe realm
// answers like a known one.
func TestPasswordAssistantSafeRealm(t *testing.T) {
	_, env := newResetAPI(t)
	safe := *env.Safe
	safe.Hosts = []string{"id.example.com"}
	h := api.New(api.Deps{
		Realms: realm.NewRegistry([]*realm.Realm{env.JP, &safe}),
		Flows:  env.Engine,
		Signup: env.Signup,
		Signin: env.Signin,
		Reset:  env.Reset,
		Now:    env.Clock.Now,
	})
	env.MustSignUp(t, env.Safe, "known@example.com", pw, "known@example.com")
	shape := func(ident string) flowBody {
		t.Helper()
		rec := do(h, "POST", "http://id.example.com/api/v1/password-assistant", "application/json", jsonBody(t, map[string]string{"identifier": ident}))
		if rec.Code != 200 {
			t.Fatalf("%s: got %d %s, want 200", ident, rec.Code, rec.Body)
		}
		return decodeFlow(t, rec)
	}
	known, unknown := shape("known@example.com"), shape("nobody@example.com")
	if known.Kind != unknown.Kind || known.Status != unknown.Status || known.Next == nil || unknown.Next == nil || known.Next.Step != unknown.Next.Step {
		t.Errorf("got known %+v %+v, unknown %+v %+v, want alike", known, known.Next, unknown, unknown.Next)
	}
	if ms := env.Messages(t, "nobody@example.com"); len(ms) != 0 {
		t.Errorf("got %d messages to an unknown address, want none", len(ms))
	}
}
