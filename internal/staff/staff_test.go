package staff_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/password"
	"github.com/ninsho/ninsho/internal/secret"
	"github.com/ninsho/ninsho/internal/staff"
	"github.com/ninsho/ninsho/internal/store"
	"github.com/ninsho/ninsho/internal/store/storetest"
	"github.com/ninsho/ninsho/internal/throttle"
	"github.com/ninsho/ninsho/internal/totp"
)

const pw = "kinmokusei-no-kaori-42"

func newService(tb testing.TB, db *store.DB) (*staff.Service, *ninsho.ManualClock) {
	tb.Helper()
	clock := ninsho.NewManualClock(storetest.Epoch)
	random := ninsho.NewSeededRandom(13)
	hasher, _ := secret.NewHasher([]byte("staff-test-hash-key-0123456789abcdef"))
	box, err := secret.NewBox(random, []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		tb.Fatal(err)
	}
	return &staff.Service{Tx: db, Clock: clock, Random: random, Store: db, Sessions: db, Events: db, Hasher: hasher, Box: box,
		Passwords: &password.Hasher{Params: password.Params{Memory: 8, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
			Limiter: password.NewLimiter(2, 16, time.Minute), Random: random},
		Policy: password.DefaultPolicy(), Counter: &throttle.Counter{Store: db, Clock: clock}}, clock
}

func wantCode(tb testing.TB, err error, want ninsho.Code) {
	tb.Helper()
	if got := ninsho.CodeOf(err); got != want {
		tb.Fatalf("error %v (%q), want %q", err, got, want)
	}
}

func TestEnrolment(t *testing.T) {
	storetest.EachDatabase(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		s, clock := newService(t, open(t))
		ctx := context.Background()
		req := ninsho.Request{IP: "192.0.2.1"}
		_, _, err := s.Invite(ctx, nil, req, "not an address", "", "root")
		if got := len(ninsho.ErrorOf(err).All()); got != 2 {
			t.Errorf("bad address and role: %d refusals (%v), want 2", got, err)
		}
		st, tok, err := s.Invite(ctx, nil, req, "Reviewer@Example.jp", "R", staff.RoleReviewer)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(st.EnrolHash), tok) || len(st.EnrolHash) == 0 {
			t.Errorf("the enrolment token must be stored only as a hash")
		}
		en, err := s.Enrolment(ctx, tok)
		if err != nil || !strings.HasPrefix(en.URL, "otpauth://totp/") || len(strings.Fields(en.Grouped)) != 8 {
			t.Fatalf("enrolment: %+v %v", en, err)
		}
		key := strings.ReplaceAll(en.Grouped, " ", "")
		code, _ := totp.CodeAt(key, clock.Now())
		_, err = s.Enrol(ctx, req, tok, pw, "other-password-42", code)
		wantCode(t, err, ninsho.CodePasswordMismatch)
		_, err = s.Enrol(ctx, req, tok, "password", "password", "")
		if got := len(ninsho.ErrorOf(err).All()); got != 2 {
			t.Errorf("weak password and no code: %d refusals (%v), want 2", got, err)
		}
		// A weak password does not hide a confirmation that differs.
		_, err = s.Enrol(ctx, req, tok, "password", "passw0rd", code)
		var refused []string
		for _, x := range ninsho.ErrorOf(err).All() {
			refused = append(refused, x.Field+"/"+string(x.Code))
		}
		if len(refused) != 2 || !strings.HasPrefix(refused[0], "password/") || refused[1] != "password_confirmation/password_mismatch" {
			t.Errorf("weak and mismatched: %v, want the password's refusal and password_mismatch", refused)
		}
		// A replaced link stops working.
		_, tok2, err := s.Reinvite(ctx, nil, req, st.ID)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Enrolment(ctx, tok)
		wantCode(t, err, ninsho.CodeStaffEnrolmentInvalid)
		// It expires after EnrolLifetime.
		clock.Advance(staff.EnrolLifetime)
		_, err = s.Enrolment(ctx, tok2)
		wantCode(t, err, ninsho.CodeStaffEnrolmentInvalid)
		_, tok3, _ := s.Reinvite(ctx, nil, req, st.ID)
		code, _ = totp.CodeAt(key, clock.Now())
		got, err := s.Enrol(ctx, req, tok3, pw, pw, code)
		if err != nil || got.Status != staff.StatusActive || got.EnrolHash != nil {
			t.Fatalf("enrol: %+v %v", got, err)
		}
		_, _, err = s.Reinvite(ctx, nil, req, st.ID)
		wantCode(t, err, ninsho.CodeConflict)
		// Its code is spent: signing in with it again is refused.
		tok4, err := s.SignIn(ctx, req, "reviewer@example.jp", pw)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = s.SecondFactor(ctx, req, tok4, code)
		wantCode(t, err, ninsho.CodeTOTPReused)
		// The waiting session ends after PendingLifetime.
		clock.Advance(staff.PendingLifetime)
		clock.Advance(time.Minute)
		code, _ = totp.CodeAt(key, clock.Now())
		_, _, err = s.SecondFactor(ctx, req, tok4, code)
		wantCode(t, err, ninsho.CodeUnauthenticated)
	})
}

func TestManageStaff(t *testing.T) {
	storetest.EachDatabase(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		s, _ := newService(t, open(t))
		ctx := context.Background()
		req := ninsho.Request{IP: "192.0.2.1"}
		admin, _, _ := s.Invite(ctx, nil, req, "admin@example.jp", "", staff.RoleAdmin)
		agent, _, _ := s.Invite(ctx, nil, req, "agent@example.jp", "", staff.RoleAgent)
		_, _, err := s.Invite(ctx, agent, req, "x@example.jp", "", staff.RoleAdmin)
		wantCode(t, err, ninsho.CodeForbidden)
		wantCode(t, s.SetRole(ctx, agent, req, agent.ID, staff.RoleAdmin), ninsho.CodeForbidden)
		wantCode(t, s.Disable(ctx, agent, req, admin.ID), ninsho.CodeForbidden)
		_, err = s.List(ctx, agent)
		wantCode(t, err, ninsho.CodeForbidden)
		wantCode(t, s.SetRole(ctx, admin, req, admin.ID, staff.RoleAgent), ninsho.CodeConflict)
		wantCode(t, s.Disable(ctx, admin, req, admin.ID), ninsho.CodeConflict)
		wantCode(t, s.SetRole(ctx, admin, req, agent.ID, "root"), ninsho.CodeRequestInvalid)
		if err := s.SetRole(ctx, admin, req, agent.ID, staff.RoleReviewer); err != nil {
			t.Fatal(err)
		}
		if err := s.Disable(ctx, admin, req, agent.ID); err != nil {
			t.Fatal(err)
		}
		list, err := s.List(ctx, admin)
		if err != nil || len(list) != 2 || list[1].Role != staff.RoleReviewer || list[1].Status != staff.StatusDisabled {
			t.Errorf("list: %+v %v", list, err)
		}
	})
}
