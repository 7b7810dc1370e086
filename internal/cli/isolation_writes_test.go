package cli_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/recovery"
	"github.com/ninsho/ninsho/internal/recovery/recoverytest"
)

// isoEnv is TestRealmIsolation's server once its two sign-ups and the
// checks of GET routes are done: jp (the attacked realm, 127.0.0.1) and us
// (localhost), one address signed up in both, jp's account with an
// authenticator app and a trusted device.
type isoEnv struct {
	t                *testing.T
	clock            *offsetClock
	sent             *deliveries
	jp, us           *client
	email, pw        string
	jpToken, usToken string
	jpDevice         string
	jpSecret         string
	ids              map[string]string // {session}, {device}, … of jp's account
}

// isoProblem is what a refusal carries.
type isoProblem struct {
	Code   string `json:"code"`
	Errors []struct {
		Code string `json:"code"`
	} `json:"errors"`
}

func (p isoProblem) code() string {
	if p.Code == "" && len(p.Errors) > 0 {
		return p.Errors[0].Code
	}
	return p.Code
}

// fill puts jp's ids into a path or a body.
func (e *isoEnv) fill(s string) string {
	for k, v := range e.ids {
		s = strings.ReplaceAll(s, "{"+k+"}", v)
	}
	return s
}

func (e *isoEnv) fillBody(b any) any {
	if b == nil {
		return nil
	}
	raw, _ := json.Marshal(b)
	var out any
	json.Unmarshal([]byte(e.fill(string(raw))), &out)
	return out
}

// routeRequest is r's method and path (filled), at home or at the other
// realm.
func (e *isoEnv) routeRequest(r isoRoute, home bool) (method, path string, body any) {
	method, path, _ = strings.Cut(r.pattern, " ")
	body = r.body
	if r.path != "" {
		path = r.path
	}
	if home && r.homePath != "" {
		path = r.homePath
	}
	if home && r.homeBody != nil {
		body = r.homeBody
	}
	return method, e.fill(path), e.fillBody(body)
}

// pageAnswer is what a hosted page answered.
type pageAnswer struct {
	status int
	loc    string
	body   string
	set    []*http.Cookie
}

// page sends a browser's request: the browser's User-Agent, a same-origin
// Sec-Fetch-Site (so a POST passes the pages' cross-origin check and the
// answer is the realm's doing), the cookie check's cookie and the cookies
// given.
func (e *isoEnv) page(c *client, method, path string, form url.Values, cookies ...*http.Cookie) pageAnswer {
	e.t.Helper()
	var rd io.Reader
	if form != nil {
		rd = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("User-Agent", browserUA)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.AddCookie(&http.Cookie{Name: "ninsho_cookies", Value: "1"})
	for _, ck := range cookies {
		req.AddCookie(ck)
	}
	res, err := c.http.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s%s: %v", method, c.base, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return pageAnswer{res.StatusCode, res.Header.Get("Location"), string(raw), res.Cookies()}
}

// apiAs sends a JSON request with the User-Agent given (client.call sends
// a browser's).
func (e *isoEnv) apiAs(c *client, ua, method, path string, body any, out any) (int, []byte) {
	e.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, c.base+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", ua)
	res, err := c.http.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if out != nil {
		json.Unmarshal(raw, out)
	}
	return res.StatusCode, raw
}

// volatile matches the values a snapshot leaves out: the owner's own
// requests move last_active_at and last_seen_at (at most once a minute of
// the test's clock, which runs), and purge_at is counted from now.
var volatile = regexp.MustCompile(`"(last_active_at|last_seen_at|purge_at)":"[^"]*"`)

// snapshot is everything jp's account shows its owner through the API: a
// refused request at us that changed anything in jp changes it.
func (e *isoEnv) snapshot() string {
	e.t.Helper()
	var sb strings.Builder
	for _, path := range []string{"/api/v1/me", "/api/v1/me/two-step", "/api/v1/me/two-step/passkeys", "/api/v1/me/trusted-devices",
		"/api/v1/me/sessions", "/api/v1/me/devices", "/api/v1/me/history", "/api/v1/me/apps", "/api/v1/me/close"} {
		status, raw := e.jp.call("GET", path, e.jpToken, nil, nil)
		if status != http.StatusOK {
			e.t.Fatalf("snapshot: GET %s at jp: %d %s", path, status, raw)
		}
		sb.WriteString(path + " " + volatile.ReplaceAllString(string(raw), "") + "\n")
	}
	return sb.String()
}

// collectIDs reads the ids of jp's session (another than jpToken's),
// device, trusted device, authenticator app and a history entry.
func (e *isoEnv) collectIDs() {
	e.t.Helper()
	var sessions struct {
		Sessions []struct {
			ID      string `json:"id"`
			Current bool   `json:"current"`
		} `json:"sessions"`
	}
	var devices, trusted struct {
		Devices []struct {
			ID string `json:"id"`
		} `json:"devices"`
	}
	var twoStep struct {
		Methods []struct {
			ID     string `json:"id"`
			Method string `json:"method"`
		} `json:"methods"`
	}
	var history struct {
		Entries []struct {
			ID string `json:"id"`
		} `json:"entries"`
	}
	e.jp.call("GET", "/api/v1/me/sessions", e.jpToken, nil, &sessions)
	e.jp.call("GET", "/api/v1/me/devices", e.jpToken, nil, &devices)
	e.jp.call("GET", "/api/v1/me/trusted-devices", e.jpToken, nil, &trusted)
	e.jp.call("GET", "/api/v1/me/two-step", e.jpToken, nil, &twoStep)
	e.jp.call("GET", "/api/v1/me/history", e.jpToken, nil, &history)
	e.ids = map[string]string{"bogus": "01a2107c-7d5d-7ff0-95d4-3420e443ba28"}
	for _, s := range sessions.Sessions {
		if !s.Current {
			e.ids["session"] = s.ID
		}
	}
	if len(devices.Devices) > 0 {
		e.ids["device"] = devices.Devices[0].ID
	}
	if len(trusted.Devices) > 0 {
		e.ids["trusted"] = trusted.Devices[0].ID
	}
	if len(twoStep.Methods) > 0 {
		e.ids["method"] = twoStep.Methods[0].ID
	}
	if len(history.Entries) > 0 {
		e.ids["history"] = history.Entries[0].ID
	}
	e.collectOrgIDs() // isolation_orgs_test.go
	for _, k := range []string{"session", "device", "trusted", "method", "history", "org", "invitation", "account"} {
		if e.ids[k] == "" {
			e.t.Fatalf("jp's account has no %s to attack: sessions %+v devices %+v trusted %+v two-step %+v history %d", k, sessions, devices, trusted, twoStep, len(history.Entries))
		}
	}
}

// isolateEveryRoute is the second half of TestRealmIsolation: every route
// of isoRoutes that takes a session, a flow, a link or a CAPTCHA, with
// what jp handed out, at us — refused with the documented answer, and jp's
// account unchanged — and at jp, where it is accepted.
func isolateEveryRoute(t *testing.T, e *isoEnv) {
	e.collectIDs()
	before := e.snapshot()

	// The session token on every API route: 401 unauthenticated at us.
	for _, r := range isoRoutes {
		if r.kind != isoSession {
			continue
		}
		method, path, body := e.routeRequest(r, false)
		var p isoProblem
		if status, raw := e.us.call(method, path, e.jpToken, body, &p); status != http.StatusUnauthorized || p.Code != "unauthenticated" {
			t.Errorf("jp's session at us: %s %s: %d %s, want 401 unauthenticated", method, path, status, raw)
		}
	}

	// The session cookie on every page: at us, as without a cookie.
	jpCookie := &http.Cookie{Name: "ninsho_session", Value: e.jpToken}
	for _, r := range isoRoutes {
		if r.kind != isoPage {
			continue
		}
		method, path, _ := e.routeRequest(r, false)
		var form url.Values
		if method == "POST" {
			form = url.Values{}
		}
		anon := e.page(e.us, method, path, form)
		got := e.page(e.us, method, path, form, jpCookie)
		if got.status != anon.status || got.loc != anon.loc {
			t.Errorf("jp's cookie at us: %s %s: %d to %q, want as without a session: %d to %q", method, path, got.status, got.loc, anon.status, anon.loc)
		}
		if got.status != http.StatusSeeOther || !strings.HasPrefix(got.loc, "/signin") {
			t.Errorf("jp's cookie at us: %s %s: %d to %q, want 303 to /signin", method, path, got.status, got.loc)
		}
	}

	// us's own session with jp's ids: every one is another account's.
	for _, tc := range []struct {
		method, path string
		body         any
	}{
		{"DELETE", "/api/v1/me/sessions/{session}", nil},
		{"DELETE", "/api/v1/me/trusted-devices/{trusted}", nil},
		{"DELETE", "/api/v1/me/two-step/methods/{method}", nil},
		{"PUT", "/api/v1/me/two-step/preferred", map[string]any{"credential_id": "{method}"}},
		{"POST", "/api/v1/me/two-step/totp/{method}/verify", map[string]any{"code": "123456"}},
		{"POST", "/api/v1/me/two-step/phone/{method}/verify", map[string]any{"code": "123456"}},
		{"POST", "/api/v1/me/two-step/phone/{method}/resend", nil},
		{"POST", "/api/v1/me/history/{history}/not-me", nil},
	} {
		var p isoProblem
		path := e.fill(tc.path)
		if status, raw := e.us.call(tc.method, path, e.usToken, e.fillBody(tc.body), &p); status != http.StatusNotFound || p.code() != "not_found" {
			t.Errorf("us's session with jp's id: %s %s: %d %s, want 404 not_found", tc.method, tc.path, status, raw)
		}
	}
	// jp's organisation, invitation and approval link (before us forgets
	// the device, which ends us's session).
	e.isolateOrgs() // isolation_orgs_test.go

	// The device id is the keyed hash of the token, the same in both
	// realms; us's account signed in from that browser too, so us forgets
	// its own link to it — and jp's account keeps it (the snapshot).
	if status, raw := e.us.call("DELETE", e.fill("/api/v1/me/devices/{device}"), e.usToken, nil, nil); status >= 500 || status == http.StatusUnauthorized {
		t.Errorf("us's session forgetting the device: %d %s", status, raw)
	}

	if after := e.snapshot(); after != before {
		t.Errorf("jp's account changed by requests at us:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	// Signing out at us ended nothing (the snapshot); at home a session
	// signs out, with the token and with the cookie.
	for _, cookie := range []bool{false, true} {
		token := e.freshSession()
		if cookie {
			if got := e.page(e.jp, "POST", "/signout", url.Values{}, &http.Cookie{Name: "ninsho_session", Value: token}); got.status != http.StatusSeeOther || got.loc != "/signin" {
				t.Errorf("POST /signout at home: %d to %q", got.status, got.loc)
			}
		} else if status, raw := e.jp.call("POST", "/api/v1/signout", token, nil, nil); status != http.StatusNoContent {
			t.Errorf("POST /api/v1/signout at home: %d %s", status, raw)
		}
		if status, _ := e.jp.call("GET", "/api/v1/me", token, nil, nil); status != http.StatusUnauthorized {
			t.Errorf("a session signed out at home (cookie %v): GET /api/v1/me %d, want 401", cookie, status)
		}
	}

	// At home the same session is accepted by every route (the harmless
	// form of the request where the attack's would destroy something).
	for _, r := range isoRoutes {
		if r.kind != isoSession || r.skipHome {
			continue
		}
		method, path, body := e.routeRequest(r, true)
		status, raw := e.jp.call(method, path, e.jpToken, body, nil)
		if status == http.StatusUnauthorized || status >= 500 {
			t.Errorf("jp's session at home: %s %s: %d %s", method, path, status, raw)
		}
	}
	for _, r := range isoRoutes {
		if r.kind != isoPage || r.skipHome {
			continue
		}
		method, path, _ := e.routeRequest(r, true)
		var form url.Values
		if method == "POST" {
			form = url.Values{}
		}
		got := e.page(e.jp, method, path, form, jpCookie)
		if (got.status == http.StatusSeeOther && strings.HasPrefix(got.loc, "/signin")) || got.status >= 500 {
			t.Errorf("jp's cookie at home: %s %s: %d to %q", method, path, got.status, got.loc)
		}
	}
	if status, raw := e.jp.call("GET", "/api/v1/me", e.jpToken, nil, nil); status != http.StatusOK {
		t.Fatalf("jp's session after the home requests: %d %s", status, raw)
	}

	e.isolateCaptcha()
	undo, cancel := e.isolateFlowsAndLinks()
	// The cancel link, refused at us, cancels jp's case at home.
	var cs struct {
		Status string `json:"status"`
	}
	if status, raw := e.jp.call("POST", "/api/v1/recovery/cancel", "", map[string]string{"token": cancel}, &cs); status != http.StatusOK || cs.Status != "cancelled" {
		t.Errorf("jp's cancel link at home: %d %s, want 200 cancelled", status, raw)
	}
	// Last, as it ends every session of jp's account: the undo link,
	// refused at us, works at home.
	var f flowJSON
	if status, raw := e.jp.call("POST", "/api/v1/contact-undo", "", map[string]string{"token": undo}, &f); status != http.StatusOK || f.ID == "" {
		t.Errorf("jp's undo link at home: %d %s, want 200 with an unlock flow", status, raw)
	}
}

// freshSession signs jp's account in again from its trusted device.
func (e *isoEnv) freshSession() string {
	e.t.Helper()
	var f flowJSON
	if status, raw := e.jp.call("POST", "/api/v1/signin", "", map[string]string{"identifier": e.email, "password": e.pw, "device_token": e.jpDevice}, &f); status != http.StatusOK || f.Session == nil {
		e.t.Fatalf("jp sign-in from the trusted device: %d %s", status, raw)
	}
	return f.Session.Token
}

// captchaFlow is a start held at its CAPTCHA.
type captchaFlow struct {
	ID   string `json:"id"`
	Code string `json:"code"`
	Next *struct {
		Step    string `json:"step"`
		Captcha *struct {
			ID       string `json:"id"`
			ImageURL string `json:"image_url"`
			AudioURL string `json:"audio_url"`
		} `json:"captcha"`
	} `json:"next"`
}

// heldUnlock starts an unlock from an HTTP library at c, which the CAPTCHA
// holds, and returns the flow and the challenge's answer.
func (e *isoEnv) heldUnlock(c *client) (captchaFlow, string) {
	e.t.Helper()
	var f captchaFlow
	status, raw := e.apiAs(c, "curl/8.5.0", "POST", "/api/v1/unlock", map[string]string{"identifier": e.email}, &f)
	if status != http.StatusBadRequest || f.ID == "" || f.Next == nil || f.Next.Step != "captcha" || f.Next.Captcha == nil {
		e.t.Fatalf("unlock by an HTTP library at %s: %d %s, want 400 captcha_required", c.base, status, raw)
	}
	var ans struct {
		Answer string `json:"answer"`
	}
	if status, raw := c.call("GET", "/dev/api/captcha/"+f.Next.Captcha.ID, "", nil, &ans); status != http.StatusOK || ans.Answer == "" {
		e.t.Fatalf("the development answer at %s: %d %s", c.base, status, raw)
	}
	return f, ans.Answer
}

// isolateCaptcha: a CAPTCHA of jp is not served at us, its flow is unknown
// there, and its answer does not release us's held start.
func (e *isoEnv) isolateCaptcha() {
	t := e.t
	jpHeld, jpAnswer := e.heldUnlock(e.jp)
	usHeld, usAnswer := e.heldUnlock(e.us)
	media := func(c *client, path string) int {
		req, _ := http.NewRequest("GET", c.base+path, nil)
		req.Header.Set("User-Agent", browserUA)
		res, err := c.http.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for _, path := range []string{jpHeld.Next.Captcha.ImageURL, jpHeld.Next.Captcha.AudioURL} {
		u, _ := url.Parse(path)
		if got := media(e.jp, u.RequestURI()); got != http.StatusOK {
			t.Errorf("jp's CAPTCHA %s at home: %d", u.Path, got)
		}
		var p isoProblem
		if status, raw := e.us.call("GET", u.RequestURI(), "", nil, &p); status != http.StatusNotFound || p.Code != "not_found" {
			t.Errorf("jp's CAPTCHA %s at us: %d %s, want 404 not_found", u.Path, status, raw)
		}
	}
	var p isoProblem
	if status, raw := e.us.call("POST", "/api/v1/flows/"+jpHeld.ID, "", map[string]string{"action": "submit_captcha", "answer": jpAnswer}, &p); status != http.StatusNotFound || p.Code != "flow_not_found" {
		t.Errorf("jp's held start answered at us: %d %s, want 404 flow_not_found", status, raw)
	}
	if jpAnswer != usAnswer {
		var f captchaFlow
		status, raw := e.us.call("POST", "/api/v1/flows/"+usHeld.ID, "", map[string]string{"action": "submit_captcha", "answer": jpAnswer}, &f)
		var p isoProblem
		json.Unmarshal(raw, &p)
		if status != http.StatusBadRequest || p.code() != "captcha_incorrect" || f.Next == nil || f.Next.Step != "captcha" {
			t.Errorf("jp's CAPTCHA answer to us's held start: %d %s, want 400 captcha_incorrect, still held", status, raw)
		}
	}
	// At home the answer releases the start: the code goes out.
	var f captchaFlow
	if status, raw := e.jp.call("POST", "/api/v1/flows/"+jpHeld.ID, "", map[string]string{"action": "submit_captcha", "answer": jpAnswer}, &f); status != http.StatusOK || f.Next == nil || f.Next.Step != "verification_code" {
		t.Errorf("jp's CAPTCHA answered at home: %d %s, want 200 at verification_code", status, raw)
	}
	e.sent.wait(t, t.Context(), e.email, func(m *message.Outgoing) bool { return m.Realm == "jp" && m.Template == message.TemplateUnlockCode })
}

// isolateFlowsAndLinks: flows of every kind the API drives (reauth,
// contact change, unlock, sign-in, recovery) and a page flow are unknown at
// us; the "this wasn't me" and contact undo links of jp do nothing at us,
// on the pages and the API, and stay good at home. It returns the tokens of
// the undo link and of the recovery case's cancel link.
func (e *isoEnv) isolateFlowsAndLinks() (string, string) {
	t := e.t
	flows := map[string]string{}
	var f flowJSON
	if status, raw := e.jp.call("POST", "/api/v1/reauth", e.jpToken, map[string]string{"password": e.pw}, &f); status != http.StatusCreated {
		t.Fatalf("reauth at jp: %d %s", status, raw)
	}
	flows["reauth"] = f.ID
	const newEmail = "hanako.new@example.com"
	f = flowJSON{}
	if status, raw := e.jp.call("POST", "/api/v1/me/email", e.jpToken, map[string]string{"email": newEmail}, &f); status != http.StatusCreated && status != http.StatusOK {
		t.Fatalf("contact change at jp: %d %s", status, raw)
	}
	flows["contact"] = f.ID
	f = flowJSON{}
	if status, raw := e.jp.call("POST", "/api/v1/recovery", "", map[string]string{"identifier": e.email, "password": e.pw}, &f); status >= 300 || f.ID == "" {
		t.Fatalf("recovery at jp: %d %s", status, raw)
	}
	flows["recovery"] = f.ID
	for kind, id := range flows {
		if status, raw := e.jp.call("GET", "/api/v1/flows/"+id, e.jpToken, nil, nil); status != http.StatusOK {
			t.Errorf("jp's %s flow at home: GET %d %s", kind, status, raw)
		}
		for _, tc := range []struct {
			method, path string
			body         any
		}{
			{"GET", "/api/v1/flows/" + id, nil},
			{"POST", "/api/v1/flows/" + id, map[string]string{"action": "submit_code", "code": "123456"}},
		} {
			var p isoProblem
			if status, raw := e.us.call(tc.method, tc.path, e.jpToken, tc.body, &p); status != http.StatusNotFound || p.code() != "flow_not_found" {
				t.Errorf("jp's %s flow at us: %s %s: %d %s, want 404 flow_not_found", kind, tc.method, tc.path, status, raw)
			}
		}
	}
	req, _ := http.NewRequest("PUT", e.us.base+"/api/v1/recovery/"+flows["recovery"]+"/documents/front?document_type=passport", strings.NewReader("\x89PNG\r\n\x1a\n"))
	req.Header.Set("Content-Type", "image/png")
	req.Header.Set("User-Agent", browserUA)
	if res, err := e.us.http.Do(req); err != nil {
		t.Fatal(err)
	} else {
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var p isoProblem
		json.Unmarshal(raw, &p)
		if res.StatusCode != http.StatusNotFound || p.code() != "flow_not_found" {
			t.Errorf("a document for jp's recovery flow at us: %d %s, want 404 flow_not_found", res.StatusCode, raw)
		}
	}

	// A page flow: a sign-in on jp's page from a browser new to the
	// account, at its second factor. At us, every page of a flow answers its id and binding
	// cookie exactly as a made-up id with a cookie of that name.
	start := e.page(e.jp, "POST", "/signin", url.Values{"identifier": {e.email}, "password": {e.pw}})
	loc, _ := url.Parse(start.loc)
	pageFlow := loc.Query().Get("flow")
	var bind *http.Cookie
	for _, ck := range start.set {
		if ck.Name == "ninsho_flow_"+pageFlow {
			bind = ck
		}
	}
	if start.status != http.StatusSeeOther || loc.Path != "/two-step" || bind == nil {
		t.Fatalf("page sign-in at jp: %d to %q, cookies %v", start.status, start.loc, start.set)
	}
	e.clock.nextStep()
	code := totpAt(t, e.jpSecret, e.clock.Now())
	madeUp := "01a2107c-7d5d-7ff0-95d4-3420e443ba28"
	madeUpCookie := &http.Cookie{Name: "ninsho_flow_" + madeUp, Value: bind.Value}
	for _, r := range isoRoutes {
		if r.kind != isoFlow || strings.Contains(r.pattern, "/api/") {
			continue
		}
		method, path, _ := strings.Cut(r.pattern, " ")
		ask := func(id string, ck *http.Cookie) pageAnswer {
			if method == "GET" {
				return e.page(e.us, method, path+"?flow="+id, nil, ck)
			}
			// The id in the address (the forms' action) and in the form.
			return e.page(e.us, method, path+"?flow="+id, url.Values{"flow": {id}, "code": {code}, "password": {e.pw}, "identifier": {e.email}}, ck)
		}
		want, got := ask(madeUp, madeUpCookie), ask(pageFlow, bind)
		// A start (/unlock, /password-assistant) makes a flow of us's own.
		want.loc, got.loc = anyID.ReplaceAllString(want.loc, "ID"), anyID.ReplaceAllString(got.loc, "ID")
		if got.status != want.status || got.loc != want.loc || strings.Contains(got.loc, pageFlow) {
			t.Errorf("jp's page flow at us: %s %s: %d to %q, want as an unknown flow: %d to %q", method, path, got.status, got.loc, want.status, want.loc)
		}
	}
	if got := e.page(e.jp, "GET", "/two-step?flow="+pageFlow, nil, bind); got.status != http.StatusOK {
		t.Errorf("jp's page flow at home: GET /two-step %d", got.status)
	}
	if got := e.page(e.jp, "POST", "/two-step?flow="+pageFlow, url.Values{"flow": {pageFlow}, "action": {"submit_second_factor"}, "code": {code}}, bind); got.status != http.StatusSeeOther || got.loc != "/account" {
		t.Errorf("jp's page flow completed at home: %d to %q, want 303 to /account: %s", got.status, got.loc, got.body)
	}

	// Links: the sign-in from a new browser sent a "this wasn't me" link;
	// the contact change, once confirmed, sends an undo link to the old
	// address.
	notMe := linkOf(t, e.sent.wait(t, t.Context(), e.email, func(m *message.Outgoing) bool {
		return m.Realm == "jp" && m.Template == message.TemplateSigninAlert
	}))
	f = flowJSON{}
	if status, raw := e.jp.call("POST", "/api/v1/flows/"+flows["contact"], e.jpToken, map[string]string{"action": "submit_code", "code": e.sent.wait(t, t.Context(), newEmail, hasCode).Code}, &f); status != http.StatusOK || f.Status != "complete" {
		t.Fatalf("contact change confirmed at jp: %d %s", status, raw)
	}
	undo := linkOf(t, e.sent.wait(t, t.Context(), e.email, func(m *message.Outgoing) bool {
		return m.Realm == "jp" && m.Template == message.TemplateContactChanged
	}))
	// The recovery case, once its document is in, sends a cancel link.
	req, _ = http.NewRequest("PUT", e.jp.base+"/api/v1/recovery/"+flows["recovery"]+"/documents/front?document_type=drivers_license", bytes.NewReader(recoverytest.MustPNG(t)))
	req.Header.Set("Content-Type", "image/png")
	req.Header.Set("User-Agent", browserUA)
	if res, err := e.jp.http.Do(req); err != nil {
		t.Fatal(err)
	} else if res.Body.Close(); res.StatusCode != http.StatusOK {
		t.Fatalf("a document for jp's recovery flow at home: %d", res.StatusCode)
	}
	if status, raw := e.jp.call("POST", "/api/v1/flows/"+flows["recovery"], "", map[string]string{"action": "submit_documents"}, nil); status != http.StatusOK {
		t.Fatalf("jp's recovery case submitted: %d %s", status, raw)
	}
	// The address is newEmail by now.
	cancel := linkOf(t, e.sent.wait(t, t.Context(), newEmail, func(m *message.Outgoing) bool {
		return m.Realm == "jp" && m.Template == recovery.TemplateOpened
	}))
	before := e.snapshot()
	const bogus = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	for _, tc := range []struct {
		name, token, page, short, api string
	}{
		{"this wasn't me", notMe, "/signin/not-me", "/n/", "/api/v1/not-me"},
		{"contact undo", undo, "/account/contact-undo", "/c/", "/api/v1/contact-undo"},
		{"recovery cancel", cancel, "/recovery/cancel", "", "/api/v1/recovery/cancel"},
	} {
		for _, side := range []struct {
			method, path string
			form         func(string) url.Values
		}{
			{"GET", tc.page + "?token=%s", nil},
			{"GET", tc.short + "%s", nil},
			{"POST", tc.page, func(tok string) url.Values { return url.Values{"token": {tok}} }},
		} {
			if side.path == "%s" {
				continue // no short form
			}
			ask := func(tok string) pageAnswer {
				path := side.path
				if strings.Contains(path, "%s") {
					path = strings.Replace(path, "%s", url.QueryEscape(tok), 1)
				}
				var form url.Values
				if side.form != nil {
					form = side.form(tok)
				}
				return e.page(e.us, side.method, path, form)
			}
			want, got := ask(bogus), ask(tc.token)
			if got.status != want.status || got.loc != want.loc || got.status < 400 {
				t.Errorf("jp's %s link at us: %s %s: %d to %q, want as an unknown link: %d to %q", tc.name, side.method, side.path, got.status, got.loc, want.status, want.loc)
			}
		}
		var p isoProblem
		if status, raw := e.us.call("POST", tc.api, "", map[string]string{"token": tc.token}, &p); status != http.StatusNotFound || p.code() != "not_found" {
			t.Errorf("jp's %s link at us: POST %s: %d %s, want 404 not_found", tc.name, tc.api, status, raw)
		}
		if got := e.page(e.jp, "GET", tc.page+"?token="+url.QueryEscape(tc.token), nil); got.status != http.StatusOK {
			t.Errorf("jp's %s link at home: GET %s %d, want the confirmation page", tc.name, tc.page, got.status)
		}
	}
	if after := e.snapshot(); after != before {
		t.Errorf("jp's account changed by its links at us:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	return undo, cancel
}

var anyID = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

var linkToken = regexp.MustCompile(`token=([A-Za-z0-9_\-%.~]+)`)

// linkOf returns the token of the first link with ?token= in m.
func linkOf(t *testing.T, m *message.Outgoing) string {
	t.Helper()
	sub := linkToken.FindStringSubmatch(m.Text)
	if sub == nil {
		t.Fatalf("no link in the %s message: %q", m.Template, m.Text)
	}
	tok, err := url.QueryUnescape(sub[1])
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
