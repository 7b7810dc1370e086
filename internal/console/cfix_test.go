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

	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/staff"
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
