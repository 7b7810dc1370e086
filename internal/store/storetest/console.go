package storetest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/desk"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/staff"
)

// ConsoleStores are the stores of the staff console (issue 13): staff
// accounts and sessions, suspensions, resets required by staff and the
// desk's look-ups.
type ConsoleStores interface {
	Stores
	staff.Store
	staff.SessionStore
	account.SuspensionStore
	account.ResetRequirementStore
	desk.Lookup
}

// NewStaff returns an unsaved invited staff member.
func NewStaff(email string, role staff.Role) *staff.Staff {
	return &staff.Staff{ID: NewID(), Email: email, Name: "Staff", Role: role, Status: staff.StatusInvited,
		TOTPSealed: []byte("sealed"), EnrolHash: NewHash(), EnrolExpiresAt: at(24 * time.Hour), CreatedAt: at(0)}
}

// Console checks the console's stores: staff round trip, unique address,
// enrolment look-up only while invited, update, listing order; sessions by
// hash, touch, delete one, all and expired; at most one suspension in
// force, lifted with who and why, found by reference, listed newest first;
// the reset requirement set, read and cleared; events by request id and
// messages by address.
func Console(t *testing.T, open func(tb testing.TB) ConsoleStores) {
	ctx := context.Background()
	t.Run("staff", func(t *testing.T) {
		s := open(t)
		b := NewStaff("b@example.jp", staff.RoleAdmin)
		a := NewStaff("a@example.jp", staff.RoleAgent)
		for _, x := range []*staff.Staff{b, a} {
			mustNil(t, "CreateStaff", s.CreateStaff(ctx, x))
		}
		if err := s.CreateStaff(ctx, NewStaff("a@example.jp", staff.RoleAgent)); !ninsho.IsCode(err, ninsho.CodeIdentifierTaken) {
			t.Errorf("CreateStaff with a taken address: got %v, want identifier_taken", err)
		}
		got, err := s.StaffByEnrolHash(ctx, a.EnrolHash)
		mustNil(t, "StaffByEnrolHash", err)
		if got.ID != a.ID || got.Role != staff.RoleAgent || !bytes.Equal(got.TOTPSealed, a.TOTPSealed) || !got.EnrolExpiresAt.Equal(a.EnrolExpiresAt) {
			t.Errorf("StaffByEnrolHash: got %s, want %s", show(got), show(a))
		}
		a.Status, a.EnrolHash, a.EnrolExpiresAt, a.PasswordHash, a.TOTPLastStep = staff.StatusActive, nil, time.Time{}, "$argon2id$x", 42
		a.LastSignInAt, a.LockedUntil = at(time.Hour), at(2*time.Hour)
		mustNil(t, "UpdateStaff", s.UpdateStaff(ctx, a))
		if _, err := s.StaffByEnrolHash(ctx, got.EnrolHash); !ninsho.IsCode(err, ninsho.CodeNotFound) {
			t.Errorf("StaffByEnrolHash after enrolment: got %v, want not_found", err)
		}
		got, err = s.StaffByEmail(ctx, "a@example.jp")
		mustNil(t, "StaffByEmail", err)
		if got.TOTPLastStep != 42 || got.PasswordHash != "$argon2id$x" || got.Status != staff.StatusActive || !got.LastSignInAt.Equal(at(time.Hour)) || !got.LockedUntil.Equal(at(2*time.Hour)) || got.EnrolHash != nil {
			t.Errorf("after UpdateStaff: got %s", show(got))
		}
		if _, err := s.Staff(ctx, NewID()); !ninsho.IsCode(err, ninsho.CodeNotFound) {
			t.Errorf("Staff(unknown): got %v, want not_found", err)
		}
		if err := s.UpdateStaff(ctx, NewStaff("c@example.jp", staff.RoleAgent)); !ninsho.IsCode(err, ninsho.CodeNotFound) {
			t.Errorf("UpdateStaff(unknown): got %v, want not_found", err)
		}
		for _, c := range []struct {
			step int64
			want bool
		}{{42, false}, {41, false}, {43, true}, {43, false}} {
			ok, err := s.AcceptTOTPStep(ctx, a.ID, c.step, at(3*time.Hour))
			if err != nil || ok != c.want {
				t.Errorf("AcceptTOTPStep(%d): %v %v, want %v", c.step, ok, err, c.want)
			}
		}
		if got, _ := s.Staff(ctx, a.ID); got.TOTPLastStep != 43 || !got.LastSignInAt.Equal(at(3*time.Hour)) {
			t.Errorf("after AcceptTOTPStep: step %d, last sign-in %v", got.TOTPLastStep, got.LastSignInAt)
		}
		list, err := s.ListStaff(ctx)
		mustNil(t, "ListStaff", err)
		if len(list) != 2 || list[0].Email != "a@example.jp" || list[1].Email != "b@example.jp" {
			t.Errorf("ListStaff: got %s, want a then b", show(list))
		}
	})
	t.Run("sessions", func(t *testing.T) {
		s := open(t)
		st := NewStaff("a@example.jp", staff.RoleAgent)
		mustNil(t, "CreateStaff", s.CreateStaff(ctx, st))
		mk := func(exp time.Duration) *staff.Session {
			x := &staff.Session{ID: NewID(), TokenHash: NewHash(), StaffID: st.ID, AAL: 2, CreatedAt: at(0), LastSeenAt: at(0), ExpiresAt: at(exp)}
			mustNil(t, "CreateStaffSession", s.CreateStaffSession(ctx, x))
			return x
		}
		one, two, old := mk(8*time.Hour), mk(8*time.Hour), mk(time.Hour)
		got, err := s.StaffSessionByHash(ctx, one.TokenHash)
		mustNil(t, "StaffSessionByHash", err)
		if got.ID != one.ID || got.AAL != 2 || !got.ExpiresAt.Equal(one.ExpiresAt) {
			t.Errorf("StaffSessionByHash: got %s, want %s", show(got), show(one))
		}
		mustNil(t, "TouchStaffSession", s.TouchStaffSession(ctx, one.ID, at(time.Minute)))
		mustNil(t, "TouchStaffSession (older)", s.TouchStaffSession(ctx, one.ID, at(time.Second)))
		if got, _ := s.StaffSessionByHash(ctx, one.TokenHash); !got.LastSeenAt.Equal(at(time.Minute)) {
			t.Errorf("last seen = %v, want the later touch", got.LastSeenAt)
		}
		n, err := s.DeleteExpiredStaffSessions(ctx, at(2*time.Hour))
		if err != nil || n != 1 {
			t.Errorf("DeleteExpiredStaffSessions: %d %v, want 1", n, err)
		}
		if _, err := s.StaffSessionByHash(ctx, old.TokenHash); !ninsho.IsCode(err, ninsho.CodeUnauthenticated) {
			t.Errorf("expired session: got %v, want unauthenticated", err)
		}
		mustNil(t, "DeleteStaffSession", s.DeleteStaffSession(ctx, one.ID))
		if _, err := s.StaffSessionByHash(ctx, one.TokenHash); !ninsho.IsCode(err, ninsho.CodeUnauthenticated) {
			t.Errorf("deleted session: got %v, want unauthenticated", err)
		}
		n, err = s.DeleteStaffSessions(ctx, st.ID)
		if err != nil || n != 1 {
			t.Errorf("DeleteStaffSessions: %d %v, want 1 (%s)", n, err, two.ID)
		}
	})
	t.Run("suspensions", func(t *testing.T) {
		s := open(t)
		a := MustCreateAccount(t, s, NewAccount("jp", "hanako@example.jp", ""))
		first := &account.Suspension{Reference: "S-AAAA-AAAA", Realm: "jp", AccountID: a.ID, Reason: account.ReasonTermsOfUse, Note: "note 1", By: "staff:x", At: at(0)}
		mustNil(t, "AddSuspension", s.AddSuspension(ctx, first))
		if err := s.AddSuspension(ctx, &account.Suspension{Reference: "S-CCCC-CCCC", Realm: "jp", AccountID: a.ID, Reason: account.ReasonTermsOfUse, By: "staff:x", At: at(time.Second)}); !ninsho.IsCode(err, ninsho.CodeConflict) {
			t.Errorf("second suspension in force: got %v, want conflict", err)
		}
		got, err := s.ActiveSuspension(ctx, a.ID)
		mustNil(t, "ActiveSuspension", err)
		if got.Reference != first.Reference || got.Reason != account.ReasonTermsOfUse || got.Note != "note 1" || got.LiftedAt != nil {
			t.Errorf("ActiveSuspension: got %s", show(got))
		}
		lifted, err := s.LiftSuspension(ctx, a.ID, "staff:y", "paid", at(time.Hour))
		mustNil(t, "LiftSuspension", err)
		if lifted.LiftedAt == nil || !lifted.LiftedAt.Equal(at(time.Hour)) || lifted.LiftedBy != "staff:y" {
			t.Errorf("LiftSuspension: got %s", show(lifted))
		}
		if _, err := s.ActiveSuspension(ctx, a.ID); !ninsho.IsCode(err, ninsho.CodeNotFound) {
			t.Errorf("ActiveSuspension after lifting: got %v, want not_found", err)
		}
		if _, err := s.LiftSuspension(ctx, a.ID, "staff:y", "again", at(time.Hour)); !ninsho.IsCode(err, ninsho.CodeNotFound) {
			t.Errorf("LiftSuspension with none in force: got %v, want not_found", err)
		}
		if err := s.AddSuspension(ctx, &account.Suspension{Reference: first.Reference, Realm: "jp", AccountID: a.ID, Reason: account.ReasonOwnerRequest, By: "staff:x", At: at(2 * time.Hour)}); !ninsho.IsCode(err, ninsho.CodeConflict) {
			t.Errorf("a taken reference: got %v, want conflict", err)
		}
		second := &account.Suspension{Reference: "S-DDDD-DDDD", Realm: "jp", AccountID: a.ID, Reason: account.ReasonOwnerRequest, By: "staff:x", At: at(2 * time.Hour)}
		mustNil(t, "AddSuspension again", s.AddSuspension(ctx, second))
		byRef, err := s.SuspensionByReference(ctx, first.Reference)
		mustNil(t, "SuspensionByReference", err)
		if byRef.AccountID != a.ID || byRef.LiftNote != "paid" {
			t.Errorf("SuspensionByReference: got %s", show(byRef))
		}
		list, err := s.Suspensions(ctx, a.ID, 10)
		mustNil(t, "Suspensions", err)
		if len(list) != 2 || list[0].Reference != second.Reference {
			t.Errorf("Suspensions: got %s, want newest first", show(list))
		}
		if err := s.AddSuspension(ctx, &account.Suspension{Reference: "S-EEEE-EEEE", AccountID: NewID(), Reason: account.ReasonOwnerRequest, At: at(0)}); !ninsho.IsCode(err, ninsho.CodeAccountNotFound) {
			t.Errorf("suspension of no account: got %v, want account_not_found", err)
		}
	})
	t.Run("reset required", func(t *testing.T) {
		s := open(t)
		a := MustCreateAccount(t, s, NewAccount("jp", "hanako@example.jp", ""))
		if must, err := s.PasswordResetRequired(ctx, a.ID); must || err != nil {
			t.Errorf("before: %v %v, want false", must, err)
		}
		mustNil(t, "RequirePasswordReset", s.RequirePasswordReset(ctx, a.ID, "staff:x", at(0)))
		mustNil(t, "RequirePasswordReset again", s.RequirePasswordReset(ctx, a.ID, "staff:y", at(time.Hour)))
		if must, err := s.PasswordResetRequired(ctx, a.ID); !must || err != nil {
			t.Errorf("after: %v %v, want true", must, err)
		}
		if ok, err := s.ClearPasswordReset(ctx, a.ID); !ok || err != nil {
			t.Errorf("ClearPasswordReset: %v %v, want true", ok, err)
		}
		if ok, err := s.ClearPasswordReset(ctx, a.ID); ok || err != nil {
			t.Errorf("ClearPasswordReset twice: %v %v, want false", ok, err)
		}
		if err := s.RequirePasswordReset(ctx, NewID(), "staff:x", at(0)); !ninsho.IsCode(err, ninsho.CodeAccountNotFound) {
			t.Errorf("RequirePasswordReset(unknown): got %v, want account_not_found", err)
		}
	})
	t.Run("lookups", func(t *testing.T) {
		s := open(t)
		a := MustCreateAccount(t, s, NewAccount("jp", "hanako@example.jp", "+819012345678"))
		for i, acc := range []string{a.ID, ""} {
			mustNil(t, "AppendEvent", s.AppendEvent(ctx, &event.Event{ID: NewID(), Realm: "jp", AccountID: acc, Type: event.TypeSigninFailed,
				Actor: "anonymous", RequestID: "req-1", Data: map[string]any{"i": i}, At: at(time.Duration(i) * time.Second)}))
		}
		evs, err := s.EventsByRequest(ctx, "req-1", 10)
		mustNil(t, "EventsByRequest", err)
		if len(evs) != 2 || evs[0].AccountID != a.ID || evs[1].AccountID != "" {
			t.Errorf("EventsByRequest: got %s", show(evs))
		}
		if evs, _ := s.EventsByRequest(ctx, "req-2", 10); len(evs) != 0 {
			t.Errorf("EventsByRequest(other): got %d", len(evs))
		}
		m1 := MustEnqueue(t, s, NewMessage("jp", "hanako@example.jp"))
		m2 := NewMessage("jp", "+819012345678")
		m2.CreatedAt = m1.CreatedAt.Add(time.Second)
		MustEnqueue(t, s, m2)
		MustEnqueue(t, s, NewMessage("jp", "other@example.jp"))
		MustEnqueue(t, s, NewMessage("us", "hanako@example.jp"))
		ms, err := s.MessagesTo(ctx, "jp", []string{"hanako@example.jp", "+819012345678"}, 10)
		mustNil(t, "MessagesTo", err)
		if len(ms) != 2 || ms[0].ID != m2.ID || ms[1].ID != m1.ID || ms[0].SealedVars != nil {
			t.Errorf("MessagesTo: got %s, want the two, newest first, without sealed variables", show(ms))
		}
	})
}
