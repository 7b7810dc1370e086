package storetest

import (
	"context"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/twostep"
)

// TwoStep checks twostep.Store and twostep.BackupStore: credential round
// trips and listing order, proving and use, the replacement of abandoned
// enrolments, removal, the 2SV state, the TOTP replay guard (monotonic and
// atomic under concurrency), backup codes (replace all, single use, also
// concurrently, count), passkey ids unique per realm, and realm isolation.
func TwoStep(t *testing.T, open func(tb testing.TB) Stores) {
	ctx := context.Background()
	newAccount := func(tb testing.TB, s Stores, realm string) string {
		tb.Helper()
		return MustCreateAccount(tb, s, NewAccount(realm, NewID()+"@example.jp", "")).ID
	}

	t.Run("credentials round trip and order", func(t *testing.T) {
		s := open(t)
		a := newAccount(t, s, "jp")
		totp := NewCredential("jp", a, twostep.MethodTOTP, ptr(at(time.Minute)))
		totp.CreatedAt = at(3 * time.Second)
		sms := NewCredential("jp", a, twostep.MethodSMS, nil)
		sms.CreatedAt = at(1 * time.Second)
		pk := NewCredential("jp", a, twostep.MethodPasskey, ptr(at(2*time.Second)))
		pk.CreatedAt, pk.SignCount, pk.LastUsedAt, pk.Label = at(2*time.Second), 4_000_000_000, ptr(at(time.Hour)), "YubiKey 5"
		voice := NewCredential("jp", a, twostep.MethodVoice, ptr(at(time.Minute)))
		voice.CreatedAt, voice.Label = at(3*time.Second), ""
		for _, c := range []*twostep.Credential{totp, sms, pk, voice} {
			MustAddCredential(t, s, c)
		}
		got, err := s.Credentials(ctx, "jp", a)
		mustNil(t, "Credentials", err)
		// Oldest first; the same creation time in id order (UUIDv7: the
		// order they were made in).
		want := []twostep.Credential{*sms, *pk, *totp, *voice}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Credentials:\ngot  %s\nwant %s", show(got), show(want))
		}
		if got[0].Sealed != nil || got[0].PasskeyID != nil || got[2].Phone != "" {
			t.Errorf("absent values must read back empty: sms sealed %v passkey id %v, totp phone %q", got[0].Sealed, got[0].PasskeyID, got[2].Phone)
		}
		if none, err := s.Credentials(ctx, "jp", newAccount(t, s, "jp")); err != nil || len(none) != 0 {
			t.Errorf("Credentials of an account without any: got %s, %v", show(none), err)
		}
	})

	t.Run("prove and use", func(t *testing.T) {
		s := open(t)
		a, b := newAccount(t, s, "jp"), newAccount(t, s, "jp")
		c := MustAddCredential(t, s, NewCredential("jp", a, twostep.MethodTOTP, nil))

		err := s.UseCredential(ctx, "jp", a, c.ID, 0, at(time.Second))
		wantCode(t, "UseCredential of an unproved credential", err, ninsho.CodeNotFound)
		err = s.ProveCredential(ctx, "jp", b, c.ID, at(time.Second))
		wantCode(t, "ProveCredential by another account", err, ninsho.CodeNotFound)
		err = s.ProveCredential(ctx, "jp", a, NewID(), at(time.Second))
		wantCode(t, "ProveCredential of an unknown id", err, ninsho.CodeNotFound)
		if got := credentialOf(t, s, "jp", a, c.ID); got.Proved() {
			t.Fatalf("proved by refused calls: %s", show(got))
		}

		mustNil(t, "ProveCredential", s.ProveCredential(ctx, "jp", a, c.ID, at(time.Minute)))
		mustNil(t, "ProveCredential again", s.ProveCredential(ctx, "jp", a, c.ID, at(time.Hour)))
		got := credentialOf(t, s, "jp", a, c.ID)
		if got.ProvedAt == nil || !got.ProvedAt.Equal(at(time.Minute)) {
			t.Errorf("ProvedAt: got %v, want the first proof %v", got.ProvedAt, at(time.Minute))
		}

		err = s.UseCredential(ctx, "jp", b, c.ID, 7, at(2*time.Hour))
		wantCode(t, "UseCredential by another account", err, ninsho.CodeNotFound)
		mustNil(t, "UseCredential", s.UseCredential(ctx, "jp", a, c.ID, 7, at(2*time.Hour)))
		got = credentialOf(t, s, "jp", a, c.ID)
		if got.LastUsedAt == nil || !got.LastUsedAt.Equal(at(2*time.Hour)) || got.SignCount != 7 {
			t.Errorf("after UseCredential: got last used %v, sign count %d; want %v, 7", got.LastUsedAt, got.SignCount, at(2*time.Hour))
		}
	})

	t.Run("an abandoned enrolment is replaced", func(t *testing.T) {
		s := open(t)
		a := newAccount(t, s, "jp")
		proved := MustAddCredential(t, s, NewCredential("jp", a, twostep.MethodTOTP, ptr(Epoch)))
		first := MustAddCredential(t, s, NewCredential("jp", a, twostep.MethodTOTP, nil))
		sms := MustAddCredential(t, s, NewCredential("jp", a, twostep.MethodSMS, nil))
		second := MustAddCredential(t, s, NewCredential("jp", a, twostep.MethodTOTP, nil))
		got := credentialIDs(t, s, "jp", a)
		want := []string{proved.ID, sms.ID, second.ID}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("after a second unproved TOTP: got %v, want %v (the first unproved one, %s, replaced)", got, want, first.ID)
		}

		// A refused insert keeps what it would have replaced, and the
		// transaction stays usable.
		pk := MustAddCredential(t, s, NewCredential("jp", a, twostep.MethodPasskey, ptr(Epoch)))
		err := s.InTx(ctx, func(ctx context.Context) error {
			dup := NewCredential("jp", a, twostep.MethodTOTP, nil)
			dup.PasskeyID = pk.PasskeyID
			wantCode(t, "AddCredential with a used passkey id", s.AddCredential(ctx, dup), ninsho.CodeConflict)
			_, err := s.Credentials(ctx, "jp", a)
			return err
		})
		mustNil(t, "the transaction after a refused AddCredential", err)
		if got := credentialIDs(t, s, "jp", a); !reflect.DeepEqual(got, append(want, pk.ID)) {
			t.Errorf("after a refused AddCredential: got %v, want %v", got, append(want, pk.ID))
		}
	})

	t.Run("remove", func(t *testing.T) {
		s := open(t)
		a, b := newAccount(t, s, "jp"), newAccount(t, s, "jp")
		c1 := MustAddCredential(t, s, NewCredential("jp", a, twostep.MethodTOTP, ptr(Epoch)))
		c2 := MustAddCredential(t, s, NewCredential("jp", a, twostep.MethodSMS, ptr(Epoch)))
		mustNil(t, "SetState", s.SetState(ctx, twostep.State{Realm: "jp", AccountID: a, Enabled: true, Preferred: c2.ID, UpdatedAt: Epoch}))

		wantCode(t, "RemoveCredential by another account", s.RemoveCredential(ctx, "jp", b, c1.ID), ninsho.CodeNotFound)
		mustNil(t, "RemoveCredential", s.RemoveCredential(ctx, "jp", a, c1.ID))
		wantCode(t, "RemoveCredential again", s.RemoveCredential(ctx, "jp", a, c1.ID), ninsho.CodeNotFound)
		if got := credentialIDs(t, s, "jp", a); !reflect.DeepEqual(got, []string{c2.ID}) {
			t.Errorf("after removing %s: got %v, want [%s]", c1.ID, got, c2.ID)
		}
		if st, _ := s.State(ctx, "jp", a); st.Preferred != c2.ID || !st.Enabled {
			t.Errorf("removing another method changed the state: %+v", st)
		}
		mustNil(t, "RemoveCredential of the preferred method", s.RemoveCredential(ctx, "jp", a, c2.ID))
		st, err := s.State(ctx, "jp", a)
		mustNil(t, "State", err)
		if st.Preferred != "" || !st.Enabled {
			t.Errorf("after removing the preferred method: got %+v, want no preferred method (enabled is the service's to change)", st)
		}
	})

	t.Run("state", func(t *testing.T) {
		s := open(t)
		a := newAccount(t, s, "jp")
		st, err := s.State(ctx, "jp", a)
		mustNil(t, "State of an account without one", err)
		if want := (twostep.State{Realm: "jp", AccountID: a}); !reflect.DeepEqual(st, want) {
			t.Fatalf("State of an account without one: got %+v, want %+v", st, want)
		}
		want := twostep.State{Realm: "jp", AccountID: a, Enabled: true, Preferred: NewID(), UpdatedAt: at(time.Minute)}
		mustNil(t, "SetState", s.SetState(ctx, want))
		if got, _ := s.State(ctx, "jp", a); !reflect.DeepEqual(got, want) {
			t.Errorf("State after SetState:\ngot  %+v\nwant %+v", got, want)
		}
		ok, err := s.AdvanceTOTPStep(ctx, "jp", a, 1000, at(time.Hour))
		mustNil(t, "AdvanceTOTPStep", err)
		if !ok {
			t.Fatal("AdvanceTOTPStep(1000) on a state at 0: got false")
		}
		want.TOTPLastStep = 1000 // UpdatedAt stays: only SetState writes it
		if got, _ := s.State(ctx, "jp", a); !reflect.DeepEqual(got, want) {
			t.Errorf("State after AdvanceTOTPStep:\ngot  %+v\nwant %+v", got, want)
		}
		next := twostep.State{Realm: "jp", AccountID: a, Enabled: false, TOTPLastStep: 1, UpdatedAt: at(2 * time.Hour)}
		mustNil(t, "SetState off", s.SetState(ctx, next))
		next.TOTPLastStep = 1000 // SetState never moves the replay guard
		if got, _ := s.State(ctx, "jp", a); !reflect.DeepEqual(got, next) {
			t.Errorf("State after SetState off:\ngot  %+v\nwant %+v", got, next)
		}
		err = s.SetState(ctx, twostep.State{Realm: "jp", AccountID: NewID(), Enabled: true, UpdatedAt: Epoch})
		wantCode(t, "SetState of an unknown account", err, ninsho.CodeAccountNotFound)
	})

	t.Run("totp step only moves forward", func(t *testing.T) {
		s := open(t)
		a := newAccount(t, s, "jp")
		for _, tc := range []struct {
			step int64
			want bool
		}{{0, false}, {-5, false}, {100, true}, {100, false}, {99, false}, {101, true}, {103, true}, {102, false}} {
			ok, err := s.AdvanceTOTPStep(ctx, "jp", a, tc.step, Epoch)
			mustNil(t, "AdvanceTOTPStep", err)
			if ok != tc.want {
				t.Errorf("AdvanceTOTPStep(%d): got %v, want %v", tc.step, ok, tc.want)
			}
		}
		st, err := s.State(ctx, "jp", a)
		mustNil(t, "State", err)
		if st.TOTPLastStep != 103 || st.Enabled || !st.UpdatedAt.Equal(Epoch) {
			t.Errorf("State after the steps: got %+v, want step 103, off, updated at Epoch", st)
		}
		if ok, err := s.AdvanceTOTPStep(ctx, "jp", NewID(), 100, Epoch); ok || err != nil {
			t.Errorf("AdvanceTOTPStep of an unknown account: got %v, %v; want false, nil", ok, err)
		}
	})

	t.Run("totp step concurrent: one wins", func(t *testing.T) {
		s := open(t)
		a := newAccount(t, s, "jp")
		// The first round creates the state row, the second updates it.
		for _, step := range []int64{500, 501} {
			wins := race(t, 8, func() (bool, error) {
				var ok bool
				err := s.InTx(ctx, func(ctx context.Context) error {
					var err error
					ok, err = s.AdvanceTOTPStep(ctx, "jp", a, step, Epoch)
					return err
				})
				return ok, err
			})
			if wins != 1 {
				t.Errorf("8 concurrent AdvanceTOTPStep(%d): %d accepted, want exactly 1", step, wins)
			}
		}
	})

	t.Run("backup codes", func(t *testing.T) {
		s := open(t)
		a, b := newAccount(t, s, "jp"), newAccount(t, s, "jp")
		left := func(account string, want int) {
			t.Helper()
			n, err := s.BackupCodesLeft(ctx, "jp", account)
			mustNil(t, "BackupCodesLeft", err)
			if n != want {
				t.Errorf("BackupCodesLeft: got %d, want %d", n, want)
			}
		}
		left(a, 0)
		first := hashes(twostep.BackupCodeCount)
		mustNil(t, "ReplaceBackupCodes", s.ReplaceBackupCodes(ctx, "jp", a, first, Epoch))
		mustNil(t, "ReplaceBackupCodes of b", s.ReplaceBackupCodes(ctx, "jp", b, hashes(3), Epoch))
		left(a, 10)
		left(b, 3)
		since := func(account string, from time.Time, want bool) {
			t.Helper()
			got, err := s.BackupCodesSince(ctx, "jp", account, from)
			mustNil(t, "BackupCodesSince", err)
			if got != want {
				t.Errorf("BackupCodesSince(%v): got %v, want %v", from, got, want)
			}
		}
		since(a, Epoch, true)
		since(a, at(time.Second), false)
		mustNil(t, "ReplaceBackupCodes later", s.ReplaceBackupCodes(ctx, "jp", b, hashes(3), at(time.Hour)))
		since(b, at(time.Second), true)
		since(b, at(2*time.Hour), false)
		mustNil(t, "ReplaceBackupCodes back", s.ReplaceBackupCodes(ctx, "jp", b, hashes(3), Epoch))

		use := func(account string, h []byte, want bool, what string) {
			t.Helper()
			ok, err := s.UseBackupCode(ctx, "jp", account, h, at(time.Minute))
			mustNil(t, "UseBackupCode", err)
			if ok != want {
				t.Errorf("UseBackupCode (%s): got %v, want %v", what, ok, want)
			}
		}
		use(a, first[3], true, "an unused code")
		use(a, first[3], false, "the same code again")
		use(b, first[4], false, "another account's code")
		use(a, NewHash(), false, "an unknown code")
		use(a, nil, false, "an empty hash")
		left(a, 9)
		left(b, 3)

		err := s.ReplaceBackupCodes(ctx, "jp", a, hashes(twostep.BackupCodeCount+1), at(time.Hour))
		if err == nil {
			t.Error("ReplaceBackupCodes with 11 codes: got no error")
		}
		dup := hashes(4)
		dup[3] = dup[1]
		if err := s.ReplaceBackupCodes(ctx, "jp", a, dup, at(time.Hour)); err == nil {
			t.Error("ReplaceBackupCodes with a repeated code: got no error")
		}
		left(a, 9)

		second := hashes(twostep.BackupCodeCount)
		mustNil(t, "ReplaceBackupCodes again", s.ReplaceBackupCodes(ctx, "jp", a, second, at(time.Hour)))
		left(a, 10)
		use(a, first[5], false, "a replaced code")
		use(a, second[5], true, "a new code")
		left(b, 3)

		mustNil(t, "ReplaceBackupCodes with none", s.ReplaceBackupCodes(ctx, "jp", a, nil, at(2*time.Hour)))
		left(a, 0)
	})

	t.Run("backup code concurrent: one wins", func(t *testing.T) {
		s := open(t)
		a := newAccount(t, s, "jp")
		hs := hashes(twostep.BackupCodeCount)
		mustNil(t, "ReplaceBackupCodes", s.ReplaceBackupCodes(ctx, "jp", a, hs, Epoch))
		wins := race(t, 8, func() (bool, error) {
			var ok bool
			err := s.InTx(ctx, func(ctx context.Context) error {
				var err error
				ok, err = s.UseBackupCode(ctx, "jp", a, hs[0], Epoch)
				return err
			})
			return ok, err
		})
		if wins != 1 {
			t.Errorf("8 concurrent uses of one backup code: %d accepted, want exactly 1", wins)
		}
		if n, _ := s.BackupCodesLeft(ctx, "jp", a); n != twostep.BackupCodeCount-1 {
			t.Errorf("BackupCodesLeft: got %d, want %d", n, twostep.BackupCodeCount-1)
		}
	})

	t.Run("passkey ids are unique per realm", func(t *testing.T) {
		s := open(t)
		a, b, c := newAccount(t, s, "jp"), newAccount(t, s, "jp"), newAccount(t, s, "us")
		pa := MustAddCredential(t, s, NewCredential("jp", a, twostep.MethodPasskey, ptr(Epoch)))
		taken := NewCredential("jp", b, twostep.MethodPasskey, ptr(Epoch))
		taken.PasskeyID = pa.PasskeyID
		wantCode(t, "AddCredential with a passkey id used in the realm", s.AddCredential(ctx, taken), ninsho.CodeConflict)
		pc := NewCredential("us", c, twostep.MethodPasskey, ptr(Epoch))
		pc.PasskeyID = pa.PasskeyID
		MustAddCredential(t, s, pc)
		// Methods without a passkey id never collide.
		MustAddCredential(t, s, NewCredential("jp", a, twostep.MethodTOTP, ptr(Epoch)))
		MustAddCredential(t, s, NewCredential("jp", b, twostep.MethodTOTP, ptr(Epoch)))

		for _, tc := range []struct {
			realm string
			want  *twostep.Credential
		}{{"jp", pa}, {"us", pc}} {
			got, err := s.CredentialByPasskeyID(ctx, tc.realm, pa.PasskeyID)
			mustNil(t, "CredentialByPasskeyID("+tc.realm+")", err)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("CredentialByPasskeyID(%s):\ngot  %s\nwant %s", tc.realm, show(got), show(tc.want))
			}
		}
		_, err := s.CredentialByPasskeyID(ctx, "jp", NewHash())
		wantCode(t, "CredentialByPasskeyID of an unknown id", err, ninsho.CodeNotFound)
		_, err = s.CredentialByPasskeyID(ctx, "eu", pa.PasskeyID)
		wantCode(t, "CredentialByPasskeyID in a realm without it", err, ninsho.CodeNotFound)
		_, err = s.CredentialByPasskeyID(ctx, "jp", nil)
		wantCode(t, "CredentialByPasskeyID of no id", err, ninsho.CodeNotFound)
		unproved := MustAddCredential(t, s, NewCredential("jp", b, twostep.MethodPasskey, nil))
		_, err = s.CredentialByPasskeyID(ctx, "jp", unproved.PasskeyID)
		wantCode(t, "CredentialByPasskeyID of an unproved passkey", err, ninsho.CodeNotFound)
	})

	t.Run("realm isolation", func(t *testing.T) {
		s := open(t)
		a := newAccount(t, s, "jp")
		other := newAccount(t, s, "us")
		c := MustAddCredential(t, s, NewCredential("jp", a, twostep.MethodTOTP, nil))
		mustNil(t, "SetState", s.SetState(ctx, twostep.State{Realm: "jp", AccountID: a, Enabled: true, Preferred: c.ID, UpdatedAt: Epoch}))
		if ok, err := s.AdvanceTOTPStep(ctx, "jp", a, 10, Epoch); !ok || err != nil {
			t.Fatalf("AdvanceTOTPStep: %v, %v", ok, err)
		}
		hs := hashes(2)
		mustNil(t, "ReplaceBackupCodes", s.ReplaceBackupCodes(ctx, "jp", a, hs, Epoch))

		// The account's id with another realm sees and changes nothing.
		if cs, err := s.Credentials(ctx, "us", a); err != nil || len(cs) != 0 {
			t.Errorf("Credentials in another realm: got %s, %v", show(cs), err)
		}
		if st, err := s.State(ctx, "us", a); err != nil || st.Enabled || st.TOTPLastStep != 0 {
			t.Errorf("State in another realm: got %+v, %v", st, err)
		}
		if n, err := s.BackupCodesLeft(ctx, "us", a); err != nil || n != 0 {
			t.Errorf("BackupCodesLeft in another realm: got %d, %v", n, err)
		}
		if ok, err := s.UseBackupCode(ctx, "us", a, hs[0], Epoch); ok || err != nil {
			t.Errorf("UseBackupCode in another realm: got %v, %v; want false", ok, err)
		}
		if ok, err := s.AdvanceTOTPStep(ctx, "us", a, 20, Epoch); ok || err != nil {
			t.Errorf("AdvanceTOTPStep in another realm: got %v, %v; want false, nil", ok, err)
		}
		wantCode(t, "ProveCredential in another realm", s.ProveCredential(ctx, "us", a, c.ID, Epoch), ninsho.CodeNotFound)
		wantCode(t, "RemoveCredential in another realm", s.RemoveCredential(ctx, "us", a, c.ID), ninsho.CodeNotFound)
		wantCode(t, "AddCredential in another realm", s.AddCredential(ctx, NewCredential("us", a, twostep.MethodSMS, nil)), ninsho.CodeAccountNotFound)
		wantCode(t, "SetState in another realm", s.SetState(ctx, twostep.State{Realm: "us", AccountID: a, UpdatedAt: Epoch}), ninsho.CodeAccountNotFound)
		err := s.ReplaceBackupCodes(ctx, "us", a, hashes(1), Epoch)
		wantCode(t, "ReplaceBackupCodes in another realm", err, ninsho.CodeAccountNotFound)

		// The other realm's account, named with this realm, gets no row.
		if ok, err := s.AdvanceTOTPStep(ctx, "jp", other, 20, Epoch); ok || err != nil {
			t.Errorf("AdvanceTOTPStep of another realm's account: got %v, %v; want false, nil", ok, err)
		}
		wantCode(t, "SetState of another realm's account", s.SetState(ctx, twostep.State{Realm: "jp", AccountID: other, Enabled: true, UpdatedAt: Epoch}), ninsho.CodeAccountNotFound)
		if st, err := s.State(ctx, "us", other); err != nil || st.Enabled || st.TOTPLastStep != 0 {
			t.Errorf("State of the other realm's account: got %+v, %v; want the zero state", st, err)
		}

		// The other realm's account has nothing of a's.
		if cs, _ := s.Credentials(ctx, "us", other); len(cs) != 0 {
			t.Errorf("Credentials of the other realm's account: got %s", show(cs))
		}

		// And a's rows are as they were.
		if got := credentialIDs(t, s, "jp", a); !reflect.DeepEqual(got, []string{c.ID}) || credentialOf(t, s, "jp", a, c.ID).Proved() {
			t.Errorf("a's credentials changed: %v", got)
		}
		if st, _ := s.State(ctx, "jp", a); !st.Enabled || st.Preferred != c.ID || st.TOTPLastStep != 10 {
			t.Errorf("a's state changed: %+v", st)
		}
		if n, _ := s.BackupCodesLeft(ctx, "jp", a); n != 2 {
			t.Errorf("a's backup codes: got %d left, want 2", n)
		}
	})
}

// credentialOf returns the account's credential with the id.
func credentialOf(tb testing.TB, s twostep.Store, realm, accountID, id string) twostep.Credential {
	tb.Helper()
	cs, err := s.Credentials(context.Background(), realm, accountID)
	if err != nil {
		tb.Fatalf("Credentials: %v", err)
	}
	for _, c := range cs {
		if c.ID == id {
			return c
		}
	}
	tb.Fatalf("credential %s not listed", id)
	return twostep.Credential{}
}

// credentialIDs lists the ids of the account's credentials in the store's order.
func credentialIDs(tb testing.TB, s twostep.Store, realm, accountID string) []string {
	tb.Helper()
	cs, err := s.Credentials(context.Background(), realm, accountID)
	if err != nil {
		tb.Fatalf("Credentials: %v", err)
	}
	out := []string{}
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

// hashes returns n random hashes.
func hashes(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = NewHash()
	}
	return out
}

// race runs fn in n goroutines released at once and counts the calls that
// returned true; an error fails the test.
func race(tb testing.TB, n int, fn func() (bool, error)) int {
	tb.Helper()
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		wins  atomic.Int32
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ok, err := fn()
			if err != nil {
				tb.Errorf("concurrent call: %v", err)
			}
			if ok {
				wins.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	return int(wins.Load())
}
