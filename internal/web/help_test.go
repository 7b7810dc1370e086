package web_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/help"
	"github.com/ninsho/ninsho/internal/startgate"
	"github.com/ninsho/ninsho/internal/store/storetest"
	"github.com/ninsho/ninsho/internal/throttle"
	"github.com/ninsho/ninsho/internal/web"
	"github.com/ninsho/ninsho/internal/web/webtest"
)

// newHelpWeb returns pages on the real services with the help service.
func newHelpWeb(tb testing.TB) (*web.Handler, *flowtest.Env) {
	tb.Helper()
	env := flowtest.New(tb, storetest.MustOpenSQLite(tb))
	counter := &throttle.Counter{Store: env.DB, Clock: env.Clock}
	hs := &help.Service{Kit: env.Kit, Realms: env.Realms, Store: env.DB, Counter: counter,
		Gate: &startgate.Gate{Counter: counter, Limits: map[flow.Kind]startgate.Limits{flow.KindHelp: help.StartLimits}}}
	env.Engine.Handlers[flow.KindHelp] = hs
	return mustWeb(tb, web.Deps{
		Realms: env.Realms, Flows: env.Engine, Signup: env.Signup, Signin: env.Signin,
		Unlock: env.Unlock, Reset: env.Reset, Help: hs, Now: env.Clock.Now,
	}), env
}

var hrefPattern = regexp.MustCompile(`href="(/[^"]*)"`)

// mainLinks returns the site-relative links inside <main> of body.
func mainLinks(body string) []string {
	start, end := strings.Index(body, "<main"), strings.Index(body, "</main>")
	if start < 0 || end < start {
		return nil
	}
	var out []string
	for _, m := range hrefPattern.FindAllStringSubmatch(body[start:end], -1) {
		out = append(out, strings.ReplaceAll(m[1], "&amp;", "&"))
	}
	return out
}

// TestHelpTroubleshooterPages walks every question of the troubleshooter
// in Japanese and English: each page answers 200, asks nothing, carries the
// reference number along, and every page it links to answers 200 — but
// /recovery, which the document recovery builds, and which only "lost my
// phone, no backup code" leads to.
func TestHelpTroubleshooterPages(t *testing.T) {
	h, _ := newHelpWeb(t)
	cookie := []string{"Cookie", "ninsho_cookies=1"}
	for _, lang := range []string{"ja", "en"} {
		start := get(h, "/help?lang="+lang+"&ref=01a2107b-0c3d-7e4f-8a9b-0c1d2e3f4a5b", cookie...)
		if start.Code != 200 {
			t.Fatalf("%s /help: %d", lang, start.Code)
		}
		webtest.Golden(t, lang+"/help.golden", page(start))
		seen := map[string]bool{}
		queue := mainLinks(start.Body.String())
		recovery := ""
		for len(queue) > 0 {
			link := queue[0]
			queue = queue[1:]
			if seen[link] {
				continue
			}
			seen[link] = true
			if strings.HasPrefix(link, "/recovery") {
				recovery = link
				continue
			}
			sep := "?"
			if strings.Contains(link, "?") {
				sep = "&"
			}
			rec := get(h, link+sep+"lang="+lang, cookie...)
			if rec.Code != 200 {
				t.Errorf("%s %s: %d, want 200", lang, link, rec.Code)
				continue
			}
			body := rec.Body.String()
			if strings.HasPrefix(link, "/help?") {
				if strings.Contains(body, "<form") {
					t.Errorf("%s %s asks something (a form)", lang, link)
				}
				if !strings.Contains(body, "01a2107b-0c3d-7e4f-8a9b-0c1d2e3f4a5b") {
					t.Errorf("%s %s lost the reference number", lang, link)
				}
				queue = append(queue, mainLinks(body)...)
			}
		}
		if recovery != "/recovery" {
			t.Errorf("%s: link to document recovery %q, want /recovery", lang, recovery)
		}
		for _, want := range []string{"/password-assistant", "/unlock", "/signin", "/signup", "/help/request?ref=01a2107b-0c3d-7e4f-8a9b-0c1d2e3f4a5b&step=suspended", "/help/request?ref=01a2107b-0c3d-7e4f-8a9b-0c1d2e3f4a5b&step=other"} {
			if !seen[want] {
				t.Errorf("%s: no page of the troubleshooter leads to %s", lang, want)
			}
		}
		code := get(h, "/help?q=code&lang="+lang, cookie...)
		webtest.Golden(t, lang+"/help_code.golden", page(code))
		region := get(h, "/help?q=region&lang="+lang, cookie...).Body.String()
		if !strings.Contains(region, "https://id.example.jp") || !strings.Contains(region, "https://id.example.com") {
			t.Errorf("%s: the regional sites are not listed with their addresses", lang)
		}
		// "Lost my phone" and no backup code leads to document recovery.
		phone := get(h, "/help?q=phone&lang="+lang, cookie...).Body.String()
		if !strings.Contains(phone, `href="/help?q=phone_none"`) {
			t.Fatalf("%s: lost phone offers no \"neither\" answer", lang)
		}
		none := get(h, "/help?q=phone_none&lang="+lang, cookie...).Body.String()
		if !strings.Contains(none, `href="/recovery"`) {
			t.Errorf("%s: no backup code does not lead to /recovery", lang)
		}
	}
	// A reference that is not one is not carried (nor reflected).
	rec := get(h, "/help?ref=%3Cscript%3E", cookie...)
	if strings.Contains(rec.Body.String(), "script%3E") || strings.Contains(rec.Body.String(), "&lt;script") {
		t.Errorf("a bad ref was reflected")
	}
}

// TestHelpRequestThroughPages: the request form keeps the reference and the
// step it was opened with; a refused post shows the form again with what was
// typed (the description as text); a good one leads to the code page, and
// the right code to the reference.
func TestHelpRequestThroughPages(t *testing.T) {
	h, env := newHelpWeb(t)
	b := jar{"ninsho_cookies": "1"}
	for _, lang := range []string{"ja", "en"} {
		rec := get(h, "/help/request?lang="+lang+"&ref=s-7kp4-mx3c&step=suspended", b.header()...)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), `value="S-7KP4-MX3C"`) || !strings.Contains(rec.Body.String(), `value="suspended" selected`) {
			t.Fatalf("%s form: %d without the reference and step", lang, rec.Code)
		}
		webtest.Golden(t, lang+"/help_request.golden", page(rec))
	}
	rec := post(h, "/help/request", url.Values{"step": {"nothing"}, "contact": {"x"}, "description": {"<b>太字</b>"}}, b.header()...)
	body := rec.Body.String()
	if rec.Code != 400 || !strings.Contains(body, `href="#step"`) || !strings.Contains(body, `href="#contact"`) ||
		!strings.Contains(body, "&lt;b&gt;太字&lt;/b&gt;") || strings.Contains(body, "<b>太字") {
		t.Fatalf("refused post: %d %s", rec.Code, body)
	}
	rec = post(h, "/help/request", url.Values{"step": {"code_not_received"}, "contact": {"contact@example.net"},
		"identifier": {"someone@example.jp"}, "description": {"届きません"}}, b.header()...)
	if rec.Code != 303 || !strings.HasPrefix(rec.Header().Get("Location"), "/verify?flow=") {
		t.Fatalf("post: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	b.take(t, rec.Result())
	verify := rec.Header().Get("Location")
	rec = get(h, verify, b.header()...)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `href="/help/request"`) {
		t.Fatalf("code page: %d", rec.Code)
	}
	rec = post(h, verify, url.Values{"action": {"submit_code"}, "code": {env.LastCode(t, "contact@example.net")}}, b.header()...)
	loc := rec.Header().Get("Location")
	if rec.Code != 303 || !regexp.MustCompile(`^/help/request/done\?flow=[0-9a-f-]+$`).MatchString(loc) {
		t.Fatalf("right code: %d %q", rec.Code, loc)
	}
	b.take(t, rec.Result())
	rec = get(h, loc+"&lang=en", b.header()...)
	m := regexp.MustCompile(`H-[A-Z0-9]{4}-[A-Z0-9]{4}`).FindString(rec.Body.String())
	if rec.Code != 200 || m == "" || !strings.Contains(rec.Body.String(), "data-help-due") ||
		!strings.Contains(rec.Body.String(), "We will answer by "+env.Clock.Now().Add(48*time.Hour).UTC().Format("2006-01-02 15:04 UTC")) {
		t.Errorf("done page: %d without the reference and the due time:\n%s", rec.Code, rec.Body)
	}
	// Another browser, or a made-up reference, is told nothing.
	for _, target := range []string{loc, "/help/request/done?ref=H-AAAA-AAAA", "/help/request/done?ref=" + m, "/help/request/done"} {
		rec := get(h, target)
		if rec.Code != 200 || strings.Contains(rec.Body.String(), "data-help-done") || strings.Contains(rec.Body.String(), "H-AAAA-AAAA") || strings.Contains(rec.Body.String(), m) {
			t.Errorf("%s from another browser: %d, want the generic page:\n%s", target, rec.Code, rec.Body)
		}
	}
}
