package api_test

import (
	"encoding/json"
	"testing"

	"github.com/ninsho/ninsho/internal/api"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/httperr"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/store/storetest"
	"github.com/ninsho/ninsho/internal/web/webtest"
)

// TestCostGuardParams (issue 11, finding 6): the SMS and voice cost
// guard's refusal shows "params": {"kind": "messages", "retry_after_s":
// 3600} as docs/api.md promises — in a flow's errors[] (resend_code,
// switch_channel, switch_method) and in the problem of a start (a sign-up
// to a foreign number past the country limit, refused by the real guard)
// — with Retry-After 3600; other refusals show no params.
func TestCostGuardParams(t *testing.T) {
	h, e := newAPI(t)
	e.MustAddFlow(t, flow.KindSignin)
	refusal := ninsho.E(ninsho.CodeRateLimited).WithParam("kind", "messages").WithParam("retry_after_s", 3600)
	for _, tt := range []struct {
		name   string
		err    error
		params string
	}{
		{"cost guard", refusal, `{"kind":"messages","retry_after_s":3600}`},
		{"code incorrect", ninsho.FieldError(ninsho.CodeCodeIncorrect, "code").WithParam("attempts_left", 4), ""},
		{"start caps", ninsho.E(ninsho.CodeRateLimited).WithParam("retry_after_s", 60), ""},
	} {
		e.Script.ActFunc = func(f *flow.Flow, a flow.Action) (*flow.Answer, error) {
			return &flow.Answer{Flow: f, Next: &flow.Next{Step: flow.StepVerificationCode}}, tt.err
		}
		rec := do(h, "POST", "/api/v1/flows/"+webtest.FlowID, "application/json", `{"action":"resend_code"}`)
		fb := decodeFlow(t, rec)
		if len(fb.Errors) != 1 {
			t.Fatalf("%s: errors %s", tt.name, fb.Errors)
		}
		var got struct {
			Params json.RawMessage `json:"params"`
		}
		json.Unmarshal(fb.Errors[0], &got)
		if string(got.Params) != tt.params {
			t.Errorf("%s: errors[0].params = %s, want %q", tt.name, got.Params, tt.params)
		}
	}

	// A start: the real guard, two sign-ups to UK numbers from realm "us"
	// with one foreign message an hour.
	realms := webtest.Realms()
	realms.ByID("us").SMSLimits = realm.SMSLimits{PerForeignCountryHour: 1}
	env := flowtest.New(t, storetest.MustOpenSQLite(t))
	env.Clock.Set(webtest.Epoch)
	hs := api.New(api.Deps{Realms: realms, Flows: env.Engine, Signup: env.Signup, Signin: env.Signin, Now: env.Clock.Now})
	body := func(n string) string {
		return `{"identifier":"+4474001234` + n + `","name":"Pat","password":"kumo-no-ue-42"}`
	}
	if rec := do(hs, "POST", "http://us.example/api/v1/signup", "application/json", body("51")); rec.Code != 201 {
		t.Fatalf("first sign-up: %d %s", rec.Code, rec.Body)
	}
	rec := do(hs, "POST", "http://us.example/api/v1/signup", "application/json", body("52"))
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "3600" {
		t.Fatalf("second sign-up: %d Retry-After %q %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	var p httperr.Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	if p.Code != "rate_limited" || len(p.Params) != 2 || p.Params["kind"] != "messages" || p.Params["retry_after_s"] != float64(3600) {
		t.Errorf("problem %+v; want rate_limited with params kind messages, retry_after_s 3600", p)
	}
}
