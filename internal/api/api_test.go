package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/api"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/httperr"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/store/storetest"
	"github.com/ninsho/ninsho/internal/web/webtest"
)

func newAPI(tb testing.TB) (*api.Handler, *webtest.Engine) {
	tb.Helper()
	e := webtest.NewEngine(tb)
	e.Client = ninsho.ClientAPI
	env := flowtest.New(tb, storetest.MustOpenSQLite(tb))
	h := api.New(api.Deps{
		Realms: webtest.Realms(),
		Flows:  e.Engine,
		Signup: env.Signup,
		Signin: env.Signin,
		Now:    e.Clock.Now,
	})
	return h, e
}

func do(h http.Handler, method, target, ctype, body string, hdr ...string) *httptest.ResponseRecorder {
	var r *http.Request
	if body == "" {
		r = httptest.NewRequest(method, target, nil)
	} else {
		r = httptest.NewRequest(method, target, strings.NewReader(body))
	}
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Add(hdr[i], hdr[i+1])
	}
	if r.Header.Get("User-Agent") == "" {
		r.Header.Set("User-Agent", flowtest.BrowserUA) // a person's browser, not automation
	}
	r = r.WithContext(httperr.WithRequestID(r.Context(), "req-test"))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

type flowBody struct {
	ID        string            `json:"id"`
	Kind      string            `json:"kind"`
	Status    string            `json:"status"`
	ExpiresAt string            `json:"expires_at"`
	Next      *flow.Next        `json:"next"`
	Errors    []json.RawMessage `json:"errors"`
	Session   *struct {
		Token     string `json:"token"`
		ExpiresAt string `json:"expires_at"`
		AAL       int    `json:"aal"`
	} `json:"session"`
	DeviceToken string `json:"device_token"`
	AccountID   string `json:"account_id"`
}

func decodeFlow(tb testing.TB, rec *httptest.ResponseRecorder) flowBody {
	tb.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		tb.Fatalf("Content-Type %q, want application/json; body %s", ct, rec.Body)
	}
	var fb flowBody
	dec := json.NewDecoder(rec.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fb); err != nil {
		tb.Fatalf("flow JSON: %v", err)
	}
	return fb
}

func problemCode(tb testing.TB, rec *httptest.ResponseRecorder) string {
	tb.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		tb.Fatalf("Content-Type %q, want application/problem+json; body %s", ct, rec.Body)
	}
	var p httperr.Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		tb.Fatal(err)
	}
	if p.RequestID != "req-test" {
		tb.Errorf("problem request_id %q, want req-test", p.RequestID)
	}
	return p.Code
}

func TestViewFlow(t *testing.T) {
	h, e := newAPI(t)
	e.MustAddFlow(t, flow.KindSignup)
	rec := do(h, "GET", "/api/v1/flows/"+webtest.FlowID, "", "")
	if rec.Code != 200 {
		t.Fatalf("status %d, want 200: %s", rec.Code, rec.Body)
	}
	raw := rec.Body.String()
	fb := decodeFlow(t, rec)
	if fb.ID != webtest.FlowID || fb.Kind != "signup" || fb.Status != "challenge" || fb.ExpiresAt != "2026-11-25T02:02:03Z" {
		t.Errorf("flow = %+v", fb)
	}
	if fb.Next == nil || fb.Next.Step != flow.StepVerificationCode || fb.Next.Destination != "+81 ** **** **78" || fb.Next.ResendAfterS != 30 {
		t.Errorf("next = %+v", fb.Next)
	}
	if fb.Errors == nil || len(fb.Errors) != 0 || fb.Session != nil {
		t.Errorf("errors %v session %v; want [] and null", fb.Errors, fb.Session)
	}
	if !strings.Contains(raw, `"session":null`) || !strings.Contains(raw, `"errors":[]`) {
		t.Errorf("body %s lacks session null or errors []", raw)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
}

func TestFlowNotFound(t *testing.T) {
	h, e := newAPI(t)
	e.MustAddFlow(t, flow.KindSignup)
	for _, target := range []string{
		"/api/v1/flows/not-a-uuid",
		"/api/v1/flows/01900000-0000-7000-8000-000000000999",
		"/api/v1/flows/01900000-0000-7000-8000-00000000000Z",
	} {
		rec := do(h, "GET", target, "", "")
		if rec.Code != 404 || problemCode(t, rec) != "flow_not_found" {
			t.Errorf("GET %s: status %d body %s; want 404 flow_not_found", target, rec.Code, rec.Body)
		}
		rec = do(h, "POST", target, "application/json", `{"action":"submit_code","code":"1"}`)
		if rec.Code != 404 || problemCode(t, rec) != "flow_not_found" {
			t.Errorf("POST %s: status %d body %s; want 404 flow_not_found", target, rec.Code, rec.Body)
		}
	}
	// Another realm's flow is unknown here.
	rec := do(h, "GET", "http://us.example/api/v1/flows/"+webtest.FlowID, "", "")
	if rec.Code != 404 {
		t.Errorf("other realm: status %d, want 404", rec.Code)
	}
}

func TestFlowExpired(t *testing.T) {
	h, e := newAPI(t)
	e.MustAddFlow(t, flow.KindSignin)
	e.Clock.Advance(2 * time.Hour)
	rec := do(h, "GET", "/api/v1/flows/"+webtest.FlowID, "", "")
	if rec.Code != 410 {
		t.Fatalf("status %d, want 410: %s", rec.Code, rec.Body)
	}
	fb := decodeFlow(t, rec)
	if len(fb.Errors) != 1 || !strings.Contains(string(fb.Errors[0]), `"code":"flow_expired"`) {
		t.Errorf("errors = %s, want flow_expired", fb.Errors)
	}
}

func TestAct(t *testing.T) {
	h, e := newAPI(t)
	e.MustAddFlow(t, flow.KindSignin)
	tests := []struct {
		name       string
		ans        func(f *flow.Flow) (*flow.Answer, error)
		status     int
		code       string
		retryAfter string
	}{
		{"accepted", func(f *flow.Flow) (*flow.Answer, error) {
			f.Status = flow.StatusComplete
			return &flow.Answer{Flow: f, Next: &flow.Next{Step: flow.StepDone},
				Session: &flow.Grant{Token: "tok", ExpiresAt: webtest.Epoch.Add(24 * time.Hour), AAL: 2}, DeviceToken: "dev-1"}, nil
		}, 200, "", ""},
		{"code incorrect", func(f *flow.Flow) (*flow.Answer, error) {
			return &flow.Answer{Flow: f, Next: &flow.Next{Step: flow.StepVerificationCode, AttemptsLeft: 4}},
				ninsho.FieldError(ninsho.CodeCodeIncorrect, "code").WithParam("attempts_left", 4)
		}, 400, "code_incorrect", ""},
		{"resend too soon", func(f *flow.Flow) (*flow.Answer, error) {
			return &flow.Answer{Flow: f}, ninsho.E(ninsho.CodeResendTooSoon).WithParam("seconds", 17)
		}, 429, "resend_too_soon", "17"},
		{"locked", func(f *flow.Flow) (*flow.Answer, error) {
			return &flow.Answer{Flow: f}, ninsho.E(ninsho.CodeAccountLocked)
		}, 423, "account_locked", ""},
		{"overloaded", func(f *flow.Flow) (*flow.Answer, error) {
			return &flow.Answer{Flow: f}, ninsho.E(ninsho.CodeOverloaded).WithParam("retry_after_s", 2)
		}, 503, "overloaded", "2"},
		{"action unknown from the flow", func(f *flow.Flow) (*flow.Answer, error) {
			return &flow.Answer{Flow: f}, ninsho.FieldError(ninsho.CodeActionUnknown, "action")
		}, 400, "action_unknown", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.Script.ActFunc = func(f *flow.Flow, a flow.Action) (*flow.Answer, error) { return tt.ans(f) }
			rec := do(h, "POST", "/api/v1/flows/"+webtest.FlowID, "application/json",
				`{"action":"submit_code","code":"123456","device_token":"dev-0"}`, "User-Agent", "test-agent")
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if got := rec.Header().Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tt.retryAfter)
			}
			fb := decodeFlow(t, rec)
			if tt.code == "" && len(fb.Errors) != 0 || tt.code != "" && (len(fb.Errors) != 1 || !strings.Contains(string(fb.Errors[0]), `"code":"`+tt.code+`"`)) {
				t.Errorf("errors %s, want code %q", fb.Errors, tt.code)
			}
			a, req := e.Script.Last()
			if a.Name != "submit_code" || a.Code != "123456" || req.DeviceToken != "dev-0" || req.UserAgent != "test-agent" || req.RequestID != "req-test" || req.IP != "192.0.2.1" || req.Locale != "ja" {
				t.Errorf("service saw action %+v request %+v", a, req)
			}
		})
	}
	// The completed answer carried a session and a device token.
	first := tests[0].ans
	e.Script.ActFunc = func(f *flow.Flow, a flow.Action) (*flow.Answer, error) { return first(f) }
	rec := do(h, "POST", "/api/v1/flows/"+webtest.FlowID, "application/json", `{"action":"submit_code","code":"1"}`, "Cookie", "ninsho_device=dev-cookie")
	fb := decodeFlow(t, rec)
	if fb.Session == nil || fb.Session.Token != "tok" || fb.Session.AAL != 2 || fb.Session.ExpiresAt != "2026-11-26T01:02:03Z" || fb.DeviceToken != "dev-1" {
		t.Errorf("session %+v device %q", fb.Session, fb.DeviceToken)
	}
	if _, req := e.Script.Last(); req.DeviceToken != "dev-cookie" {
		t.Errorf("device token from cookie: got %q", req.DeviceToken)
	}
	cookies := rec.Result().Cookies()
	var sawSession, sawDevice bool
	for _, c := range cookies {
		switch c.Name {
		case "ninsho_session":
			sawSession = c.Value == "tok" && c.HttpOnly && c.SameSite == http.SameSiteLaxMode && c.MaxAge == 86400 && c.Path == "/"
		case "ninsho_device":
			sawDevice = c.Value == "dev-1" && c.HttpOnly && c.MaxAge > 300*86400
		}
	}
	if !sawSession || !sawDevice {
		t.Errorf("cookies %v: want session and device cookies", cookies)
	}
}

func TestRequestRefusals(t *testing.T) {
	h, e := newAPI(t)
	e.MustAddFlow(t, flow.KindSignin)
	flowURL := "/api/v1/flows/" + webtest.FlowID
	tests := []struct {
		name, method, target, ctype, body string
		status                            int
		code                              string
	}{
		{"form body", "POST", flowURL, "application/x-www-form-urlencoded", "action=submit_code", 415, "unsupported_media_type"},
		{"signup form body", "POST", "/api/v1/signup", "application/x-www-form-urlencoded", "identifier=x", 415, "unsupported_media_type"},
		{"signin no type", "POST", "/api/v1/signin", "", `{"identifier":"x"}`, 415, "unsupported_media_type"},
		{"too large", "POST", flowURL, "application/json", `{"action":"submit_code","code":"` + strings.Repeat("1", 70000) + `"}`, 413, "body_too_large"},
		{"malformed", "POST", flowURL, "application/json", `{"action":`, 400, "request_invalid"},
		{"unknown field", "POST", "/api/v1/signin", "application/json", `{"identifier":"x","remember":true}`, 400, "request_invalid"},
		{"field too long", "POST", "/api/v1/signup", "application/json", `{"identifier":"` + strings.Repeat("a", 321) + `"}`, 400, "field_too_long"},
		{"action shape", "POST", flowURL, "application/json", `{"action":"DROP TABLE"}`, 400, "action_unknown"},
		{"unknown route", "GET", "/api/v1/nope", "", "", 404, "not_found"},
		{"unknown version", "GET", "/api/v2/me", "", "", 404, "not_found"},
		{"wrong method", "DELETE", "/api/v1/signup", "", "", 405, "method_not_allowed"},
		{"me without token", "GET", "/api/v1/me", "", "", 401, "unauthenticated"},
		{"signout without token", "POST", "/api/v1/signout", "", "", 401, "unauthenticated"},
		{"signout form body", "POST", "/api/v1/signout", "application/x-www-form-urlencoded", "a=b", 415, "unsupported_media_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(h, tt.method, tt.target, tt.ctype, tt.body)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if got := problemCode(t, rec); got != tt.code {
				t.Errorf("code %q, want %q", got, tt.code)
			}
		})
	}
	rec := do(h, "DELETE", "/api/v1/signup", "", "")
	if allow := rec.Header().Get("Allow"); allow != "POST" {
		t.Errorf("405 Allow %q, want POST", allow)
	}
	rec = do(h, "GET", "/api/v1/me", "", "")
	if rec.Header().Get("WWW-Authenticate") == "" {
		t.Errorf("401 without WWW-Authenticate")
	}
}

func TestLocale(t *testing.T) {
	h, _ := newAPI(t)
	tests := []struct {
		target string
		hdr    []string
		want   string
	}{
		{"/api/v1/flows/x", nil, "ja"},
		{"http://us.example/api/v1/flows/x", nil, "en"},
		{"/api/v1/flows/x", []string{"Accept-Language", "en-US,en;q=0.9"}, "en"},
		{"/api/v1/flows/x?lang=en", []string{"Accept-Language", "ja"}, "en"},
		{"/api/v1/flows/x", []string{"Cookie", "ninsho_lang=en", "Accept-Language", "ja"}, "en"},
		{"http://us.example/api/v1/flows/x?lang=ja", nil, "ja"},
	}
	for _, tt := range tests {
		rec := do(h, "GET", tt.target, "", "", tt.hdr...)
		if got := rec.Header().Get("Content-Language"); got != tt.want {
			t.Errorf("GET %s %v: Content-Language %q, want %q", tt.target, tt.hdr, got, tt.want)
		}
	}
}

// TestFlowAnswerListsEveryRefusedField: a step refused for several fields
// (a new password typed twice) lists each in the flow's errors[], the first
// refusal first.
func TestFlowAnswerListsEveryRefusedField(t *testing.T) {
	h, e := newAPI(t)
	e.MustAddFlow(t, flow.KindUnlock)
	e.Script.ActFunc = func(f *flow.Flow, a flow.Action) (*flow.Answer, error) {
		return &flow.Answer{Flow: f, Next: &flow.Next{Step: flow.StepNewPassword}}, ninsho.Fields(
			ninsho.FieldError(ninsho.CodePasswordTooShort, "password").WithParam("min", 8),
			ninsho.FieldError(ninsho.CodePasswordMismatch, "password_confirmation"))
	}
	rec := do(h, "POST", "/api/v1/flows/"+webtest.FlowID+"?lang=en", "application/json",
		`{"action":"set_new_password","password":"short","password_confirmation":"other"}`)
	if rec.Code != 400 {
		t.Fatalf("status %d, want 400: %s", rec.Code, rec.Body)
	}
	fb := decodeFlow(t, rec)
	if len(fb.Errors) != 2 ||
		!strings.Contains(string(fb.Errors[0]), `"code":"password_too_short","field":"password","message":"Your password must be at least 8 characters long.`) ||
		!strings.Contains(string(fb.Errors[1]), `"code":"password_mismatch","field":"password_confirmation"`) {
		t.Errorf("errors = %s, want password_too_short then password_mismatch", fb.Errors)
	}
}

// TestFlowAnswerFollowsTheFlowsLanguage (found from outside): a request that
// chooses no language is answered in the language chosen earlier in its flow
// (the one its messages follow); a choice in the request comes first.
func TestFlowAnswerFollowsTheFlowsLanguage(t *testing.T) {
	h, e := newAPI(t)
	e.MustAddFlow(t, flow.KindUnlock)
	e.Script.ActFunc = func(f *flow.Flow, a flow.Action) (*flow.Answer, error) {
		f.Locale = "en" // as if chosen at the start with ?lang=en
		return &flow.Answer{Flow: f, Next: &flow.Next{Step: flow.StepVerificationCode}}, ninsho.FieldError(ninsho.CodeCodeIncorrect, "code")
	}
	for _, tt := range []struct {
		query string
		hdr   []string
		want  string
	}{
		{"", nil, "en"},
		{"?lang=ja", nil, "ja"},
		{"", []string{"Accept-Language", "ja"}, "ja"},
	} {
		rec := do(h, "POST", "/api/v1/flows/"+webtest.FlowID+tt.query, "application/json", `{"action":"submit_code","code":"000000"}`, tt.hdr...)
		if got := rec.Header().Get("Content-Language"); got != tt.want {
			t.Errorf("submit_code%s %v: Content-Language %q, want %q (%s)", tt.query, tt.hdr, got, tt.want, rec.Body)
		}
	}
}

// TestTimesInTheRealmsZone (found from outside): a lock's end is stated in
// the realm's zone in every language, as the pages state it — Japan time in
// a realm whose default language is Japanese, also in English.
func TestTimesInTheRealmsZone(t *testing.T) {
	h, e := newAPI(t)
	e.MustAddFlow(t, flow.KindUnlock)
	until := time.Date(2026, 12, 7, 1, 57, 0, 0, time.UTC)
	e.Script.ActFunc = func(f *flow.Flow, a flow.Action) (*flow.Answer, error) {
		return &flow.Answer{Flow: f, Next: &flow.Next{Step: flow.StepVerificationCode}}, ninsho.E(ninsho.CodeAccountLocked).WithParam("until", until)
	}
	for _, tt := range []struct{ host, lang, want string }{
		{"", "en", "10:57 JST"},
		{"", "ja", "10:57 (JST)"},
	} {
		rec := do(h, "POST", tt.host+"/api/v1/flows/"+webtest.FlowID+"?lang="+tt.lang, "application/json", `{"action":"submit_code","code":"000000"}`)
		if !strings.Contains(rec.Body.String(), tt.want) {
			t.Errorf("%s ?lang=%s: %s, want the time as %q", tt.host, tt.lang, rec.Body, tt.want)
		}
	}
}
