package console_test

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/console"
	"github.com/ninsho/ninsho/internal/desk"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/staff"
	"github.com/ninsho/ninsho/internal/store/storetest"
	"github.com/ninsho/ninsho/internal/totp"
)

// signInFrom signs the staff member in through the service from req's
// address, after moving the clock to a fresh TOTP step.
func signInFrom(t *testing.T, e *env, req ninsho.Request, email, key string) error {
	t.Helper()
	ctx := context.Background()
	tok, err := e.Staff.SignIn(ctx, req, email, staffPassword)
	if err != nil {
		return err
	}
	e.Clock.Advance(totp.Period * time.Second)
	code, _ := totp.CodeAt(key, e.Clock.Now())
	_, _, err = e.Staff.SecondFactor(ctx, req, tok, code)
	return err
}

// An unknown address is paused exactly like a staff member's: the pause
// is no oracle of who is staff.
func TestStaffPauseTellsNothing(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, fe *flowtest.Env) {
		e := newEnv(t, fe)
		mustStaff(t, e, "agent@example.jp", staff.RoleAgent)
		ctx := context.Background()
		req := ninsho.Request{IP: "198.51.100.7"}
		for _, addr := range []string{"agent@example.jp", "nobody@example.jp"} {
			for i := 0; i < staff.FailuresBeforeLock; i++ {
				_, err := e.Staff.SignIn(ctx, req, addr, fmt.Sprintf("wrong-password-%d", i))
				flowtest.WantCode(t, err, ninsho.CodeCredentialsIncorrect)
			}
			_, err := e.Staff.SignIn(ctx, req, addr, staffPassword)
			flowtest.WantCode(t, err, ninsho.CodeStaffLocked)
		}
	})
}

// Five wrong passwords from one network pause the address from that
// network only; the staff member signs in from another.
func TestStaffPausePerNetwork(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, fe *flowtest.Env) {
		e := newEnv(t, fe)
		st, key := mustStaff(t, e, "admin@example.jp", staff.RoleAdmin)
		ctx := context.Background()
		outsider := ninsho.Request{IP: "203.0.113.5"}
		for i := 0; i < staff.FailuresBeforeLock; i++ {
			e.Staff.SignIn(ctx, outsider, st.Email, fmt.Sprintf("wrong-password-%d", i))
		}
		_, err := e.Staff.SignIn(ctx, ninsho.Request{IP: "203.0.113.77"}, st.Email, staffPassword)
		flowtest.WantCode(t, err, ninsho.CodeStaffLocked) // same /24
		if err := signInFrom(t, e, ninsho.Request{IP: "192.0.2.44"}, st.Email, key); err != nil {
			t.Errorf("from another network: %v, want signed in", err)
		}
		wantStaffEvent(t, e, st.ID, staff.TypeLocked)
	})
}

// Guesses spread over many networks pause the address everywhere, except
// from a network the staff member signed in from before.
func TestStaffPauseEverywhereSparesFamiliarNetwork(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, fe *flowtest.Env) {
		e := newEnv(t, fe)
		st, key := mustStaff(t, e, "admin@example.jp", staff.RoleAdmin)
		ctx := context.Background()
		office := ninsho.Request{IP: "192.0.2.44"}
		if err := signInFrom(t, e, office, st.Email, key); err != nil {
			t.Fatalf("first sign-in: %v", err)
		}
		for i := 0; i < staff.EverywhereFailures; i++ {
			req := ninsho.Request{IP: fmt.Sprintf("10.%d.%d.1", i/200, i%200)}
			_, err := e.Staff.SignIn(ctx, req, st.Email, "wrong-password")
			flowtest.WantCode(t, err, ninsho.CodeCredentialsIncorrect)
		}
		_, err := e.Staff.SignIn(ctx, ninsho.Request{IP: "198.51.100.9"}, st.Email, staffPassword)
		flowtest.WantCode(t, err, ninsho.CodeStaffLocked)
		_, err = e.Staff.SignIn(ctx, ninsho.Request{IP: "198.51.100.9"}, "nobody@example.jp", staffPassword)
		flowtest.WantCode(t, err, ninsho.CodeCredentialsIncorrect) // only that address
		if err := signInFrom(t, e, ninsho.Request{IP: "192.0.2.200"}, st.Email, key); err != nil {
			t.Errorf("from the familiar network: %v, want signed in", err)
		}
		n, _ := countEvents(e, func(ev *event.Event) bool {
			return ev.Type == staff.TypeLocked && ev.Data["staff"] == st.ID && ev.Data["scope"] == "everywhere"
		})
		if n != 1 {
			t.Errorf("staff.locked everywhere events = %d, want 1", n)
		}
		e.Clock.Advance(staff.EverywhereWindow)
		if err := signInFrom(t, e, ninsho.Request{IP: "198.51.100.9"}, st.Email, key); err != nil {
			t.Errorf("after the window: %v", err)
		}
	})
}

// The sign-in page speaks to staff, not customers; an unknown account is
// 404 with a console text.
func TestConsoleStaffTexts(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, fe *flowtest.Env) {
		e := newEnv(t, fe)
		_, key := mustStaff(t, e, "agent@example.jp", staff.RoleAgent)
		for _, lang := range []string{"en", "ja"} {
			b := newBrowser(t, e.Console)
			b.lang = lang
			w := b.do("POST", "/console/signin", url.Values{"email": {"agent@example.jp"}, "password": {"wrong-password"}})
			body := w.Body.String()
			if w.Code != 400 || !strings.Contains(body, template.HTMLEscapeString(i18n.Message(lang, "console.error.credentials_incorrect", nil))) ||
				strings.Contains(body, template.HTMLEscapeString(i18n.Message(lang, "error.credentials_incorrect", nil))) {
				t.Errorf("%s: wrong password %d, want 400 with the staff text\n%s", lang, w.Code, body)
			}
		}
		b := signIn(t, e, "agent@example.jp", key)
		id := ninsho.NewID(e.Clock, e.Kit.Random)
		for _, path := range []string{"/console/accounts/" + id, "/console/accounts/not-an-id"} {
			w := b.do("GET", path, nil)
			if w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), template.HTMLEscapeString(i18n.Message("en", "console.error.not_found", nil))) {
				t.Errorf("%s: %d, want 404 with the console text\n%s", path, w.Code, w.Body.String())
			}
		}
		w := b.do("POST", "/console/accounts/"+id+"/unlock", url.Values{"reason": {"asked by phone"}})
		if w.Code != http.StatusNotFound {
			t.Errorf("action on an unknown account: %d, want 404", w.Code)
		}
	})
}

// A flood of help requests does not hide a later genuine one: the queue
// pages, counts and filters.
func TestHelpQueuePagesAndFilters(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, fe *flowtest.Env) {
		e := newHelpEnv(t, fe)
		_, key := mustStaff(t, e.env, "agent@example.jp", staff.RoleAgent)
		for i := 0; i < console.QueueLimit+1; i++ {
			r := storetest.NewHelpRequest(e.JP.ID, fmt.Sprintf("spam%d@example.jp", i), time.Duration(i)*time.Second)
			r.Identifier = ""
			storetest.MustCreateHelpRequest(t, e.DB, r)
		}
		real := storetest.NewHelpRequest(e.JP.ID, "hanako@example.jp", time.Hour)
		real.AccountID = ninsho.NewID(e.Clock, e.Kit.Random)
		storetest.MustCreateHelpRequest(t, e.DB, real)
		b := signIn(t, e.env, "agent@example.jp", key)
		get := func(path string) string {
			t.Helper()
			w := b.do("GET", path, nil)
			if w.Code != 200 {
				t.Fatalf("%s: %d", path, w.Code)
			}
			return w.Body.String()
		}
		first := get("/console/help")
		if strings.Contains(first, real.Ref) || !strings.Contains(first, "1–200 of 202") || !strings.Contains(first, `href="/console/help?page=2"`) {
			t.Errorf("first page: want 1–200 of 202, a link to page 2, the late request not yet shown")
		}
		second := get("/console/help?page=2")
		if !strings.Contains(second, real.Ref) || !strings.Contains(second, "201–202 of 202") || !strings.Contains(second, `href="/console/help"`) {
			t.Errorf("second page: want the late request, 201–202 of 202, a link back")
		}
		ref := strings.ToLower(strings.ReplaceAll(real.Ref, "-", ""))
		for _, path := range []string{"/console/help?linked=1", "/console/help?q=Hanako@Example.jp", "/console/help?q=" + ref} {
			body := get(path)
			if !strings.Contains(body, real.Ref) || !strings.Contains(body, "1–1 of 1") || strings.Contains(body, "spam1@") {
				t.Errorf("%s: want only the genuine request", path)
			}
		}
		if body := get("/console/help?q=nobody@example.jp&linked=1"); !strings.Contains(body, template.HTMLEscapeString(i18n.Message("en", "console.help.filter.none", nil))) {
			t.Errorf("no match: want %q", i18n.Message("en", "console.help.filter.none", nil))
		}
		if body := get("/console/help?page=x"); !strings.Contains(body, "1–200 of 202") {
			t.Errorf("a bad page number: want the first page")
		}
	})
}

// A request id found by search says what that request was: an outsider's
// failed sign-in against the account is shown as such, with its network
// and an unfamiliar device, not only as "error page reference".
func TestFindByRequestSaysWhatItWas(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, fe *flowtest.Env) {
		e := newEnv(t, fe)
		ctx := context.Background()
		st, key := mustStaff(t, e, "agent@example.jp", staff.RoleAgent)
		e.MustSignUp(t, e.JP, "victim@example.jp", "sakura-fubuki-2026", "victim@example.jp")
		rid := ninsho.NewID(e.Clock, e.Kit.Random)
		req := flowtest.Req("203.0.113.66", "")
		req.RequestID = rid
		e.Signin.Start(ctx, e.JP, req, signin.Input{Identifier: "victim@example.jp", Password: "wrong-password-1"})
		ms, err := e.Desk.Find(ctx, &staff.Principal{Staff: st}, "", rid)
		if err != nil || len(ms) != 1 || ms[0].Via != desk.ViaRequest || len(ms[0].Request) == 0 {
			t.Fatalf("Find(request id): %+v %v, want the account with what the request did", ms, err)
		}
		got := ms[0].Request[0]
		if got.Type != event.TypeSigninFailed || got.Reason != string(ninsho.CodePasswordIncorrect) || got.Network != "203.0.113.0/24" || got.FamiliarDevice != "no" {
			t.Errorf("request event = %+v, want a failed sign-in, password_incorrect, from 203.0.113.0/24, unfamiliar device", got)
		}
		b := signIn(t, e, "agent@example.jp", key)
		body := b.do("GET", "/console/accounts?q="+rid, nil).Body.String()
		for _, want := range []string{"signin.failed", "password_incorrect", "203.0.113.0/24", i18n.Message("en", "console.request.unfamiliar", nil)} {
			if !strings.Contains(body, template.HTMLEscapeString(want)) {
				t.Errorf("search page: no %q", want)
			}
		}
	})
}
