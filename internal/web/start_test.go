package web_test

import (
	"html"
	"net/url"
	"strings"
	"testing"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/store/storetest"
	"github.com/ninsho/ninsho/internal/web"
	"github.com/ninsho/ninsho/internal/web/webtest"
)

// These tests drive the CAPTCHA that the start gate puts before the code of
// a repeated sign-up, unlock or password assistant, against scripted flows.

// newStartWeb returns pages whose flows are scripted and that have every
// start page (the services' Start is not called through the script).
func newStartWeb(tb testing.TB) (*web.Handler, *webtest.Engine) {
	tb.Helper()
	e := webtest.NewEngine(tb)
	env := flowtest.New(tb, storetest.MustOpenSQLite(tb))
	h := mustWeb(tb, web.Deps{
		Realms: webtest.Realms(),
		Flows:  e.Engine,
		Signup: env.Signup,
		Signin: env.Signin,
		Unlock: env.Unlock,
		Reset:  env.Reset,
		Now:    e.Clock.Now,
	})
	return h, e
}

// startPages are the pages that start a flow the start gate may hold.
var startPages = []struct {
	kind   flow.Kind
	path   string
	golden string // golden file name prefix
}{
	{flow.KindSignup, "/signup", "signup"},
	{flow.KindUnlock, "/unlock", "unlock"},
	{flow.KindReset, "/password-assistant", "password_assistant"},
}

// captchaIncorrect answers like a start gate refusing a wrong answer: a new
// challenge and captcha_incorrect.
func captchaIncorrect(f *flow.Flow, a flow.Action) (*flow.Answer, error) {
	return &flow.Answer{Flow: f, Next: webtest.CaptchaNext()}, ninsho.FieldError(ninsho.CodeCaptchaIncorrect, "answer")
}

func TestStartCaptchaPagesGolden(t *testing.T) {
	wrong := url.Values{"flow": {webtest.FlowID}, "action": {"submit_captcha"}, "answer": {"000000"}, "identifier": {"+819012345678"}}
	tests := []struct {
		name   string
		kind   flow.Kind
		status int
		target string
		form   url.Values // nil: GET target
	}{
		{name: "signup_captcha", kind: flow.KindSignup, status: 200, target: "/signup?" + flowQuery},
		{name: "signup_captcha_incorrect", kind: flow.KindSignup, status: 400, target: "/signup", form: wrong},
		{name: "unlock_captcha", kind: flow.KindUnlock, status: 200, target: "/unlock?" + flowQuery},
		{name: "unlock_captcha_incorrect", kind: flow.KindUnlock, status: 400, target: "/unlock", form: wrong},
		{name: "password_assistant_captcha", kind: flow.KindReset, status: 200, target: "/password-assistant?" + flowQuery},
	}
	for _, lang := range []string{"ja", "en"} {
		for _, tt := range tests {
			t.Run(lang+"/"+tt.name, func(t *testing.T) {
				h, e := newStartWeb(t)
				e.MustAddFlowAt(t, tt.kind, webtest.CaptchaNext(), nil)
				e.Script.ActFunc = captchaIncorrect
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

// TestStartCaptchaPage: every start page shows a held flow's CAPTCHA the
// same way — the flow's identifier, the image, the audio in the page's
// language, the answer and "another image", both posted back to the page —
// and asks for no password.
func TestStartCaptchaPage(t *testing.T) {
	for _, sp := range startPages {
		t.Run(string(sp.kind), func(t *testing.T) {
			h, e := newStartWeb(t)
			e.MustAddFlowAt(t, sp.kind, webtest.CaptchaNext(), nil)
			rec := get(h, sp.path+"?"+flowQuery+"&lang=en")
			body := html.UnescapeString(rec.Body.String())
			if rec.Code != 200 {
				t.Fatalf("got status %d, want 200:\n%s", rec.Code, body)
			}
			for _, want := range []string{
				`<form method="post" action="` + sp.path + `" novalidate>` + "\n" + `<input type="hidden" name="flow" value="` + webtest.FlowID + `">` + "\n" + `<input type="hidden" name="action" value="submit_captcha">`,
				`<form method="post" action="` + sp.path + `">` + "\n" + `<input type="hidden" name="flow" value="` + webtest.FlowID + `">` + "\n" + `<input type="hidden" name="action" value="new_captcha">`,
				`name="identifier" type="text" value="090-1234-5678" autocomplete="username" readonly>`,
				`<img src="/api/v1/captcha/` + webtest.CaptchaID + `.png" width="240" height="80" alt="`,
				`<audio controls preload="none" src="/api/v1/captcha/` + webtest.CaptchaID + `.wav?lang=en">`,
				`name="answer" type="text" inputmode="numeric" autocomplete="off"`,
				// The language switch keeps the flow.
				`<a href="` + sp.path + `?flow=` + webtest.FlowID + `&lang=ja" lang="ja" hreflang="ja">`,
			} {
				if !strings.Contains(body, want) {
					t.Errorf("CAPTCHA page lacks %s", want)
				}
			}
			if strings.Contains(body, `type="password"`) {
				t.Errorf("CAPTCHA page asks for a password: the flow keeps what the start needs")
			}
		})
	}
}

func TestStartCaptchaActions(t *testing.T) {
	for _, sp := range startPages {
		t.Run(string(sp.kind), func(t *testing.T) {
			h, e := newStartWeb(t)
			e.MustAddFlowAt(t, sp.kind, webtest.CaptchaNext(), nil)
			form := func(action, answer string) url.Values {
				return url.Values{"flow": {webtest.FlowID}, "action": {action}, "answer": {answer}, "identifier": {"+819012345678"}}
			}

			// Another image: the page shows the flow's new challenge.
			const renewed = "01900000-0000-7000-8000-0000000000c2"
			e.Script.ActFunc = func(f *flow.Flow, a flow.Action) (*flow.Answer, error) {
				return &flow.Answer{Flow: f, Next: &flow.Next{Step: flow.StepCaptcha, Captcha: &flow.Captcha{
					ID: renewed, ImageURL: "/api/v1/captcha/" + renewed + ".png", AudioURL: "/api/v1/captcha/" + renewed + ".wav?lang=ja",
				}}}, nil
			}
			rec := post(h, sp.path, url.Values{"flow": {webtest.FlowID}, "action": {"new_captcha"}})
			if rec.Code != 200 || !strings.Contains(rec.Body.String(), `<img src="/api/v1/captcha/`+renewed+`.png"`) {
				t.Errorf("new_captcha: got %d, want 200 with the new image:\n%s", rec.Code, rec.Body)
			}
			if a, _ := e.Script.Last(); a.Name != "new_captcha" {
				t.Errorf("new_captcha: flow saw %+v", a)
			}

			// A wrong answer: the page says so, at the answer field.
			e.Script.ActFunc = captchaIncorrect
			rec = post(h, sp.path, form("submit_captcha", "000000"))
			if rec.Code != 400 || !strings.Contains(rec.Body.String(), `name="answer" type="text" inputmode="numeric" autocomplete="off" autocapitalize="none" autocorrect="off" spellcheck="false" maxlength="64" required aria-invalid="true"`) {
				t.Errorf("wrong answer: got %d, want 400 with the answer marked:\n%s", rec.Code, rec.Body)
			}

			// An answer too long never reaches the flow; the CAPTCHA stays.
			e.Script.LastAct = flow.Action{}
			rec = post(h, sp.path, form("submit_captcha", strings.Repeat("1", 300)))
			if rec.Code != 400 || !strings.Contains(rec.Body.String(), `name="action" value="submit_captcha"`) {
				t.Errorf("answer too long: got %d, want 400 with the CAPTCHA:\n%s", rec.Code, rec.Body)
			}
			if a, _ := e.Script.Last(); a.Name != "" {
				t.Errorf("answer too long reached the flow: %+v", a)
			}

			// The right answer sends the code: on to /verify.
			e.Script.ActFunc = func(f *flow.Flow, a flow.Action) (*flow.Answer, error) {
				f.Status, f.Step = flow.StatusChallenge, flow.StepVerificationCode
				return &flow.Answer{Flow: f, Next: &flow.Next{Step: flow.StepVerificationCode}}, nil
			}
			rec = post(h, sp.path, form("submit_captcha", "428193"))
			if want := "/verify?" + flowQuery; rec.Code != 303 || rec.Header().Get("Location") != want {
				t.Fatalf("right answer: got %d %q, want 303 %s:\n%s", rec.Code, rec.Header().Get("Location"), want, rec.Body)
			}
			if a, _ := e.Script.Last(); a.Name != "submit_captcha" || a.Answer != "428193" || a.Password != "" {
				t.Errorf("right answer: flow saw %+v", a)
			}
		})
	}
}

// TestStartCaptchaFlowGone: an answer for a flow that no longer is shows the
// start form again, with the identifier and the reason.
func TestStartCaptchaFlowGone(t *testing.T) {
	for _, sp := range startPages {
		t.Run(string(sp.kind), func(t *testing.T) {
			h, _ := newStartWeb(t) // no flow stored
			rec := post(h, sp.path, url.Values{"flow": {webtest.FlowID}, "action": {"submit_captcha"}, "answer": {"428193"}, "identifier": {"taro@example.jp"}})
			body := rec.Body.String()
			if rec.Code != 404 || !strings.Contains(body, `role="alert"`) || strings.Contains(body, `name="answer"`) ||
				!strings.Contains(body, `type="text" value="taro@example.jp" autocomplete="username" autocapitalize="none"`) {
				t.Errorf("got %d, want 404 with the start form, the identifier kept:\n%s", rec.Code, body)
			}
		})
	}
}

// TestHeldFlowsLeadToTheirStartPage: a flow held at the start gate's CAPTCHA
// is shown by its start page; the start page sends a flow that moved on to
// the page of its step.
func TestHeldFlowsLeadToTheirStartPage(t *testing.T) {
	for _, sp := range startPages {
		t.Run(string(sp.kind), func(t *testing.T) {
			h, e := newStartWeb(t)
			e.MustAddFlowAt(t, sp.kind, webtest.CaptchaNext(), nil)
			if rec, want := get(h, "/verify?"+flowQuery), sp.path+"?"+flowQuery; rec.Code != 303 || rec.Header().Get("Location") != want {
				t.Errorf("GET /verify of a held flow: got %d %q, want 303 %s", rec.Code, rec.Header().Get("Location"), want)
			}
			e.Script.NextStep = &flow.Next{Step: flow.StepVerificationCode}
			if rec, want := get(h, sp.path+"?"+flowQuery), "/verify?"+flowQuery; rec.Code != 303 || rec.Header().Get("Location") != want {
				t.Errorf("GET %s of a flow at its code: got %d %q, want 303 %s", sp.path, rec.Code, rec.Header().Get("Location"), want)
			}
		})
	}
	// A sign-in's CAPTCHA is the sign-in page's, whichever page is asked.
	h, e := newStartWeb(t)
	e.MustAddFlowAt(t, flow.KindSignin, webtest.CaptchaNext(), nil)
	if rec, want := get(h, "/signup?"+flowQuery), "/signin?"+flowQuery; rec.Code != 303 || rec.Header().Get("Location") != want {
		t.Errorf("GET /signup of a held sign-in: got %d %q, want 303 %s", rec.Code, rec.Header().Get("Location"), want)
	}
}
