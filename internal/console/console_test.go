package console_test

import (
	"context"
	"fmt"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/store/storetest"
	"html"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/api"
	"github.com/ninsho/ninsho/internal/console"
	"github.com/ninsho/ninsho/internal/desk"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/httperr"
	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/password"
	"github.com/ninsho/ninsho/internal/secret"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/signup"
	"github.com/ninsho/ninsho/internal/staff"
	"github.com/ninsho/ninsho/internal/throttle"
	"github.com/ninsho/ninsho/internal/totp"
	"github.com/ninsho/ninsho/internal/web"
)

const staffPassword = "kinmokusei-no-kaori-42"

// env is the console on a flowtest Env: the customer side and the staff
// side on one database and one clock.
type env struct {
	*flowtest.Env
	Staff   *staff.Service
	Desk    *desk.Service
	Console *console.Handler
	Web     *web.Handler
}

func newEnv(t *testing.T, e *flowtest.Env) *env {
	t.Helper()
	hasher, err := secret.NewHasher([]byte("console-test-hash-key-0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	e.Signin.Holds = e.DB
	e.Kit.Resets = e.DB
	st := &staff.Service{Tx: e.DB, Clock: e.Clock, Random: e.Kit.Random, Store: e.DB, Sessions: e.DB, Events: e.DB,
		Hasher: hasher, Box: e.Box, Passwords: &password.Hasher{Params: flowtest.FastParams, Limiter: password.NewLimiter(4, 64, time.Minute), Random: e.Kit.Random},
		Policy: password.DefaultPolicy(), Counter: &throttle.Counter{Store: e.DB, Clock: e.Clock}}
	dk := &desk.Service{Kit: e.Kit, Realms: e.Realms, Locks: e.DB, Suspensions: e.DB, Resets: e.DB, Lookup: e.DB, Forget: e.Signin.ForgetAccount}
	c, err := console.New(console.Deps{Staff: st, Desk: dk, Realms: e.Realms})
	if err != nil {
		t.Fatal(err)
	}
	w, err := web.New(web.Deps{Realms: e.Realms, Flows: e.Engine, Signup: e.Signup, Signin: e.Signin, Now: e.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return &env{Env: e, Staff: st, Desk: dk, Console: c, Web: w}
}

// browser is a cookie jar of one staff member's browser.
type browser struct {
	t       *testing.T
	h       http.Handler
	cookies map[string]*http.Cookie
	lang    string
}

func (b *browser) do(method, path string, form url.Values) *httptest.ResponseRecorder {
	b.t.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	r := httptest.NewRequest(method, "http://id.example.jp"+path, body)
	r.Host = "id.example.jp"
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if b.lang != "" {
		r.Header.Set("Accept-Language", b.lang)
	}
	r.Header.Set("User-Agent", flowtest.BrowserUA)
	r.RemoteAddr = "192.0.2.44:1234"
	for _, c := range b.cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	b.h.ServeHTTP(w, r)
	for _, c := range w.Result().Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
			continue
		}
		b.cookies[c.Name] = c
	}
	return w
}

func newBrowser(t *testing.T, h http.Handler) *browser {
	return &browser{t: t, h: h, cookies: map[string]*http.Cookie{}, lang: "en"}
}

// mustStaff invites and enrols a staff member through the pages and returns
// the TOTP secret.
func mustStaff(t *testing.T, e *env, email string, role staff.Role) (*staff.Staff, string) {
	t.Helper()
	ctx := context.Background()
	st, tok, err := e.Staff.Invite(ctx, nil, ninsho.Request{IP: "cli"}, email, "Test "+string(role), role)
	if err != nil {
		t.Fatalf("invite: %v", err)
	}
	en, err := e.Staff.Enrolment(ctx, tok)
	if err != nil {
		t.Fatalf("enrolment: %v", err)
	}
	key := strings.ReplaceAll(en.Grouped, " ", "")
	b := newBrowser(t, e.Console)
	if w := b.do("GET", "/console/enrol?token="+tok, nil); w.Code != 200 || !strings.Contains(w.Body.String(), en.Grouped) {
		t.Fatalf("enrol page: %d, want 200 showing the key in groups of four", w.Code)
	}
	if w := b.do("GET", "/console/enrol/qr.png?token="+tok, nil); w.Code != 200 || w.Header().Get("Content-Type") != "image/png" {
		t.Fatalf("qr: %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	code, _ := totp.CodeAt(key, e.Clock.Now())
	w := b.do("POST", "/console/enrol", url.Values{"token": {tok}, "password": {staffPassword}, "password_confirmation": {staffPassword}, "code": {code}})
	if w.Code != 200 || !strings.Contains(w.Body.String(), "ready") {
		t.Fatalf("enrol: %d\n%s", w.Code, w.Body.String())
	}
	if w := b.do("GET", "/console/enrol?token="+tok, nil); w.Code != http.StatusGone {
		t.Errorf("enrolment link used twice: got %d, want 410", w.Code)
	}
	st, err = e.DB.Staff(ctx, st.ID)
	if err != nil || st.Status != staff.StatusActive {
		t.Fatalf("after enrolment: %+v %v", st, err)
	}
	return st, key
}

// signIn signs the staff member in through the pages, after moving the
// clock to a fresh TOTP step.
func signIn(t *testing.T, e *env, email, key string) *browser {
	t.Helper()
	b := newBrowser(t, e.Console)
	w := b.do("POST", "/console/signin", url.Values{"email": {email}, "password": {staffPassword}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/console/signin/code" {
		t.Fatalf("sign in: %d %s\n%s", w.Code, w.Header().Get("Location"), w.Body.String())
	}
	e.Clock.Advance(totp.Period * time.Second)
	code, _ := totp.CodeAt(key, e.Clock.Now())
	w = b.do("POST", "/console/signin/code", url.Values{"code": {code}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/console" {
		t.Fatalf("code: %d %s\n%s", w.Code, w.Header().Get("Location"), w.Body.String())
	}
	return b
}

func TestStaffSignInWithTOTP(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, fe *flowtest.Env) {
		e := newEnv(t, fe)
		admin, key := mustStaff(t, e, "Admin@Example.jp", staff.RoleAdmin)
		if admin.Email != "admin@example.jp" {
			t.Errorf("email = %q, want lower case", admin.Email)
		}
		b := newBrowser(t, e.Console)
		if w := b.do("GET", "/console", nil); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/console/signin" {
			t.Fatalf("console without a session: %d %s, want 303 to sign-in", w.Code, w.Header().Get("Location"))
		}
		// A wrong password and an unknown address answer alike.
		w1 := b.do("POST", "/console/signin", url.Values{"email": {"admin@example.jp"}, "password": {"wrong-password-1"}})
		w2 := b.do("POST", "/console/signin", url.Values{"email": {"nobody@example.jp"}, "password": {"wrong-password-1"}})
		msg := template.HTMLEscapeString(i18n.Message("en", "console.error.credentials_incorrect", nil))
		if w1.Code != 400 || w2.Code != 400 || !strings.Contains(w1.Body.String(), msg) || !strings.Contains(w2.Body.String(), msg) {
			t.Errorf("wrong password %d, unknown address %d: want 400 alike", w1.Code, w2.Code)
		}
		w := b.do("POST", "/console/signin", url.Values{"email": {"admin@example.jp"}, "password": {staffPassword}})
		if w.Code != http.StatusSeeOther {
			t.Fatalf("right password: %d", w.Code)
		}
		ck := b.cookies[console.CookieName]
		if ck == nil || ck.Path != "/console" || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode {
			t.Fatalf("console cookie = %+v, want Path=/console HttpOnly SameSite=Strict", ck)
		}
		// The password alone opens nothing.
		if w := b.do("GET", "/console", nil); w.Code != http.StatusSeeOther {
			t.Errorf("console after the password only: %d, want 303", w.Code)
		}
		b.do("POST", "/console/signin", url.Values{"email": {"admin@example.jp"}, "password": {staffPassword}})
		e.Clock.Advance(time.Minute)
		if w := b.do("POST", "/console/signin/code", url.Values{"code": {"000000"}}); w.Code != 400 || !strings.Contains(w.Body.String(), "authenticator") {
			t.Errorf("wrong code: %d, want 400 totp_incorrect\n%s", w.Code, w.Body.String())
		}
		code, _ := totp.CodeAt(key, e.Clock.Now())
		if w := b.do("POST", "/console/signin/code", url.Values{"code": {code}}); w.Code != http.StatusSeeOther {
			t.Fatalf("right code: %d\n%s", w.Code, w.Body.String())
		}
		if w := b.do("GET", "/console", nil); w.Code != 200 || !strings.Contains(w.Body.String(), "admin@example.jp") {
			t.Fatalf("console home: %d", w.Code)
		}
		// The same code is never accepted twice.
		b2 := newBrowser(t, e.Console)
		b2.do("POST", "/console/signin", url.Values{"email": {"admin@example.jp"}, "password": {staffPassword}})
		if w := b2.do("POST", "/console/signin/code", url.Values{"code": {code}}); w.Code != 400 {
			t.Errorf("replayed code: %d, want 400", w.Code)
		}
		wantStaffEvent(t, e, admin.ID, staff.TypeSigninSucceeded)
		wantStaffEvent(t, e, admin.ID, staff.TypeSigninFailed)
		wantStaffEvent(t, e, admin.ID, staff.TypeEnrolled)
		// Sign-out ends the session.
		b.do("POST", "/console/signout", url.Values{})
		if w := b.do("GET", "/console", nil); w.Code != http.StatusSeeOther {
			t.Errorf("after sign-out: %d, want 303", w.Code)
		}
	})
}

// wantStaffEvent fails unless an event of typ names the staff member.
func wantStaffEvent(t *testing.T, e *env, staffID, typ string) {
	t.Helper()
	n, err := countEvents(e, func(ev *event.Event) bool { return ev.Type == typ && ev.Data["staff"] == staffID })
	if err != nil || n == 0 {
		t.Errorf("no %s event of staff %s (%v)", typ, staffID, err)
	}
}

func countEvents(e *env, match func(*event.Event) bool) (int, error) {
	rows, err := e.DB.StaffEvents(context.Background(), 1000)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, ev := range rows {
		if match(ev) {
			n++
		}
	}
	return n, nil
}

func TestStaffLockAfterFailures(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, fe *flowtest.Env) {
		e := newEnv(t, fe)
		st, _ := mustStaff(t, e, "agent@example.jp", staff.RoleAgent)
		ctx := context.Background()
		req := ninsho.Request{IP: "198.51.100.7"}
		for i := 0; i < staff.FailuresBeforeLock; i++ {
			_, err := e.Staff.SignIn(ctx, req, st.Email, "wrong-password-"+string(rune('a'+i)))
			flowtest.WantCode(t, err, ninsho.CodeCredentialsIncorrect)
		}
		_, err := e.Staff.SignIn(ctx, req, st.Email, staffPassword)
		flowtest.WantCode(t, err, ninsho.CodeStaffLocked)
		wantStaffEvent(t, e, st.ID, staff.TypeLocked)
		e.Clock.Advance(staff.LockFor)
		if _, err := e.Staff.SignIn(ctx, req, st.Email, staffPassword); err != nil {
			t.Errorf("after the pause: %v", err)
		}
		// Many failures from one address stop it before any hash.
		other := ninsho.Request{IP: "203.0.113.9"}
		for i := 0; i < staff.AddressFailures; i++ {
			e.Staff.SignIn(ctx, other, fmt.Sprintf("nobody%d@example.jp", i), "wrong-password")
		}
		_, err = e.Staff.SignIn(ctx, other, st.Email, staffPassword)
		flowtest.WantCode(t, err, ninsho.CodeRateLimited)
	})
}

func TestConsoleSessionExpiry(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, fe *flowtest.Env) {
		e := newEnv(t, fe)
		_, key := mustStaff(t, e, "agent@example.jp", staff.RoleAgent)
		b := signIn(t, e, "agent@example.jp", key)
		e.Clock.Advance(staff.SessionIdle - time.Minute)
		if w := b.do("GET", "/console", nil); w.Code != 200 {
			t.Fatalf("within the idle time: %d", w.Code)
		}
		e.Clock.Advance(staff.SessionIdle)
		if w := b.do("GET", "/console", nil); w.Code != http.StatusSeeOther {
			t.Errorf("after %s idle: %d, want 303 to sign-in", staff.SessionIdle, w.Code)
		}

		b = signIn(t, e, "agent@example.jp", key)
		start := e.Clock.Now()
		for e.Clock.Now().Sub(start) < staff.SessionAbsolute-20*time.Minute {
			e.Clock.Advance(20 * time.Minute)
			if w := b.do("GET", "/console", nil); w.Code != 200 {
				t.Fatalf("used every 20 minutes, at %s: %d", e.Clock.Now().Sub(start), w.Code)
			}
		}
		e.Clock.Advance(20 * time.Minute)
		if w := b.do("GET", "/console", nil); w.Code != http.StatusSeeOther {
			t.Errorf("after %s: %d, want 303 (absolute end)", staff.SessionAbsolute, w.Code)
		}
	})
}

func TestConsoleRefusesCustomerSession(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, fe *flowtest.Env) {
		e := newEnv(t, fe)
		e.MustSignUp(t, e.JP, "hanako@example.jp", "sakura-fubuki-2026", "hanako@example.jp")
		ans, err := e.Signin.Start(context.Background(), e.JP, flowtest.Req("192.0.2.10", ""), signin.Input{Identifier: "hanako@example.jp", Password: "sakura-fubuki-2026"})
		if err != nil || ans.Session == nil {
			// An unfamiliar device may be asked for a code: any session
			// token will do for this test.
			t.Logf("sign-in: %v", err)
		}
		b := newBrowser(t, e.Console)
		b.cookies["ninsho_session"] = &http.Cookie{Name: "ninsho_session", Value: "any-customer-session-token"}
		if ans != nil && ans.Session != nil {
			b.cookies["ninsho_session"].Value = ans.Session.Token
		}
		for _, p := range []string{"/console", "/console/accounts?q=hanako@example.jp", "/console/staff"} {
			if w := b.do("GET", p, nil); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/console/signin" {
				t.Errorf("GET %s with a customer session: %d %s, want 303 to /console/signin", p, w.Code, w.Header().Get("Location"))
			}
		}
		if w := b.do("POST", "/console/accounts/x/unlock", url.Values{"reason": {"x"}}); w.Code != http.StatusSeeOther {
			t.Errorf("POST with a customer session: %d, want 303", w.Code)
		}
	})
}

func TestRoles(t *testing.T) {
	for _, c := range []struct {
		role staff.Role
		perm staff.Permission
		want bool
	}{
		{staff.RoleAgent, staff.PermFindAccounts, true},
		{staff.RoleAgent, staff.PermAccountActions, true},
		{staff.RoleAgent, staff.PermRecoveryDocuments, false},
		{staff.RoleAgent, staff.PermManageStaff, false},
		{staff.RoleReviewer, staff.PermRecoveryDocuments, true},
		{staff.RoleReviewer, staff.PermRecoveryDecisions, true},
		{staff.RoleReviewer, staff.PermManageStaff, false},
		{staff.RoleAdmin, staff.PermManageStaff, true},
		{staff.RoleAdmin, staff.PermRecoveryDocuments, true},
		{staff.Role("root"), staff.PermFindAccounts, false},
	} {
		if got := staff.Can(c.role, c.perm); got != c.want {
			t.Errorf("Can(%s, %s) = %v, want %v", c.role, c.perm, got, c.want)
		}
	}
	flowtest.EachDB(t, func(t *testing.T, fe *flowtest.Env) {
		e := newEnv(t, fe)
		_, key := mustStaff(t, e, "agent@example.jp", staff.RoleAgent)
		_, akey := mustStaff(t, e, "admin@example.jp", staff.RoleAdmin)
		agent := signIn(t, e, "agent@example.jp", key)
		if w := agent.do("GET", "/console/staff", nil); w.Code != http.StatusForbidden {
			t.Errorf("agent GET /console/staff: %d, want 403", w.Code)
		}
		if w := agent.do("POST", "/console/staff", url.Values{"email": {"x@example.jp"}, "role": {"admin"}}); w.Code != http.StatusForbidden {
			t.Errorf("agent invites: %d, want 403", w.Code)
		}
		if strings.Contains(agent.do("GET", "/console", nil).Body.String(), "/console/staff") {
			t.Errorf("the agent's page links to the staff page")
		}
		admin := signIn(t, e, "admin@example.jp", akey)
		w := admin.do("POST", "/console/staff", url.Values{"email": {"new@example.jp"}, "role": {"reviewer"}, "name": {"New"}})
		if w.Code != 200 || !strings.Contains(w.Body.String(), "/console/enrol?token=") {
			t.Fatalf("admin invites: %d", w.Code)
		}
		st, err := e.DB.StaffByEmail(context.Background(), "agent@example.jp")
		if err != nil {
			t.Fatal(err)
		}
		// The admin's own row offers no role change nor disable, and a post
		// anyway says why it is refused.
		self, err := e.DB.StaffByEmail(context.Background(), "admin@example.jp")
		if err != nil {
			t.Fatal(err)
		}
		page := admin.do("GET", "/console/staff", nil).Body.String()
		if strings.Contains(page, "/console/staff/"+self.ID+"/role") || strings.Contains(page, "/console/staff/"+self.ID+"/disable") {
			t.Errorf("the admin's own row offers a role change or disable\n%s", page)
		}
		for _, action := range []string{"role", "disable"} {
			w := admin.do("POST", "/console/staff/"+self.ID+"/"+action, url.Values{"role": {"agent"}})
			if body := html.UnescapeString(w.Body.String()); w.Code != http.StatusConflict || !strings.Contains(body, i18n.Message("en", "error.conflict.own_account", nil)) {
				t.Errorf("own %s: %d, want 409 own_account\n%s", action, w.Code, body)
			}
		}
		if w := admin.do("POST", "/console/staff/"+st.ID+"/role", url.Values{"role": {"reviewer"}}); w.Code != http.StatusSeeOther {
			t.Errorf("role change: %d", w.Code)
		}
		wantStaffEvent(t, e, st.ID, staff.TypeRoleChanged)
		if w := admin.do("POST", "/console/staff/"+st.ID+"/disable", url.Values{}); w.Code != http.StatusSeeOther {
			t.Errorf("disable: %d", w.Code)
		}
		wantStaffEvent(t, e, st.ID, staff.TypeDisabled)
		if w := agent.do("GET", "/console", nil); w.Code != http.StatusSeeOther {
			t.Errorf("a disabled staff member's session still opens the console: %d", w.Code)
		}
	})
}

func TestAccountActionsLeaveEventsWithReason(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, fe *flowtest.Env) {
		e := newEnv(t, fe)
		ctx := context.Background()
		st, key := mustStaff(t, e, "agent@example.jp", staff.RoleAgent)
		e.MustSignUp(t, e.JP, "hanako@example.jp", "sakura-fubuki-2026", "hanako@example.jp")
		a, err := e.DB.AccountByEmail(ctx, "jp", "hanako@example.jp")
		if err != nil {
			t.Fatal(err)
		}
		b := signIn(t, e, "agent@example.jp", key)
		// Found by address, by phone-less id, in a realm filter.
		if w := b.do("GET", "/console/accounts?q="+url.QueryEscape(" HANAKO@example.jp ")+"&realm=jp", nil); !strings.Contains(w.Body.String(), "/console/accounts/"+a.ID) {
			t.Fatalf("search by address did not find the account: %d\n%s", w.Code, w.Body.String())
		}
		if w := b.do("GET", "/console/accounts?q=hanako@example.jp&realm=safe", nil); strings.Contains(w.Body.String(), "/console/accounts/"+a.ID) {
			t.Errorf("the realm filter let another realm's account through")
		}
		// A reason is required.
		if w := b.do("POST", "/console/accounts/"+a.ID+"/revoke-sessions", url.Values{"reason": {"  "}}); w.Code != 400 || !strings.Contains(w.Body.String(), `href="#reason"`) || !strings.Contains(w.Body.String(), `id="reason"`) {
			t.Errorf("no reason: %d, want 400 field_required linked to the refused field", w.Code)
		}
		if w := b.do("POST", "/console/accounts/"+a.ID+"/revoke-sessions", url.Values{"reason": {strings.Repeat("x", desk.MaxReason+1)}}); w.Code != 400 {
			t.Errorf("a reason too long: %d, want 400", w.Code)
		}
		steps := []struct {
			action, typ string
			form        url.Values
			status      account.Status
		}{
			{"revoke-sessions", desk.TypeSessionsRevoked, nil, account.StatusActive},
			{"lock", desk.TypeLocked, nil, account.StatusLocked},
			{"unlock", desk.TypeUnlocked, nil, account.StatusActive},
			{"require-reset", desk.TypeResetRequired, nil, account.StatusActive},
			{"suspend", desk.TypeSuspended, url.Values{"public_reason": {"payment_problem"}}, account.StatusSuspended},
			{"reinstate", desk.TypeReinstated, nil, account.StatusActive},
		}
		for _, s := range steps {
			why := "ticket 42: " + s.action
			form := url.Values{"reason": {why}}
			for k, v := range s.form {
				form[k] = v
			}
			w := b.do("POST", "/console/accounts/"+a.ID+"/"+s.action, form)
			if w.Code != http.StatusSeeOther {
				t.Fatalf("%s: %d\n%s", s.action, w.Code, w.Body.String())
			}
			got, _ := e.DB.Account(ctx, a.ID)
			if got.Status != s.status {
				t.Errorf("after %s: status %s, want %s", s.action, got.Status, s.status)
			}
			evs, _ := e.DB.AccountEvents(ctx, a.ID, time.Time{}, 1)
			if len(evs) != 1 || evs[0].Type != s.typ || evs[0].Actor != "staff:"+st.ID || evs[0].Data["reason"] != why || evs[0].IP == "" {
				t.Errorf("%s: last event %+v, want %s by staff:%s with the reason and the address", s.action, evs, s.typ, st.ID)
			}
			page := b.do("GET", "/console/accounts/"+a.ID, nil).Body.String()
			if !strings.Contains(page, `data-type="`+s.typ+`"`) || !strings.Contains(page, why) {
				t.Errorf("%s: the timeline does not show it with its reason", s.action)
			}
		}
		// An action that does not apply is refused, saying why (not "changed
		// elsewhere at the same time").
		for action, reason := range map[string]string{"reinstate": ninsho.ConflictNotSuspended, "remind-signup": ninsho.ConflictNotPending} {
			w := b.do("POST", "/console/accounts/"+a.ID+"/"+action, url.Values{"reason": {"again"}})
			body := html.UnescapeString(w.Body.String())
			if w.Code != http.StatusConflict || !strings.Contains(body, i18n.Message("en", "error.conflict."+reason, nil)) ||
				strings.Contains(body, i18n.Message("en", "error.conflict", nil)) {
				t.Errorf("%s on an active account: %d, want 409 saying %s\n%s", action, w.Code, reason, body)
			}
		}
	})
}

func TestSuspensionShownAtSignIn(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, fe *flowtest.Env) {
		e := newEnv(t, fe)
		ctx := context.Background()
		st, _ := mustStaff(t, e, "agent@example.jp", staff.RoleAgent)
		e.MustSignUp(t, e.JP, "hanako@example.jp", "sakura-fubuki-2026", "hanako@example.jp")
		a, _ := e.DB.AccountByEmail(ctx, "jp", "hanako@example.jp")
		p := &staff.Principal{Staff: st}
		ref, err := e.Desk.Suspend(ctx, p, ninsho.Request{IP: "192.0.2.200", RequestID: "r1"}, a.ID, account.ReasonUnusualActivity, "chargebacks from three cards")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(ref, "S-") {
			t.Fatalf("reference %q, want S-…", ref)
		}
		// The owner is told: the reason, the reference and the help request
		// link, never the staff's note nor where staff work from.
		notice := func(template string) string {
			t.Helper()
			var found string
			for _, m := range e.Messages(t, "hanako@example.jp") {
				if m.Template == template {
					found = m.Text
				}
			}
			return found
		}
		sus := notice(message.TemplateAccountSuspended)
		if !strings.Contains(sus, ref) || !strings.Contains(sus, "/help/request?ref="+ref+"&step=suspended") ||
			!strings.Contains(sus, "通常と異なるご利用") || strings.Contains(sus, "chargebacks") || strings.Contains(sus, "192.0.2.200") {
			t.Errorf("suspension notice:\n%s", sus)
		}
		// The API: account_suspended with the reference and the reason.
		_, err = e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.10", ""), signin.Input{Identifier: "hanako@example.jp", Password: "sakura-fubuki-2026"})
		flowtest.WantCode(t, err, ninsho.CodeAccountSuspended)
		pr := httperr.NewProblem(err, "en", "rid")
		if pr.Status != 403 || pr.Params["reference"] != ref || pr.Params["reason"] != "unusual_activity" {
			t.Errorf("problem = %+v, want 403 with reference %s and reason unusual_activity", pr, ref)
		}
		if !strings.Contains(pr.Detail, "unusual activity") || !strings.Contains(pr.Detail, ref) || strings.Contains(pr.Detail, "chargebacks") {
			t.Errorf("detail %q: want the reason and the reference, never the staff's note", pr.Detail)
		}

		// The page: the reason, the reference and the way to a help request.
		cust := newBrowser(t, e.Web)
		cust.lang = "ja"
		cust.do("GET", "/signin", nil)
		w := cust.do("POST", "/signin", url.Values{"identifier": {"hanako@example.jp"}, "password": {"sakura-fubuki-2026"}})
		body := w.Body.String()
		if w.Code != 403 || !strings.Contains(body, ref) || !strings.Contains(body, "/help/request?ref="+ref) || !strings.Contains(body, "通常と異なるご利用") {
			t.Errorf("sign-in page: %d, want 403 with the reason, %s and the help request link\n%s", w.Code, ref, body)
		}
		// A wrong password tells nothing of it.
		_, err = e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.10", ""), signin.Input{Identifier: "hanako@example.jp", Password: "wrong-password-9"})
		flowtest.WantCode(t, err, ninsho.CodePasswordIncorrect)
		// Found in the console by the reference, typed loosely.
		ms, err := e.Desk.Find(ctx, p, "", strings.ToLower(strings.ReplaceAll(ref, "-", " ")))
		if err != nil || len(ms) != 1 || ms[0].Account.ID != a.ID || ms[0].Via != desk.ViaReference {
			t.Errorf("find by reference: %+v %v", ms, err)
		}
		// Reinstated, the sign-in goes on.
		if err := e.Desk.Reinstate(ctx, p, ninsho.Request{IP: "192.0.2.200"}, a.ID, "cards verified"); err != nil {
			t.Fatal(err)
		}
		if back := notice(message.TemplateAccountReinstated); !strings.Contains(back, ref) || !strings.Contains(back, "/signin") || strings.Contains(back, "cards verified") {
			t.Errorf("reinstatement notice:\n%s", back)
		}
		_, err = e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.10", ""), signin.Input{Identifier: "hanako@example.jp", Password: "sakura-fubuki-2026"})
		if ninsho.IsCode(err, ninsho.CodeAccountSuspended) {
			t.Errorf("after reinstatement: %v", err)
		}
	})
}

func TestPasswordResetRequired(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, fe *flowtest.Env) {
		e := newEnv(t, fe)
		ctx := context.Background()
		st, _ := mustStaff(t, e, "agent@example.jp", staff.RoleAgent)
		dev := e.MustSignUp(t, e.JP, "hanako@example.jp", "sakura-fubuki-2026", "hanako@example.jp")
		a, _ := e.DB.AccountByEmail(ctx, "jp", "hanako@example.jp")
		p := &staff.Principal{Staff: st}
		if err := e.Desk.RequireReset(ctx, p, ninsho.Request{IP: "192.0.2.200"}, a.ID, "password found in a leak"); err != nil {
			t.Fatal(err)
		}
		// A wrong password is told as any other: the hold is the owner's
		// to learn, after the right one.
		_, err := e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.10", dev), signin.Input{Identifier: "hanako@example.jp", Password: "sakura-fubuki-2025"})
		if ninsho.IsCode(err, ninsho.CodePasswordResetRequired) {
			t.Fatalf("a wrong password was told the staff hold: %v", err)
		}
		_, err = e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.10", dev), signin.Input{Identifier: "hanako@example.jp", Password: "sakura-fubuki-2026"})
		flowtest.WantCode(t, err, ninsho.CodePasswordResetRequired)
		if got := httperr.StatusOf(err); got != 403 {
			t.Errorf("status %d, want 403", got)
		}
		// A new password from the password assistant clears it.
		ans, err := e.Reset.Start(ctx, e.JP, flowtest.Req("192.0.2.10", dev), "hanako@example.jp")
		if err != nil {
			t.Fatal(err)
		}
		c := e.LastCode(t, "hanako@example.jp")
		req := flowtest.Req("192.0.2.10", dev)
		if _, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flowActCode(c)); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flowActNewPassword("hinode-no-hikari-77")); err != nil {
			t.Fatal(err)
		}
		if must, _ := e.DB.PasswordResetRequired(ctx, a.ID); must {
			t.Fatalf("a new password did not clear the requirement")
		}
		_, err = e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.10", dev), signin.Input{Identifier: "hanako@example.jp", Password: "hinode-no-hikari-77"})
		if ninsho.IsCode(err, ninsho.CodePasswordResetRequired) {
			t.Errorf("after the new password: %v", err)
		}
	})
}

func TestRemindSignup(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, fe *flowtest.Env) {
		e := newEnv(t, fe)
		ctx := context.Background()
		st, _ := mustStaff(t, e, "agent@example.jp", staff.RoleAgent)
		if _, err := e.Signup.Start(ctx, e.JP, flowtest.Req("192.0.2.10", ""), signupInput("pending@example.jp")); err != nil {
			t.Fatal(err)
		}
		e.Messages(t, "pending@example.jp")
		a, _ := e.DB.AccountByEmail(ctx, "jp", "pending@example.jp")
		p := &staff.Principal{Staff: st}
		for i := 0; i < desk.RemindersPerHour; i++ {
			if err := e.Desk.RemindSignup(ctx, p, ninsho.Request{IP: "192.0.2.200"}, a.ID, "customer called"); err != nil {
				t.Fatal(err)
			}
		}
		err := e.Desk.RemindSignup(ctx, p, ninsho.Request{IP: "192.0.2.200"}, a.ID, "customer called")
		flowtest.WantCode(t, err, ninsho.CodeRateLimited)
		ms := e.Messages(t, "pending@example.jp")
		if len(ms) == 0 || ms[0].Template != "signup_reminder" || ms[0].Code != "" {
			t.Fatalf("reminder: %+v", ms)
		}
		// Timeline: the message with masked destination, never its body.
		tl, err := e.Desk.Timeline(ctx, p, a)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, en := range tl {
			if en.Kind == desk.KindMessage && en.Type == "signup_reminder" {
				found = true
				for _, d := range en.Details {
					if d.Label == "to" && strings.Contains(d.Value, "pending@") {
						t.Errorf("destination not masked: %s", d.Value)
					}
				}
			}
		}
		if !found {
			t.Errorf("the timeline lacks the reminder")
		}
	})
}

func flowActCode(c string) flow.Action { return flow.Action{Name: flow.ActionSubmitCode, Code: c} }

func flowActNewPassword(pw string) flow.Action {
	return flow.Action{Name: flow.ActionSetNewPassword, Password: pw, PasswordConfirmation: pw}
}

func signupInput(ident string) signup.Input {
	return signup.Input{Identifier: ident, Name: "Stranger", Password: "tsukimi-dango-55"}
}

func TestFindAccounts(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, fe *flowtest.Env) {
		e := newEnv(t, fe)
		ctx := context.Background()
		st, _ := mustStaff(t, e, "agent@example.jp", staff.RoleAgent)
		p := &staff.Principal{Staff: st}
		e.MustSignUp(t, e.JP, "09012345678", "sakura-fubuki-2026", "+819012345678")
		a, err := e.DB.AccountByPhone(ctx, "jp", "+819012345678")
		if err != nil {
			t.Fatal(err)
		}
		// The reference number of an error page: a sign-in refused in a
		// request with that id.
		rid := ninsho.NewID(e.Clock, e.Kit.Random)
		req := flowtest.Req("192.0.2.10", "")
		req.RequestID = rid
		e.Signin.Start(ctx, e.JP, req, signin.Input{Identifier: "090-1234-5678", Password: "wrong-password-1"})
		for _, c := range []struct{ q, realm, via string }{
			{"０９０−１２３４−５６７８", "", desk.ViaPhone},
			{"+81 90 1234 5678", "jp", desk.ViaPhone},
			{a.ID, "", desk.ViaID},
			{strings.ToUpper(rid), "", desk.ViaRequest},
		} {
			ms, err := e.Desk.Find(ctx, p, c.realm, c.q)
			if err != nil || len(ms) != 1 || ms[0].Account.ID != a.ID || ms[0].Via != c.via {
				t.Errorf("Find(%q): got %+v %v, want the account via %s", c.q, ms, err, c.via)
			}
		}
		if ms, err := e.Desk.Find(ctx, p, "safe", "+81 90 1234 5678"); err != nil || len(ms) != 0 {
			t.Errorf("Find in another realm: %+v %v, want none", ms, err)
		}
		_, err = e.Desk.Find(ctx, p, "", "  ")
		flowtest.WantCode(t, err, ninsho.CodeFieldRequired)
		_, err = e.Desk.Find(ctx, p, "nowhere", "x@example.jp")
		flowtest.WantCode(t, err, ninsho.CodeRequestInvalid)
		_, err = e.Desk.Find(ctx, &staff.Principal{Staff: &staff.Staff{Role: "nobody"}}, "", "x@example.jp")
		flowtest.WantCode(t, err, ninsho.CodeForbidden)
	})
}

func TestSuspendedAPIAnswer(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, fe *flowtest.Env) {
		e := newEnv(t, fe)
		ctx := context.Background()
		st, _ := mustStaff(t, e, "agent@example.jp", staff.RoleAgent)
		e.MustSignUp(t, e.JP, "hanako@example.jp", "sakura-fubuki-2026", "hanako@example.jp")
		a, _ := e.DB.AccountByEmail(ctx, "jp", "hanako@example.jp")
		ref, err := e.Desk.Suspend(ctx, &staff.Principal{Staff: st}, ninsho.Request{IP: "192.0.2.200"}, a.ID, account.ReasonOwnerRequest, "asked by phone")
		if err != nil {
			t.Fatal(err)
		}
		h := api.New(api.Deps{Realms: e.Realms, Flows: e.Engine, Signup: e.Signup, Signin: e.Signin, Now: e.Clock.Now})
		r := httptest.NewRequest("POST", "http://id.example.jp/api/v1/signin", strings.NewReader(`{"identifier":"hanako@example.jp","password":"sakura-fubuki-2026"}`))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("User-Agent", flowtest.BrowserUA)
		r.Header.Set("Accept-Language", "en")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		body := w.Body.String()
		if w.Code != 403 || !strings.Contains(body, `"code":"account_suspended"`) || !strings.Contains(body, `"reference":"`+ref+`"`) || !strings.Contains(body, `"reason":"owner_request"`) || strings.Contains(body, "asked by phone") || strings.Contains(body, a.ID) {
			t.Errorf("API answer: %d %s, want 403 account_suspended with reference %s and reason owner_request, without the note or the account id", w.Code, body, ref)
		}
	})
}

// TestInvitationLinkUsesTheConfiguredBase: an enrolment link made on the
// staff page points at the configured base (the command line's), not at
// the host the admin's browser used.
func TestInvitationLinkUsesTheConfiguredBase(t *testing.T) {
	e := newEnv(t, flowtest.New(t, storetest.MustOpenSQLite(t)))
	c, err := console.New(console.Deps{Staff: e.Staff, Desk: e.Desk, Realms: e.Realms, LinkBase: "http://localhost:18181"})
	if err != nil {
		t.Fatal(err)
	}
	e.Console = c
	_, akey := mustStaff(t, e, "admin@example.jp", staff.RoleAdmin)
	admin := signIn(t, e, "admin@example.jp", akey)
	w := admin.do("POST", "/console/staff", url.Values{"email": {"new@example.jp"}, "role": {"reviewer"}})
	if w.Code != 200 || !strings.Contains(w.Body.String(), "<code class=\"link\">http://localhost:18181/console/enrol?token=") {
		t.Fatalf("invite: %d, want the link under the configured base\n%s", w.Code, w.Body.String())
	}
}

// TestErrorLinksReachTheirFields: every link of an error summary on the
// account page points at an element of the page (the refused form's
// fields take the plain ids).
func TestErrorLinksReachTheirFields(t *testing.T) {
	e := newEnv(t, flowtest.New(t, storetest.MustOpenSQLite(t)))
	_, key := mustStaff(t, e, "agent@example.jp", staff.RoleAgent)
	e.MustSignUp(t, e.JP, "hanako@example.jp", "sakura-fubuki-2026", "hanako@example.jp")
	a, err := e.DB.AccountByEmail(context.Background(), "jp", "hanako@example.jp")
	if err != nil {
		t.Fatal(err)
	}
	b := signIn(t, e, "agent@example.jp", key)
	anchor := regexp.MustCompile(`href="#([a-z_-]+)"`)
	for _, tc := range []struct {
		action string
		form   url.Values
	}{
		{"suspend", url.Values{"reason": {" "}, "public_reason": {"unusual_activity"}}},
		{"suspend", url.Values{"reason": {"x"}, "public_reason": {"made-up"}}},
		{"lock", url.Values{"reason": {""}}},
		{"revoke-sessions", url.Values{"reason": {strings.Repeat("x", 1001)}}},
	} {
		w := b.do("POST", "/console/accounts/"+a.ID+"/"+tc.action, tc.form)
		body := w.Body.String()
		links := anchor.FindAllStringSubmatch(body, -1)
		if w.Code != http.StatusBadRequest || len(links) == 0 {
			t.Errorf("%s %v: %d, want 400 with a linked error", tc.action, tc.form, w.Code)
			continue
		}
		for _, m := range links {
			if !strings.Contains(body, `id="`+m[1]+`"`) {
				t.Errorf("%s %v: the error links to #%s, which the page lacks", tc.action, tc.form, m[1])
			}
		}
	}
}

// TestConsoleWording: the console says "site" (サイト) for a realm on every
// page, the search hint names every reference number it finds, and the
// help request's answers are headed as answers sent, not as the action.
func TestConsoleWording(t *testing.T) {
	for _, lang := range []string{"en", "ja"} {
		intro := i18n.Message(lang, "console.recovery.intro", nil)
		if strings.Contains(strings.ToLower(intro), "realm") || strings.Contains(intro, "レルム") {
			t.Errorf("%s: the recovery queue says realm: %q", lang, intro)
		}
		hint := i18n.Message(lang, "console.search.hint", nil)
		for _, ref := range []string{"S-", "R-", "H-"} {
			if !strings.Contains(hint, ref) {
				t.Errorf("%s: the search hint does not name %s…: %q", lang, ref, hint)
			}
		}
		if i18n.Message(lang, "console.help.col.answer", nil) == i18n.Message(lang, "console.help.answer", nil) {
			t.Errorf("%s: the answers' column is headed by the action's label", lang)
		}
	}
	for _, key := range []string{"console.search.realm", "console.search.every_realm", "console.col.realm"} {
		if m := i18n.Message("en", key, nil); strings.Contains(strings.ToLower(m), "realm") {
			t.Errorf("en %s says realm: %q", key, m)
		}
	}
}
