package signin_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/invalidate"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/password"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/signup"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

const pw = "kumo-no-ue-42"

func TestSigninWithPassword(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		dev := e.MustSignUp(t, e.JP, "hanako@example.jp", pw, "hanako@example.jp")
		devPhone := e.MustSignUp(t, e.JP, "090-1111-2222", pw, "+819011112222")

		tests := []struct {
			name, identifier, password string
			want                       ninsho.Code
			field                      string
		}{
			{"e-mail", "hanako@example.jp", pw, "", ""},
			{"e-mail typed with capitals and spaces", "  HANAKO@EXAMPLE.JP　", pw, "", ""},
			{"full-width password", "hanako@example.jp", "ｋｕｍｏ－ｎｏ－ｕｅ－４２", "", ""},
			{"phone, national format", "090-1111-2222", pw, "", ""},
			{"phone, international", "+81 90 1111 2222", pw, "", ""},
			{"phone, full-width", "０９０１１１１２２２２", pw, "", ""},
			{"wrong password", "hanako@example.jp", pw + "!", ninsho.CodePasswordIncorrect, "password"},
			{"unknown identifier", "nobody@example.jp", pw, ninsho.CodeAccountNotFound, "identifier"},
			{"invalid identifier", "hanako@@example", pw, ninsho.CodeIdentifierInvalid, "identifier"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				device := dev
				if strings.Contains(tt.name, "phone") {
					device = devPhone
				}
				ans, err := e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.7", device), signin.Input{Identifier: tt.identifier, Password: tt.password})
				flowtest.WantCode(t, err, tt.want)
				if tt.want != "" {
					if f := ninsho.ErrorOf(err).Field; f != tt.field {
						t.Errorf("field = %q, want %q", f, tt.field)
					}
					return
				}
				if ans.Flow.Status != flow.StatusComplete || ans.Session == nil {
					t.Fatalf("flow %+v, want complete with a session", ans.Flow)
				}
				if _, err := e.Signin.Authenticate(ctx, e.JP, ans.Session.Token); err != nil {
					t.Errorf("Authenticate: %v", err)
				}
			})
		}
	})
}

func TestSafeRealmDoesNotTellWhichPartWasWrong(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.Safe, "owner@example.com", pw, "owner@example.com")
		known, errKnown := e.Signin.Start(ctx, e.Safe, flowtest.Req("192.0.2.7", ""), signin.Input{Identifier: "owner@example.com", Password: "wrong-password-1"})
		unknown, errUnknown := e.Signin.Start(ctx, e.Safe, flowtest.Req("192.0.2.7", ""), signin.Input{Identifier: "nobody@example.com", Password: "wrong-password-1"})
		flowtest.WantCode(t, errKnown, ninsho.CodeCredentialsIncorrect)
		flowtest.WantCode(t, errUnknown, ninsho.CodeCredentialsIncorrect)
		if ninsho.ErrorOf(errKnown).Field != ninsho.ErrorOf(errUnknown).Field {
			t.Errorf("fields differ: %q vs %q", ninsho.ErrorOf(errKnown).Field, ninsho.ErrorOf(errUnknown).Field)
		}
		if known.Flow.Status != unknown.Flow.Status || known.Next.Step != unknown.Next.Step {
			t.Errorf("answers differ: %+v vs %+v", known.Next, unknown.Next)
		}
		// Identifier first: an unknown identifier still gets a password step.
		ans, err := e.Signin.Start(ctx, e.Safe, flowtest.Req("192.0.2.7", ""), signin.Input{Identifier: "nobody@example.com"})
		if err != nil || ans.Next.Step != flow.StepPassword {
			t.Errorf("identifier-first for unknown = %+v, %v; want step password", ans, err)
		}
	})
}

func TestIdentifierFirstThenPassword(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		dev := e.MustSignUp(t, e.JP, "hanako@example.jp", pw, "hanako@example.jp")
		_, err := e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.7", dev), signin.Input{Identifier: "typo@example.jp"})
		flowtest.WantCode(t, err, ninsho.CodeAccountNotFound)

		ans, err := e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.7", dev), signin.Input{Identifier: "hanako@example.jp"})
		if err != nil || ans.Next.Step != flow.StepPassword {
			t.Fatalf("Start = %+v, %v; want step password", ans, err)
		}
		req := flowtest.Req("192.0.2.7", ans.DeviceToken)
		_, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitPassword, Password: "nope-nope-nope"})
		flowtest.WantCode(t, err, ninsho.CodePasswordIncorrect)
		done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitPassword, Password: pw})
		if err != nil || done.Session == nil {
			t.Fatalf("submit_password = %v; want a session", err)
		}
		_, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitPassword, Password: pw})
		flowtest.WantCode(t, err, ninsho.CodeFlowCompleted)
		_, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: "fly"})
		flowtest.WantCode(t, err, ninsho.CodeFlowCompleted)
		_, err = e.Engine.Act(ctx, "safe", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitPassword, Password: pw})
		flowtest.WantCode(t, err, ninsho.CodeFlowNotFound)
	})
}

func TestSigninFinishesAnUnconfirmedSignup(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		if _, err := e.Signup.Start(ctx, e.JP, flowtest.Req("192.0.2.1", ""), signup.Input{Identifier: "later@example.jp", Name: "L", Password: pw}); err != nil {
			t.Fatal(err)
		}
		e.Messages(t, "later@example.jp")
		e.Clock.Advance(2 * 24 * time.Hour) // came back two days later
		ans, err := e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.1", ""), signin.Input{Identifier: "later@example.jp", Password: pw})
		if err != nil {
			t.Fatalf("Start: %v", err)
		}
		if ans.Flow.Status != flow.StatusChallenge || ans.Next.Step != flow.StepVerificationCode {
			t.Fatalf("got %+v, want a verification code challenge", ans.Next)
		}
		c := e.LastCode(t, "later@example.jp")
		done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, flowtest.Req("192.0.2.1", ans.DeviceToken), flow.Action{Name: flow.ActionSubmitCode, Code: c})
		if err != nil || done.Session == nil {
			t.Fatalf("submit_code: %v", err)
		}
		a, _ := e.DB.AccountByEmail(ctx, "jp", "later@example.jp")
		if a.Status != account.StatusActive || a.EmailVerifiedAt == nil {
			t.Errorf("account = %+v, want active and verified", a)
		}
	})
}

func TestExpiredUnconfirmedSignupIsGone(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		if _, err := e.Signup.Start(ctx, e.JP, flowtest.Req("192.0.2.1", ""), signup.Input{Identifier: "gone@example.jp", Name: "G", Password: pw}); err != nil {
			t.Fatal(err)
		}
		e.Clock.Advance(account.PendingLifetime)
		_, err := e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.1", ""), signin.Input{Identifier: "gone@example.jp", Password: pw})
		flowtest.WantCode(t, err, ninsho.CodeAccountNotFound)
		n, err := e.DB.PurgePendingAccounts(ctx, e.Clock.Now().Add(-account.PendingLifetime+time.Second))
		if err != nil || n != 1 {
			t.Errorf("PurgePendingAccounts = %d, %v; want 1", n, err)
		}
	})
}

func TestAccountStatesAreToldOnlyAfterTheRightPassword(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		for _, st := range []struct {
			status account.Status
			want   ninsho.Code
		}{
			{account.StatusSuspended, ninsho.CodeAccountSuspended},
			{account.StatusClosed, ninsho.CodeAccountClosed},
		} {
			ident := string(st.status) + "@example.jp"
			e.MustSignUp(t, e.JP, ident, pw, ident)
			a, _ := e.DB.AccountByEmail(ctx, "jp", ident)
			a.Status = st.status
			if err := e.DB.UpdateAccount(ctx, a); err != nil {
				t.Fatal(err)
			}
			_, err := e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.7", ""), signin.Input{Identifier: ident, Password: "not-the-password"})
			flowtest.WantCode(t, err, ninsho.CodePasswordIncorrect)
			_, err = e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.7", ""), signin.Input{Identifier: ident, Password: pw})
			flowtest.WantCode(t, err, st.want)
		}
	})
}

func TestSessionsExpireAndSignOut(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		dev := e.MustSignUp(t, e.JP, "hanako@example.jp", pw, "hanako@example.jp")
		signIn := func() string {
			ans, err := e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.7", dev), signin.Input{Identifier: "hanako@example.jp", Password: pw})
			if err != nil {
				t.Fatal(err)
			}
			return ans.Session.Token
		}
		// Idle expiry: used every 13 days, the session lives on until the
		// absolute limit of 30 days.
		tok := signIn()
		for i := 0; i < 2; i++ {
			e.Clock.Advance(13 * 24 * time.Hour)
			if _, err := e.Signin.Authenticate(ctx, e.JP, tok); err != nil {
				t.Fatalf("day %d: %v", 13*(i+1), err)
			}
		}
		e.Clock.Advance(4 * 24 * time.Hour)
		_, err := e.Signin.Authenticate(ctx, e.JP, tok)
		flowtest.WantCode(t, err, ninsho.CodeUnauthenticated)

		tok = signIn()
		e.Clock.Advance(14 * 24 * time.Hour)
		_, err = e.Signin.Authenticate(ctx, e.JP, tok)
		flowtest.WantCode(t, err, ninsho.CodeUnauthenticated)

		tok = signIn()
		if err := e.Signin.Signout(ctx, e.JP, flowtest.Req("192.0.2.7", dev), tok); err != nil {
			t.Fatalf("Signout: %v", err)
		}
		_, err = e.Signin.Authenticate(ctx, e.JP, tok)
		flowtest.WantCode(t, err, ninsho.CodeUnauthenticated)
		_, err = e.Signin.Authenticate(ctx, e.Safe, signIn())
		flowtest.WantCode(t, err, ninsho.CodeUnauthenticated)
		_, err = e.Signin.Authenticate(ctx, e.JP, "garbage")
		flowtest.WantCode(t, err, ninsho.CodeUnauthenticated)
	})
}

func TestSigninRehashesOldParameters(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		dev := e.MustSignUp(t, e.JP, "hanako@example.jp", pw, "hanako@example.jp")
		a, _ := e.DB.AccountByEmail(ctx, "jp", "hanako@example.jp")
		before, _ := e.DB.PasswordHash(ctx, a.ID)
		e.Kit.Passwords = &password.Hasher{Params: password.Params{Memory: 16, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, Limiter: password.NewLimiter(2, 8, time.Minute)}
		if _, err := e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.7", dev), signin.Input{Identifier: "hanako@example.jp", Password: pw}); err != nil {
			t.Fatalf("sign in: %v", err)
		}
		after, _ := e.DB.PasswordHash(ctx, a.ID)
		if after == before {
			t.Fatal("the hash was not upgraded to the new parameters")
		}
		if ok, rehash, err := e.Kit.Passwords.Verify(ctx, pw, after); !ok || rehash || err != nil {
			t.Errorf("Verify(new hash) = %v, %v, %v; want true, false, nil", ok, rehash, err)
		}
	})
}

func TestSigninEventsRecordWhereFrom(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		dev := e.MustSignUp(t, e.JP, "hanako@example.jp", pw, "hanako@example.jp")
		a, _ := e.DB.AccountByEmail(ctx, "jp", "hanako@example.jp")
		e.Clock.Advance(time.Minute)
		e.Signin.Start(ctx, e.JP, flowtest.Req("198.51.100.4", dev), signin.Input{Identifier: "hanako@example.jp", Password: "bad-bad-bad"})
		e.Clock.Advance(time.Minute)
		e.Signin.Start(ctx, e.JP, flowtest.Req("198.51.100.5", dev), signin.Input{Identifier: "hanako@example.jp", Password: pw})
		evs, err := e.DB.AccountEvents(ctx, a.ID, flowtest.Epoch.Add(30*time.Second), 10)
		if err != nil || len(evs) != 2 {
			t.Fatalf("events = %d, %v; want 2", len(evs), err)
		}
		if evs[0].Type != "signin.succeeded" || evs[0].IP != "198.51.100.5" || evs[1].Type != "signin.failed" || evs[1].IP != "198.51.100.4" {
			t.Errorf("events = %s@%s, %s@%s", evs[0].Type, evs[0].IP, evs[1].Type, evs[1].IP)
		}
		if evs[1].Data["reason"] != "password_incorrect" {
			t.Errorf("failure reason = %v", evs[1].Data["reason"])
		}
	})
}

func TestSessionChecksAreCachedBriefly(t *testing.T) {
	e := flowtest.New(t, storetest.MustOpenSQLite(t))
	ctx := context.Background()
	dev := e.MustSignUp(t, e.JP, "hanako@example.jp", pw, "hanako@example.jp")
	ans, err := e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.7", dev), signin.Input{Identifier: "hanako@example.jp", Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	tok := ans.Session.Token
	first, err := e.Signin.Authenticate(ctx, e.JP, tok)
	if err != nil {
		t.Fatal(err)
	}
	// Revoked behind the service's back (as by another instance): the
	// cached answer stands for at most SessionCacheTTL.
	if err := e.DB.RevokeSession(ctx, first.Session.ID, e.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Signin.Authenticate(ctx, e.JP, tok); err != nil {
		t.Errorf("within the cache TTL: %v, want the cached principal", err)
	}
	e.Clock.Advance(signin.SessionCacheTTL)
	_, err = e.Signin.Authenticate(ctx, e.JP, tok)
	flowtest.WantCode(t, err, ninsho.CodeUnauthenticated)
	// Another realm never sees a cached principal.
	ans, _ = e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.7", dev), signin.Input{Identifier: "hanako@example.jp", Password: pw})
	e.Signin.Authenticate(ctx, e.JP, ans.Session.Token)
	_, err = e.Signin.Authenticate(ctx, e.Safe, ans.Session.Token)
	flowtest.WantCode(t, err, ninsho.CodeUnauthenticated)
	// Sign-out on this instance takes effect at once.
	if err := e.Signin.Signout(ctx, e.JP, flowtest.Req("192.0.2.7", dev), ans.Session.Token); err != nil {
		t.Fatal(err)
	}
	_, err = e.Signin.Authenticate(ctx, e.JP, ans.Session.Token)
	flowtest.WantCode(t, err, ninsho.CodeUnauthenticated)
}

// notices records what a Service publishes.
type notices []string

func (n *notices) Publish(_ context.Context, kind invalidate.Kind, key string) error {
	*n = append(*n, invalidate.Payload(kind, key))
	return nil
}

// TestRevocationsTellOtherInstances: a sign-out and ForgetAccount publish
// the account's sessions notice after the change; DropCached (a notice
// heard from another instance) drops the account's cached principals at
// once, and the empty key drops every one.
func TestRevocationsTellOtherInstances(t *testing.T) {
	e := flowtest.New(t, storetest.MustOpenSQLite(t))
	ctx := context.Background()
	var sent notices
	e.Signin.Invalidate = &sent
	dev := e.MustSignUp(t, e.JP, "hanako@example.jp", pw, "hanako@example.jp")
	signIn := func() (string, string) {
		t.Helper()
		ans, err := e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.7", dev), signin.Input{Identifier: "hanako@example.jp", Password: pw})
		if err != nil {
			t.Fatal(err)
		}
		p, err := e.Signin.Authenticate(ctx, e.JP, ans.Session.Token)
		if err != nil {
			t.Fatal(err)
		}
		return ans.Session.Token, p.Session.ID
	}
	tok, sid := signIn()
	accountID := func() string {
		p, err := e.Signin.Authenticate(ctx, e.JP, tok)
		if err != nil {
			t.Fatal(err)
		}
		return p.Account.ID
	}()
	sent = nil

	// Revoked by another instance, which tells this one: refused at once,
	// with the clock standing still (no cache lifetime passed).
	if err := e.DB.RevokeSession(ctx, sid, e.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	e.Signin.DropCached(accountID)
	_, err := e.Signin.Authenticate(ctx, e.JP, tok)
	flowtest.WantCode(t, err, ninsho.CodeUnauthenticated)

	// The empty key (notices lost) drops everything.
	tok, sid = signIn()
	if err := e.DB.RevokeSession(ctx, sid, e.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	e.Signin.DropCached("")
	_, err = e.Signin.Authenticate(ctx, e.JP, tok)
	flowtest.WantCode(t, err, ninsho.CodeUnauthenticated)
	if len(sent) != 0 {
		t.Errorf("dropping on a notice published %v; it must not echo", sent)
	}

	// This instance's revocations tell the others.
	tok, _ = signIn()
	if err := e.Signin.Signout(ctx, e.JP, flowtest.Req("192.0.2.7", dev), tok); err != nil {
		t.Fatal(err)
	}
	e.Signin.ForgetAccount(accountID)
	want := invalidate.Payload(invalidate.Sessions, accountID)
	if len(sent) != 2 || sent[0] != want || sent[1] != want {
		t.Errorf("published %v, want %q twice (sign-out, ForgetAccount)", sent, want)
	}
}
