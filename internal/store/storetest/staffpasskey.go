package storetest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/staff"
)

// StaffPasskeyStores are the stores of staff passkeys.
type StaffPasskeyStores interface {
	Stores
	staff.Store
	staff.SessionStore
	staff.PasskeyStore
}

// StaffPasskeys checks staff passkeys: round trip oldest first, a
// credential id only once (across staff), another staff member's rows
// untouched by remove and use, sign count and last use stored; a session's
// ceremony replaced, taken once, gone with its session.
func StaffPasskeys(t *testing.T, open func(tb testing.TB) StaffPasskeyStores) {
	ctx := context.Background()
	t.Run("passkeys", func(t *testing.T) {
		s := open(t)
		a, b := NewStaff("a@example.jp", staff.RoleAgent), NewStaff("b@example.jp", staff.RoleAdmin)
		mustNil(t, "CreateStaff", s.CreateStaff(ctx, a))
		mustNil(t, "CreateStaff", s.CreateStaff(ctx, b))
		k1 := &staff.Passkey{ID: NewID(), StaffID: a.ID, CredentialID: NewHash(), RPID: "id.example.jp", Label: "鍵 1",
			Sealed: []byte("sealed-1"), SignCount: 3, CreatedAt: at(time.Minute)}
		k2 := &staff.Passkey{ID: NewID(), StaffID: a.ID, CredentialID: NewHash(), RPID: "id.example.jp", Label: "",
			Sealed: []byte("sealed-2"), CreatedAt: at(2 * time.Minute)}
		kb := &staff.Passkey{ID: NewID(), StaffID: b.ID, CredentialID: NewHash(), RPID: "id.example.jp",
			Sealed: []byte("sealed-b"), CreatedAt: at(0)}
		for _, k := range []*staff.Passkey{k2, k1, kb} {
			mustNil(t, "AddStaffPasskey", s.AddStaffPasskey(ctx, k))
		}
		dup := *kb
		dup.ID, dup.StaffID = NewID(), a.ID
		wantCode(t, "AddStaffPasskey with a stored credential id", s.AddStaffPasskey(ctx, &dup), ninsho.CodeConflict)
		got, err := s.StaffPasskeys(ctx, a.ID)
		mustNil(t, "StaffPasskeys", err)
		if len(got) != 2 || got[0].ID != k1.ID || got[1].ID != k2.ID {
			t.Fatalf("StaffPasskeys: got %s, want k1 then k2", show(got))
		}
		g := got[0]
		if !bytes.Equal(g.CredentialID, k1.CredentialID) || g.RPID != k1.RPID || g.Label != k1.Label || string(g.Sealed) != "sealed-1" ||
			g.SignCount != 3 || !g.CreatedAt.Equal(k1.CreatedAt) || !g.LastUsedAt.IsZero() || g.StaffID != a.ID {
			t.Errorf("round trip: got %s, want %s", show(g), show(k1))
		}
		wantCode(t, "UseStaffPasskey of another staff member", s.UseStaffPasskey(ctx, b.ID, k1.ID, 9, at(time.Hour)), ninsho.CodeNotFound)
		mustNil(t, "UseStaffPasskey", s.UseStaffPasskey(ctx, a.ID, k1.ID, 4, at(time.Hour)))
		got, _ = s.StaffPasskeys(ctx, a.ID)
		if got[0].SignCount != 4 || !got[0].LastUsedAt.Equal(at(time.Hour)) {
			t.Errorf("after use: got %s", show(got[0]))
		}
		wantCode(t, "RemoveStaffPasskey of another staff member", s.RemoveStaffPasskey(ctx, b.ID, k1.ID), ninsho.CodeNotFound)
		mustNil(t, "RemoveStaffPasskey", s.RemoveStaffPasskey(ctx, a.ID, k1.ID))
		wantCode(t, "RemoveStaffPasskey again", s.RemoveStaffPasskey(ctx, a.ID, k1.ID), ninsho.CodeNotFound)
		got, _ = s.StaffPasskeys(ctx, a.ID)
		if len(got) != 1 || got[0].ID != k2.ID {
			t.Errorf("after remove: got %s, want k2 only", show(got))
		}
		if other, _ := s.StaffPasskeys(ctx, b.ID); len(other) != 1 || other[0].ID != kb.ID {
			t.Errorf("the other staff member's passkeys: got %s", show(other))
		}
	})
	t.Run("ceremony", func(t *testing.T) {
		s := open(t)
		a := NewStaff("a@example.jp", staff.RoleAgent)
		mustNil(t, "CreateStaff", s.CreateStaff(ctx, a))
		sess := &staff.Session{ID: NewID(), TokenHash: NewHash(), StaffID: a.ID, AAL: 1, CreatedAt: at(0), LastSeenAt: at(0), ExpiresAt: at(time.Hour)}
		mustNil(t, "CreateStaffSession", s.CreateStaffSession(ctx, sess))
		_, err := s.TakeStaffCeremony(ctx, sess.ID)
		wantCode(t, "TakeStaffCeremony with none", err, ninsho.CodeNotFound)
		mustNil(t, "PutStaffCeremony", s.PutStaffCeremony(ctx, sess.ID, []byte("one"), at(time.Minute)))
		mustNil(t, "PutStaffCeremony again", s.PutStaffCeremony(ctx, sess.ID, []byte("two"), at(time.Minute)))
		got, err := s.TakeStaffCeremony(ctx, sess.ID)
		mustNil(t, "TakeStaffCeremony", err)
		if string(got) != "two" {
			t.Errorf("TakeStaffCeremony: got %q, want the later one", got)
		}
		_, err = s.TakeStaffCeremony(ctx, sess.ID)
		wantCode(t, "TakeStaffCeremony twice", err, ninsho.CodeNotFound)
		mustNil(t, "PutStaffCeremony", s.PutStaffCeremony(ctx, sess.ID, []byte("three"), at(time.Minute)))
		mustNil(t, "DeleteStaffSession", s.DeleteStaffSession(ctx, sess.ID))
		_, err = s.TakeStaffCeremony(ctx, sess.ID)
		wantCode(t, "TakeStaffCeremony after its session ended", err, ninsho.CodeNotFound)
	})
}
