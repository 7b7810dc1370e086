package web_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/store/storetest"
	"github.com/ninsho/ninsho/internal/web"
	"github.com/ninsho/ninsho/internal/web/webtest"
)

// newResetWeb returns pages whose flows are scripted and that have a reset
// service (its Start is not called through the script).
func newResetWeb(tb testing.TB) (*web.Handler, *webtest.Engine) {
	tb.Helper()
	e := webtest.NewEngine(tb)
	env := flowtest.New(tb, storetest.MustOpenSQLite(tb))
	h := mustWeb(tb, web.Deps{
		Realms: webtest.Realms(),
		Flows:  e.Engine,
		Signup: env.Signup,
		Signin: env.Signin,
		Reset:  env.Reset,
		Now:    e.Clock.Now,
	})
	return h, e
}

func chooseNext(opts ...string) *flow.Next {
	return &flow.Next{Step: flow.StepChoose, Options: opts}
}

func TestResetPagesGolden(t *testing.T) {
	both := chooseNext(flow.ActionSignInWithCode, flow.ActionSetNewPassword)
	tests := []struct {
		name   string
		status int
		setup  func(e *webtest.Engine)
		target string
		form   url.Values // nil: GET target
	}{
		{name: "password_assistant", status: 200, target: "/password-assistant"},
		{name: "verify_password_assistant", status: 200, target: "/verify?" + flowQuery,
			setup: func(e *webtest.Engine) {
				e.MustAddFlowAt(t, flow.KindReset, &flow.Next{Step: flow.StepVerificationCode, Channel: "sms", Destination: "+81 ** **** **78", ResendAfterS: 30, Alternatives: []string{"email"}}, nil)
			}},
		{name: "password_assistant_choose", status: 200, target: "/password-assistant/choose?" + flowQuery,
			setup: func(e *webtest.Engine) { e.MustAddFlowAt(t, flow.KindReset, both, nil) }},
		{name: "password_assistant_choose_password_only", status: 200, target: "/password-assistant/choose?" + flowQuery,
			setup: func(e *webtest.Engine) {
				e.MustAddFlowAt(t, flow.KindReset, chooseNext(flow.ActionSetNewPassword), nil)
			}},
		{name: "password_assistant_choose_mismatch", status: 400, target: "/password-assistant/choose?" + flowQuery,
			form: url.Values{"action": {"set_new_password"}, "password": {"a-new-password-1"}, "password_confirmation": {"a-new-password-2"}},
			setup: func(e *webtest.Engine) {
				e.MustAddFlowAt(t, flow.KindReset, both, nil)
				e.Script.ActFunc = func(f *flow.Flow, a flow.Action) (*flow.Answer, error) {
					return &flow.Answer{Flow: f, Next: both}, ninsho.FieldError(ninsho.CodePasswordMismatch, "password_confirmation")
				}
			}},
		{name: "password_assistant_choose_reused", status: 400, target: "/password-assistant/choose?" + flowQuery,
			form: url.Values{"action": {"set_new_password"}, "password": {"kumo-no-ue-42"}, "password_confirmation": {"kumo-no-ue-42"}},
			setup: func(e *webtest.Engine) {
				e.MustAddFlowAt(t, flow.KindReset, both, nil)
				e.Script.ActFunc = func(f *flow.Flow, a flow.Action) (*flow.Answer, error) {
					return &flow.Answer{Flow: f, Next: both}, ninsho.FieldError(ninsho.CodePasswordReused, "password")
				}
			}},
	}
	for _, lang := range []string{"ja", "en"} {
		for _, tt := range tests {
			t.Run(lang+"/"+tt.name, func(t *testing.T) {
				h, e := newResetWeb(t)
				if tt.setup != nil {
					tt.setup(e)
				}
				rec := get(h, tt.target, "Accept-Language", lang)
				if tt.form != nil {
					rec = post(h, tt.target, tt.form, "Accept-Language", lang)
				}
				if rec.Code != tt.status {
					t.Fatalf("got status %d, want %d: %s", rec.Code, tt.status, rec.Body)
				}
				webtest.Golden(t, lang+"/"+tt.name+".golden", page(rec))
			})
		}
	}
}

func TestSigninLinksToPasswordAssistant(t *testing.T) {
	h, _ := newResetWeb(t)
	rec := get(h, "/signin", "Accept-Language", "ja")
	if !strings.Contains(rec.Body.String(), `<a href="/password-assistant">パスワードをお忘れの場合</a>`) {
		t.Errorf("got sign-in page without the password assistant link:\n%s", rec.Body)
	}
	h, _ = newWeb(t, false)
	if rec := get(h, "/signin"); strings.Contains(rec.Body.String(), "/password-assistant") {
		t.Errorf("got the password assistant link without a reset service")
	}
	for _, target := range []string{"/password-assistant", "/password-assistant/choose?" + flowQuery} {
		if rec := get(h, target); rec.Code != 404 {
			t.Errorf("no reset service: GET %s = %d, want 404", target, rec.Code)
		}
	}
}

func TestResetFlowLeadsToChoosePage(t *testing.T) {
	tests := []struct {
		next   *flow.Next
		target string // GET
		want   string // Location
	}{
		{chooseNext(flow.ActionSetNewPassword), "/verify?" + flowQuery, "/password-assistant/choose?" + flowQuery},
		{&flow.Next{Step: flow.StepVerificationCode}, "/password-assistant/choose?" + flowQuery, "/verify?" + flowQuery},
	}
	for _, tt := range tests {
		h, e := newResetWeb(t)
		e.MustAddFlowAt(t, flow.KindReset, tt.next, nil)
		rec := get(h, tt.target)
		if rec.Code != 303 || rec.Header().Get("Location") != tt.want {
			t.Errorf("GET %s at %s: got %d %q, want 303 %s", tt.target, tt.next.Step, rec.Code, rec.Header().Get("Location"), tt.want)
		}
	}

	// The right code leads from /verify to the choice.
	h, e := newResetWeb(t)
	e.MustAddFlowAt(t, flow.KindReset, &flow.Next{Step: flow.StepVerificationCode}, nil)
	e.Script.ActFunc = func(f *flow.Flow, a flow.Action) (*flow.Answer, error) {
		f.Status, f.Step = flow.StatusOpen, flow.StepChoose
		return &flow.Answer{Flow: f, Next: chooseNext(flow.ActionSetNewPassword)}, nil
	}
	rec := post(h, "/verify?"+flowQuery, url.Values{"action": {"submit_code"}, "code": {"123456"}})
	if want := "/password-assistant/choose?" + flowQuery; rec.Code != 303 || rec.Header().Get("Location") != want {
		t.Errorf("right code: got %d %q, want 303 %s", rec.Code, rec.Header().Get("Location"), want)
	}
}

func TestResetChooseCompletes(t *testing.T) {
	tests := []url.Values{
		{"action": {"choose_sign_in_with_code"}},
		{"action": {"set_new_password"}, "password": {"sora-no-shita-7"}, "password_confirmation": {"sora-no-shita-7"}},
	}
	for _, form := range tests {
		t.Run(form.Get("action"), func(t *testing.T) {
			h, e := newResetWeb(t)
			e.MustAddFlowAt(t, flow.KindReset, chooseNext(flow.ActionSignInWithCode, flow.ActionSetNewPassword), nil)
			e.Script.ActFunc = func(f *flow.Flow, a flow.Action) (*flow.Answer, error) {
				f.Status = flow.StatusComplete
				return &flow.Answer{Flow: f, Next: &flow.Next{Step: flow.StepDone},
					Session: &flow.Grant{Token: "sess-tok", ExpiresAt: webtest.Epoch.Add(time.Hour), AAL: 1}, AccountID: "acc"}, nil
			}
			rec := post(h, "/password-assistant/choose?"+flowQuery, form)
			if rec.Code != 303 || rec.Header().Get("Location") != "/account" {
				t.Fatalf("got %d %q, want 303 /account", rec.Code, rec.Header().Get("Location"))
			}
			a, _ := e.Script.Last()
			if a.Name != form.Get("action") || a.Password != form.Get("password") || a.PasswordConfirmation != form.Get("password_confirmation") {
				t.Errorf("got flow action %+v, want the form's", a)
			}
			if !strings.Contains(strings.Join(rec.Result().Header["Set-Cookie"], "\n"), "ninsho_session=sess-tok") {
				t.Errorf("got no session cookie: %v", rec.Result().Header["Set-Cookie"])
			}
		})
	}

	h, e := newResetWeb(t)
	e.MustAddFlowAt(t, flow.KindReset, chooseNext(flow.ActionSetNewPassword), nil)
	rec := post(h, "/password-assistant/choose?"+flowQuery, url.Values{"action": {"submit_password"}, "password": {"x"}})
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), `name="password_confirmation"`) {
		t.Errorf("unknown action: got %d, want 400 and the choice page again:\n%s", rec.Code, rec.Body)
	}
}
