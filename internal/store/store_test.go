package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/captcha"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/session"
	"github.com/ninsho/ninsho/internal/store"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.EachDatabase(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		storetest.All(t, func(tb testing.TB) storetest.Stores { return open(tb) })
	})
}

func TestOpenSQLite(t *testing.T) {
	ctx := context.Background()
	clock := ninsho.NewManualClock(storetest.Epoch)
	dir := t.TempDir()
	cases := []struct {
		name     string
		opts     store.Options
		wantFile string
	}{
		{"data dir", store.Options{DataDir: filepath.Join(dir, "a", "data")}, filepath.Join(dir, "a", "data", "ninsho.db")},
		{"sqlite: with data dir", store.Options{DataDir: filepath.Join(dir, "b"), URL: "sqlite:"}, filepath.Join(dir, "b", "ninsho.db")},
		{"sqlite:PATH", store.Options{URL: "sqlite:" + filepath.Join(dir, "c", "x.db")}, filepath.Join(dir, "c", "x.db")},
		{"sqlite://PATH", store.Options{URL: "sqlite://" + filepath.Join(dir, "d", "y.db")}, filepath.Join(dir, "d", "y.db")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Clock = clock
			db, err := store.Open(ctx, tc.opts)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			a := storetest.MustCreateAccount(t, db, storetest.NewAccount("jp", "hanako@example.jp", ""))
			if err := db.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if got := db.Dialect(); got != "sqlite" {
				t.Errorf("Dialect: got %q, want sqlite", got)
			}
			fi, err := os.Stat(filepath.Dir(tc.wantFile))
			if err != nil {
				t.Fatalf("data directory: %v", err)
			}
			if got := fi.Mode().Perm(); got != 0o700 {
				t.Errorf("data directory mode: got %v, want 0700", got)
			}
			// Reopening finds the data and runs no migration twice.
			db, err = store.Open(ctx, tc.opts)
			if err != nil {
				t.Fatalf("Open again: %v", err)
			}
			defer db.Close()
			if _, err := db.Account(ctx, a.ID); err != nil {
				t.Errorf("Account after reopening: got %v, want the account", err)
			}
			if _, err := os.Stat(tc.wantFile); err != nil {
				t.Errorf("database file: %v", err)
			}
		})
	}

	bad := []store.Options{
		{URL: "mysql://root@localhost/ninsho"},
		{URL: ""}, // no data directory
		{URL: "sqlite::memory:"},
		{URL: "sqlite:" + filepath.Join(dir, "q?mode=ro")},
	}
	for _, o := range bad {
		if db, err := store.Open(ctx, o); err == nil {
			db.Close()
			t.Errorf("Open(%q): got nil error, want one", o.URL)
		} else if ninsho.CodeOf(err) != ninsho.CodeInternal {
			t.Errorf("Open(%q): got %v, want a ninsho internal error", o.URL, err)
		}
	}
}

func TestOpenRedactsPassword(t *testing.T) {
	_, err := store.Open(context.Background(), store.Options{URL: "postgres://ninsho:s3cret@127.0.0.1:1/x?connect_timeout=1"})
	if err == nil {
		t.Fatal("Open of an unreachable server: got nil error")
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Open error: got %q, which shows the password", err)
	}
}

// TestSQLiteConcurrentWrites is the "never database is locked" promise: many
// goroutines run write transactions and plain writes while others read, and
// none fails.
func TestSQLiteConcurrentWrites(t *testing.T) {
	db := storetest.MustOpenSQLite(t)
	ctx := context.Background()
	const workers, rounds = 32, 8
	var (
		wg   sync.WaitGroup
		errs = make(chan error, workers*rounds*2)
	)
	for w := range workers {
		wg.Add(2)
		go func() { // writer: a sign-up-like transaction per round
			defer wg.Done()
			for r := range rounds {
				err := db.InTx(ctx, func(ctx context.Context) error {
					a := storetest.NewAccount("jp", fmt.Sprintf("w%d-r%d@example.jp", w, r), "")
					if err := db.CreateAccount(ctx, a); err != nil {
						return err
					}
					if err := db.SetPasswordHash(ctx, a.ID, "$argon2id$x", storetest.Epoch); err != nil {
						return err
					}
					f := storetest.NewFlow("jp")
					if err := db.CreateFlow(ctx, f); err != nil {
						return err
					}
					f.AccountID, f.Status = a.ID, flow.StatusComplete
					if err := db.UpdateFlow(ctx, f); err != nil {
						return err
					}
					if err := db.EnqueueMessage(ctx, storetest.NewMessage("jp", a.Email)); err != nil {
						return err
					}
					return db.AppendEvent(ctx, &event.Event{ID: storetest.NewID(), Realm: "jp", AccountID: a.ID,
						Type: event.TypeSignupCompleted, Actor: "system", At: storetest.Epoch})
				})
				if err != nil {
					errs <- fmt.Errorf("worker %d round %d: %w", w, r, err)
				}
			}
		}()
		go func() { // reader and plain writer
			defer wg.Done()
			for r := range rounds {
				if _, err := db.AccountByEmail(ctx, "jp", fmt.Sprintf("w%d-r%d@example.jp", (w+1)%workers, r)); err != nil &&
					!ninsho.IsCode(err, ninsho.CodeAccountNotFound) {
					errs <- fmt.Errorf("reader %d round %d: %w", w, r, err)
				}
				if _, err := db.ClaimMessages(ctx, fmt.Sprintf("d%d", w), storetest.Epoch, storetest.Epoch.Add(time.Minute), 2); err != nil {
					errs <- fmt.Errorf("claimer %d round %d: %w", w, r, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got, err := db.PurgePendingAccounts(ctx, storetest.Epoch.Add(time.Hour))
	if err != nil {
		t.Fatalf("PurgePendingAccounts: %v", err)
	}
	if got != workers*rounds {
		t.Errorf("accounts written: got %d, want %d", got, workers*rounds)
	}
}

// TestIsolation checks that a transaction's writes stay invisible outside it
// until it commits, and that one DB ignores another DB's transaction in a
// context.
func TestIsolation(t *testing.T) {
	storetest.EachDatabase(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		ctx := context.Background()
		db, other := open(t), open(t)
		a := storetest.NewAccount("jp", "hanako@example.jp", "")
		err := db.InTx(ctx, func(txCtx context.Context) error {
			if err := db.CreateAccount(txCtx, a); err != nil {
				return err
			}
			if _, err := db.Account(ctx, a.ID); !ninsho.IsCode(err, ninsho.CodeAccountNotFound) {
				t.Errorf("Account outside the open transaction: got %v, want %q", err, ninsho.CodeAccountNotFound)
			}
			// other runs its own statements even with db's transaction in ctx.
			if _, err := other.Account(txCtx, a.ID); !ninsho.IsCode(err, ninsho.CodeAccountNotFound) {
				t.Errorf("another DB's Account with this transaction in ctx: got %v, want %q", err, ninsho.CodeAccountNotFound)
			}
			return other.CreateAccount(txCtx, storetest.NewAccount("jp", "hanako@example.jp", ""))
		})
		if err != nil {
			t.Fatalf("InTx: %v", err)
		}
		if _, err := db.Account(ctx, a.ID); err != nil {
			t.Errorf("Account after commit: got %v, want the account", err)
		}
	})
}

// TestDriverErrors checks that driver failures other than the catalogued
// ones come back as ninsho internal errors with the cause attached.
func TestDriverErrors(t *testing.T) {
	storetest.EachDatabase(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		db := open(t)
		ctx := context.Background()
		err := db.CreateSession(ctx, storetest.NewSession("jp", storetest.NewID())) // no such account
		var e *ninsho.Error
		if !errors.As(err, &e) || e.Code != ninsho.CodeInternal || e.Err == nil {
			t.Fatalf("CreateSession for an unknown account: got %v, want a ninsho internal error with a cause", err)
		}
		a := storetest.MustCreateAccount(t, db, storetest.NewAccount("jp", "hanako@example.jp", ""))
		dup := *a
		dup.Email = "another@example.jp"
		err = db.CreateAccount(ctx, &dup) // same primary key: not an identifier problem
		if !ninsho.IsCode(err, ninsho.CodeInternal) {
			t.Errorf("CreateAccount with a used id: got %v, want code %q", err, ninsho.CodeInternal)
		}
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := db.Account(cancelled, a.ID); !ninsho.IsCode(err, ninsho.CodeInternal) || !errors.Is(err, context.Canceled) {
			t.Errorf("Account with a cancelled context: got %v, want internal wrapping context.Canceled", err)
		}
		if err := db.MarkFamiliar(ctx, storetest.NewID(), storetest.NewID(), storetest.Epoch); !ninsho.IsCode(err, ninsho.CodeAccountNotFound) {
			t.Errorf("MarkFamiliar of an unknown account: got %v, want %q", err, ninsho.CodeAccountNotFound)
		}
	})
}

func TestAttempts(t *testing.T) {
	storetest.EachDatabase(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		db := open(t)
		ctx := context.Background()
		m := storetest.MustEnqueue(t, db, storetest.NewMessage("jp", "hanako@example.jp"))
		want := []*message.Attempt{
			{ID: storetest.NewID(), MessageID: m.ID, Provider: "kannel", OK: false, Error: "503 from provider", At: storetest.Epoch, Duration: 2 * time.Second},
			{ID: storetest.NewID(), MessageID: m.ID, Provider: "twilio", OK: true, At: storetest.Epoch.Add(time.Minute), Duration: 1500 * time.Microsecond},
		}
		for _, a := range want {
			if err := db.RecordAttempt(ctx, a); err != nil {
				t.Fatalf("RecordAttempt: %v", err)
			}
		}
		err := db.RecordAttempt(ctx, &message.Attempt{ID: storetest.NewID(), MessageID: storetest.NewID(), At: storetest.Epoch})
		if !ninsho.IsCode(err, ninsho.CodeNotFound) {
			t.Errorf("RecordAttempt of an unknown message: got %v, want %q", err, ninsho.CodeNotFound)
		}
		got, err := db.Attempts(ctx, m.ID)
		if err != nil {
			t.Fatalf("Attempts: %v", err)
		}
		if len(got) != len(want) {
			t.Fatalf("Attempts: got %d, want %d", len(got), len(want))
		}
		for i := range want {
			if *got[i] != *want[i] {
				t.Errorf("attempt %d: got %+v, want %+v", i, *got[i], *want[i])
			}
		}
	})
}

// TestPendingAccountRace runs DeletePendingAccount against an activation of
// the same account: either the account is gone with all its rows, or it is
// active with all of them.
func TestPendingAccountRace(t *testing.T) {
	storetest.EachDatabase(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		db := open(t)
		ctx := context.Background()
		for range 10 {
			a := storetest.MustCreateAccount(t, db, storetest.NewAccount("jp", storetest.NewID()+"@example.jp", ""))
			if err := db.SetPasswordHash(ctx, a.ID, "$argon2id$x", storetest.Epoch); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			wg.Add(2)
			go func() {
				defer wg.Done()
				if _, err := db.DeletePendingAccount(ctx, a.ID); err != nil {
					t.Errorf("DeletePendingAccount: %v", err)
				}
			}()
			go func() {
				defer wg.Done()
				act := *a
				act.Status = account.StatusActive
				if err := db.UpdateAccount(ctx, &act); err != nil && !ninsho.IsCode(err, ninsho.CodeAccountNotFound) {
					t.Errorf("UpdateAccount: %v", err)
				}
			}()
			wg.Wait()
			got, err := db.Account(ctx, a.ID)
			_, hashErr := db.PasswordHash(ctx, a.ID)
			switch {
			case ninsho.IsCode(err, ninsho.CodeAccountNotFound):
				if !ninsho.IsCode(hashErr, ninsho.CodeNotFound) {
					t.Errorf("deleted account: got password hash error %v, want %q", hashErr, ninsho.CodeNotFound)
				}
			case err == nil && got.Status == account.StatusActive:
				if hashErr != nil {
					t.Errorf("activated account lost its password: %v", hashErr)
				}
			default:
				t.Errorf("after the race: got account %+v, %v; want deleted or active", got, err)
			}
		}
	})
}

func TestDeleteExpiredChallenges(t *testing.T) {
	storetest.EachDatabase(t, func(t *testing.T, open func(tb testing.TB) *store.DB) {
		db := open(t)
		ctx := context.Background()
		for i, ttl := range []time.Duration{time.Minute, time.Hour} {
			c := &captcha.Challenge{ID: storetest.NewID(), Realm: "jp", FlowID: storetest.NewID(), SealedDigits: []byte{byte(i)},
				CreatedAt: storetest.Epoch, ExpiresAt: storetest.Epoch.Add(ttl)}
			if err := db.CreateChallenge(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		n, err := db.DeleteExpiredChallenges(ctx, storetest.Epoch.Add(30*time.Minute))
		if err != nil || n != 1 {
			t.Errorf("DeleteExpiredChallenges = %d, %v; want 1", n, err)
		}
	})
}

// TestLegacySessionMethods reads session rows written before issue 10, whose
// methods say "password", "email_code" and "sms_code": they come back in
// the RFC 8176 vocabulary, on both databases.
func TestLegacySessionMethods(t *testing.T) {
	storetest.EachDatabase(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		db := open(t)
		ctx := context.Background()
		a := storetest.MustCreateAccount(t, db, storetest.NewAccount("jp", "hanako@example.jp", ""))
		cases := []struct {
			stored string
			want   []string
		}{
			{`["password"]`, []string{session.MethodPassword}},
			{`["password","email_code"]`, []string{session.MethodPassword, session.MethodEmail}},
			{`["password","sms_code"]`, []string{session.MethodPassword, session.MethodSMS}},
			{`["email_code"]`, []string{session.MethodEmail}},
			{`["pwd","otp"]`, []string{session.MethodPassword, session.MethodOTP}},
		}
		for _, tc := range cases {
			s := storetest.NewSession("jp", a.ID)
			storetest.MustCreateSession(t, db, s)
			if err := db.ExecForTest(ctx, `UPDATE session SET methods = $2 WHERE id = $1`, s.ID, tc.stored); err != nil {
				t.Fatalf("write methods %s: %v", tc.stored, err)
			}
			got, err := db.SessionByTokenHash(ctx, s.TokenHash)
			if err != nil {
				t.Fatalf("SessionByTokenHash: %v", err)
			}
			if fmt.Sprint(got.Methods) != fmt.Sprint(tc.want) {
				t.Errorf("stored %s: got methods %q, want %q", tc.stored, got.Methods, tc.want)
			}
		}
	})
}
