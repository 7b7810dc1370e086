package storetest

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/twostep"
)

// Account checks account.Store: round trips, lookups per realm, unique
// identifiers mapped to ninsho.CodeIdentifierTaken, password hashes, and the
// removal of pending accounts with everything that hangs off them.
func Account(t *testing.T, open func(tb testing.TB) Stores) {
	ctx := context.Background()

	t.Run("round trip", func(t *testing.T) {
		s := open(t)
		full := NewAccount("jp", "hanako@example.jp", "+819012345678")
		full.Type, full.Status, full.Locale = account.TypeSeller, account.StatusActive, "en"
		full.EmailVerifiedAt, full.PhoneVerifiedAt = ptr(at(time.Minute)), ptr(at(2*time.Minute+time.Microsecond))
		full.UpdatedAt = at(3 * time.Minute)
		emailOnly := NewAccount("jp", "taro@example.jp", "")
		phoneOnly := NewAccount("jp", "", "+819087654321")
		for _, a := range []*account.Account{full, emailOnly, phoneOnly} {
			MustCreateAccount(t, s, a)
		}
		lookups := []struct {
			name string
			get  func() (*account.Account, error)
			want *account.Account
		}{
			{"by id", func() (*account.Account, error) { return s.Account(ctx, full.ID) }, full},
			{"by email", func() (*account.Account, error) { return s.AccountByEmail(ctx, "jp", full.Email) }, full},
			{"by phone", func() (*account.Account, error) { return s.AccountByPhone(ctx, "jp", full.Phone) }, full},
			{"e-mail only by id", func() (*account.Account, error) { return s.Account(ctx, emailOnly.ID) }, emailOnly},
			{"phone only by phone", func() (*account.Account, error) { return s.AccountByPhone(ctx, "jp", phoneOnly.Phone) }, phoneOnly},
		}
		for _, l := range lookups {
			got, err := l.get()
			if err != nil {
				t.Errorf("%s: got error %v, want the account", l.name, err)
				continue
			}
			if !reflect.DeepEqual(got, l.want) {
				t.Errorf("%s:\ngot  %s\nwant %s", l.name, show(got), show(l.want))
			}
		}
	})

	t.Run("not found", func(t *testing.T) {
		s := open(t)
		MustCreateAccount(t, s, NewAccount("jp", "hanako@example.jp", "+819012345678"))
		MustCreateAccount(t, s, NewAccount("jp", "", "+819087654321"))
		lookups := []struct {
			name string
			get  func() (*account.Account, error)
		}{
			{"unknown id", func() (*account.Account, error) { return s.Account(ctx, NewID()) }},
			{"unknown email", func() (*account.Account, error) { return s.AccountByEmail(ctx, "jp", "nobody@example.jp") }},
			{"email of another realm", func() (*account.Account, error) { return s.AccountByEmail(ctx, "us", "hanako@example.jp") }},
			{"empty email", func() (*account.Account, error) { return s.AccountByEmail(ctx, "jp", "") }},
			{"unknown phone", func() (*account.Account, error) { return s.AccountByPhone(ctx, "jp", "+819000000000") }},
			{"phone of another realm", func() (*account.Account, error) { return s.AccountByPhone(ctx, "us", "+819012345678") }},
			{"empty phone", func() (*account.Account, error) { return s.AccountByPhone(ctx, "jp", "") }},
		}
		for _, l := range lookups {
			got, err := l.get()
			if ninsho.CodeOf(err) != ninsho.CodeAccountNotFound {
				t.Errorf("%s: got %s, %v; want error %q", l.name, show(got), err, ninsho.CodeAccountNotFound)
			}
		}
	})

	t.Run("unique identifiers", func(t *testing.T) {
		cases := []struct {
			name         string
			first, again *account.Account
			want         ninsho.Code
		}{
			{"same email", NewAccount("jp", "a@example.jp", ""), NewAccount("jp", "a@example.jp", ""), ninsho.CodeIdentifierTaken},
			{"same phone", NewAccount("jp", "", "+819011112222"), NewAccount("jp", "", "+819011112222"), ninsho.CodeIdentifierTaken},
			{"same email, other phone", NewAccount("jp", "a@example.jp", "+819011112222"), NewAccount("jp", "a@example.jp", "+819033334444"), ninsho.CodeIdentifierTaken},
			{"same phone, other email", NewAccount("jp", "a@example.jp", "+819011112222"), NewAccount("jp", "b@example.jp", "+819011112222"), ninsho.CodeIdentifierTaken},
			{"same email in another realm", NewAccount("jp", "a@example.jp", ""), NewAccount("us", "a@example.jp", ""), ""},
			{"same phone in another realm", NewAccount("jp", "", "+819011112222"), NewAccount("us", "", "+819011112222"), ""},
			{"both without email", NewAccount("jp", "", "+819011112222"), NewAccount("jp", "", "+819033334444"), ""},
			{"both without phone", NewAccount("jp", "a@example.jp", ""), NewAccount("jp", "b@example.jp", ""), ""},
		}
		s := open(t)
		for i, tc := range cases {
			// One store for all cases: each case gets realms of its own.
			tc.first.Realm += fmt.Sprint(i)
			tc.again.Realm += fmt.Sprint(i)
			MustCreateAccount(t, s, tc.first)
			err := s.CreateAccount(ctx, tc.again)
			if got := ninsho.CodeOf(err); got != tc.want {
				t.Errorf("CreateAccount(%s): got error %v (code %q), want code %q", tc.name, err, got, tc.want)
			}
		}
	})

	t.Run("update", func(t *testing.T) {
		s := open(t)
		a := MustCreateAccount(t, s, NewAccount("jp", "hanako@example.jp", ""))
		other := MustCreateAccount(t, s, NewAccount("jp", "taro@example.jp", "+819011112222"))

		a.Type, a.Status, a.Name, a.Locale = account.TypeBusiness, account.StatusActive, "山田 花子", "en"
		a.Email, a.EmailVerifiedAt = "hanako@example.com", ptr(at(time.Hour))
		a.Phone, a.PhoneVerifiedAt = "+819099998888", ptr(at(2*time.Hour))
		a.UpdatedAt = at(2 * time.Hour)
		mustNil(t, "UpdateAccount", s.UpdateAccount(ctx, a))
		got, err := s.Account(ctx, a.ID)
		mustNil(t, "Account", err)
		if !reflect.DeepEqual(got, a) {
			t.Errorf("after update:\ngot  %s\nwant %s", show(got), show(a))
		}
		if _, err := s.AccountByEmail(ctx, "jp", "hanako@example.jp"); ninsho.CodeOf(err) != ninsho.CodeAccountNotFound {
			t.Errorf("AccountByEmail(old address): got %v, want %q", err, ninsho.CodeAccountNotFound)
		}

		taken := []struct {
			name   string
			change func(a account.Account) *account.Account
		}{
			{"email of another account", func(a account.Account) *account.Account { a.Email = other.Email; return &a }},
			{"phone of another account", func(a account.Account) *account.Account { a.Phone = other.Phone; return &a }},
		}
		for _, tc := range taken {
			err := s.UpdateAccount(ctx, tc.change(*a))
			wantCode(t, "UpdateAccount to the "+tc.name, err, ninsho.CodeIdentifierTaken)
		}
		// Removing identifiers never collides: "" is stored as "none".
		other.Phone, a.Phone = "", ""
		mustNil(t, "UpdateAccount removing a phone", s.UpdateAccount(ctx, other))
		mustNil(t, "UpdateAccount removing a phone", s.UpdateAccount(ctx, a))

		err = s.UpdateAccount(ctx, NewAccount("jp", "ghost@example.jp", ""))
		wantCode(t, "UpdateAccount of an unknown account", err, ninsho.CodeAccountNotFound)
	})

	t.Run("password hash", func(t *testing.T) {
		s := open(t)
		a := MustCreateAccount(t, s, NewAccount("jp", "hanako@example.jp", ""))
		_, err := s.PasswordHash(ctx, a.ID)
		wantCode(t, "PasswordHash before any", err, ninsho.CodeNotFound)
		for i, hash := range []string{"$argon2id$v=19$m=65536,t=3,p=2$first", "$argon2id$v=19$m=65536,t=3,p=2$second"} {
			mustNil(t, "SetPasswordHash", s.SetPasswordHash(ctx, a.ID, hash, at(time.Duration(i)*time.Hour)))
			got, err := s.PasswordHash(ctx, a.ID)
			mustNil(t, "PasswordHash", err)
			if got != hash {
				t.Errorf("PasswordHash after setting #%d: got %q, want %q", i+1, got, hash)
			}
		}
		_, err = s.PasswordHash(ctx, NewID())
		wantCode(t, "PasswordHash of an unknown account", err, ninsho.CodeNotFound)
		err = s.SetPasswordHash(ctx, NewID(), "$argon2id$x", Epoch)
		wantCode(t, "SetPasswordHash of an unknown account", err, ninsho.CodeAccountNotFound)
	})

	t.Run("delete pending account", func(t *testing.T) {
		s := open(t)
		pending := mustAccountWithEverything(t, s, account.StatusPending, Epoch)
		active := mustAccountWithEverything(t, s, account.StatusActive, Epoch)

		cases := []struct {
			name string
			id   string
			want bool
		}{
			{"pending", pending.account, true},
			{"pending again", pending.account, false},
			{"active", active.account, false},
			{"unknown", NewID(), false},
		}
		for _, tc := range cases {
			got, err := s.DeletePendingAccount(ctx, tc.id)
			mustNil(t, "DeletePendingAccount("+tc.name+")", err)
			if got != tc.want {
				t.Errorf("DeletePendingAccount(%s): got %v, want %v", tc.name, got, tc.want)
			}
		}
		pending.wantGone(t, s, false)
		active.wantPresent(t, s)
	})

	t.Run("purge pending accounts", func(t *testing.T) {
		s := open(t)
		cutoff := at(-account.PendingLifetime)
		old := mustAccountWithEverything(t, s, account.StatusPending, cutoff.Add(-time.Microsecond))
		old2 := mustAccountWithEverything(t, s, account.StatusPending, cutoff.Add(-time.Hour))
		atCutoff := mustAccountWithEverything(t, s, account.StatusPending, cutoff)
		fresh := mustAccountWithEverything(t, s, account.StatusPending, Epoch)
		oldActive := mustAccountWithEverything(t, s, account.StatusActive, cutoff.Add(-time.Hour))

		n, err := s.PurgePendingAccounts(ctx, cutoff)
		mustNil(t, "PurgePendingAccounts", err)
		if n != 2 {
			t.Errorf("PurgePendingAccounts: got %d, want 2", n)
		}
		old.wantGone(t, s, true)
		old2.wantGone(t, s, true)
		atCutoff.wantPresent(t, s)
		fresh.wantPresent(t, s)
		oldActive.wantPresent(t, s)

		n, err = s.PurgePendingAccounts(ctx, cutoff)
		mustNil(t, "PurgePendingAccounts again", err)
		if n != 0 {
			t.Errorf("PurgePendingAccounts again: got %d, want 0", n)
		}
	})
}

// accountWithEverything names an account and the rows that hang off it.
type accountWithEverything struct {
	account, device, flow string
	sessionHash           []byte
}

// mustAccountWithEverything creates an account with the given status and
// creation time, with a password, a familiar device, a session and a code.
func mustAccountWithEverything(tb testing.TB, s Stores, status account.Status, created time.Time) accountWithEverything {
	tb.Helper()
	ctx := context.Background()
	a := NewAccount("jp", NewID()+"@example.jp", "")
	a.Status, a.CreatedAt, a.UpdatedAt = status, created, created
	MustCreateAccount(tb, s, a)
	if err := s.SetPasswordHash(ctx, a.ID, "$argon2id$hash", created); err != nil {
		tb.Fatalf("SetPasswordHash: %v", err)
	}
	d := MustCreateDevice(tb, s, NewDevice("jp"))
	if err := s.MarkFamiliar(ctx, a.ID, d.ID, created); err != nil {
		tb.Fatalf("MarkFamiliar: %v", err)
	}
	sess := MustCreateSession(tb, s, NewSession("jp", a.ID))
	f := MustCreateFlow(tb, s, NewFlow("jp"))
	MustInsertCode(tb, s, NewCode("jp", f.ID, a.ID, a.Email))
	c := MustAddCredential(tb, s, NewCredential("jp", a.ID, twostep.MethodTOTP, ptr(created)))
	if err := s.SetState(ctx, twostep.State{Realm: "jp", AccountID: a.ID, Enabled: true, Preferred: c.ID, UpdatedAt: created}); err != nil {
		tb.Fatalf("SetState: %v", err)
	}
	if err := s.ReplaceBackupCodes(ctx, "jp", a.ID, [][]byte{NewHash(), NewHash()}, created); err != nil {
		tb.Fatalf("ReplaceBackupCodes: %v", err)
	}
	return accountWithEverything{account: a.ID, device: d.ID, flow: f.ID, sessionHash: sess.TokenHash}
}

// wantGone checks that the account and its dependents are removed; codes
// only when codesToo (a replaced pending sign-up keeps them for the hourly
// cap, a purge removes them).
func (e accountWithEverything) wantGone(tb testing.TB, s Stores, codesToo bool) {
	tb.Helper()
	ctx := context.Background()
	_, err := s.Account(ctx, e.account)
	wantCode(tb, "Account of a removed account", err, ninsho.CodeAccountNotFound)
	_, err = s.PasswordHash(ctx, e.account)
	wantCode(tb, "PasswordHash of a removed account", err, ninsho.CodeNotFound)
	if ok, err := s.IsFamiliar(ctx, e.account, e.device); err != nil || ok {
		tb.Errorf("IsFamiliar of a removed account: got %v, %v; want false, nil", ok, err)
	}
	_, err = s.SessionByTokenHash(ctx, e.sessionHash)
	wantCode(tb, "SessionByTokenHash of a removed account", err, ninsho.CodeUnauthenticated)
	if cs, err := s.Credentials(ctx, "jp", e.account); err != nil || len(cs) != 0 {
		tb.Errorf("Credentials of a removed account: got %d, %v; want none", len(cs), err)
	}
	if st, err := s.State(ctx, "jp", e.account); err != nil || st.Enabled || st.Preferred != "" {
		tb.Errorf("State of a removed account: got %+v, %v; want the zero state", st, err)
	}
	if n, err := s.BackupCodesLeft(ctx, "jp", e.account); err != nil || n != 0 {
		tb.Errorf("BackupCodesLeft of a removed account: got %d, %v; want 0", n, err)
	}
	_, err = s.LatestCode(ctx, e.flow)
	if codesToo {
		wantCode(tb, "LatestCode of a removed account", err, ninsho.CodeNoCodeRequested)
	} else if err != nil {
		tb.Errorf("LatestCode of a replaced pending account: got %v, want the code kept", err)
	}
}

func (e accountWithEverything) wantPresent(tb testing.TB, s Stores) {
	tb.Helper()
	ctx := context.Background()
	_, err := s.Account(ctx, e.account)
	mustNil(tb, "Account of a kept account", err)
	_, err = s.PasswordHash(ctx, e.account)
	mustNil(tb, "PasswordHash of a kept account", err)
	if ok, err := s.IsFamiliar(ctx, e.account, e.device); err != nil || !ok {
		tb.Errorf("IsFamiliar of a kept account: got %v, %v; want true, nil", ok, err)
	}
	_, err = s.SessionByTokenHash(ctx, e.sessionHash)
	mustNil(tb, "SessionByTokenHash of a kept account", err)
	_, err = s.LatestCode(ctx, e.flow)
	mustNil(tb, "LatestCode of a kept account", err)
	if cs, err := s.Credentials(ctx, "jp", e.account); err != nil || len(cs) != 1 {
		tb.Errorf("Credentials of a kept account: got %d, %v; want 1", len(cs), err)
	}
	if st, err := s.State(ctx, "jp", e.account); err != nil || !st.Enabled {
		tb.Errorf("State of a kept account: got %+v, %v; want enabled", st, err)
	}
	if n, err := s.BackupCodesLeft(ctx, "jp", e.account); err != nil || n != 2 {
		tb.Errorf("BackupCodesLeft of a kept account: got %d, %v; want 2", n, err)
	}
}
