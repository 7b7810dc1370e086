package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// Tx checks the transaction runner: commit, rollback on error and on panic,
// nested calls joining the outer transaction, reading one's own writes, and a
// taken identifier leaving the transaction usable.
func Tx(t *testing.T, open func(tb testing.TB) Stores) {
	ctx := context.Background()
	errBoom := errors.New("boom")

	t.Run("commit", func(t *testing.T) {
		s := open(t)
		a := NewAccount("jp", "commit@example.jp", "")
		err := s.InTx(ctx, func(ctx context.Context) error {
			if err := s.CreateAccount(ctx, a); err != nil {
				return err
			}
			got, err := s.Account(ctx, a.ID)
			if err != nil {
				t.Errorf("Account inside the transaction: got error %v, want the new account", err)
			} else if got.Email != a.Email {
				t.Errorf("Account inside the transaction: got email %q, want %q", got.Email, a.Email)
			}
			return nil
		})
		mustNil(t, "InTx", err)
		_, err = s.Account(ctx, a.ID)
		mustNil(t, "Account after commit", err)
	})

	cases := []struct {
		name string
		fn   func(ctx context.Context, s Stores, ids []string) error
	}{
		{"rollback on error", func(ctx context.Context, s Stores, ids []string) error {
			if err := s.CreateAccount(ctx, accountWithID(ids[0], "jp", "err@example.jp")); err != nil {
				return err
			}
			return errBoom
		}},
		{"nested rollback by inner error", func(ctx context.Context, s Stores, ids []string) error {
			if err := s.CreateAccount(ctx, accountWithID(ids[0], "jp", "outer@example.jp")); err != nil {
				return err
			}
			return s.InTx(ctx, func(ctx context.Context) error {
				if err := s.CreateAccount(ctx, accountWithID(ids[1], "jp", "inner@example.jp")); err != nil {
					return err
				}
				return errBoom
			})
		}},
		{"nested rollback by outer error", func(ctx context.Context, s Stores, ids []string) error {
			err := s.InTx(ctx, func(ctx context.Context) error {
				return s.CreateAccount(ctx, accountWithID(ids[0], "jp", "inner@example.jp"))
			})
			if err != nil {
				return err
			}
			if err := s.CreateAccount(ctx, accountWithID(ids[1], "jp", "outer@example.jp")); err != nil {
				return err
			}
			return errBoom
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			ids := []string{NewID(), NewID()}
			err := s.InTx(ctx, func(ctx context.Context) error { return tc.fn(ctx, s, ids) })
			if !errors.Is(err, errBoom) {
				t.Fatalf("InTx: got error %v, want %v", err, errBoom)
			}
			for _, id := range ids {
				_, err := s.Account(ctx, id)
				wantCode(t, "Account after rollback", err, ninsho.CodeAccountNotFound)
			}
		})
	}

	t.Run("rollback on panic", func(t *testing.T) {
		s := open(t)
		a := NewAccount("jp", "panic@example.jp", "")
		got := func() (p any) {
			defer func() { p = recover() }()
			_ = s.InTx(ctx, func(ctx context.Context) error {
				if err := s.CreateAccount(ctx, a); err != nil {
					t.Errorf("CreateAccount: %v", err)
				}
				panic("boom")
			})
			return nil
		}()
		if got != "boom" {
			t.Fatalf("recovered: got %v, want the panic value %q", got, "boom")
		}
		_, err := s.Account(ctx, a.ID)
		wantCode(t, "Account after panic", err, ninsho.CodeAccountNotFound)
		// The store is still usable: the connection went back.
		MustCreateAccount(t, s, NewAccount("jp", "after-panic@example.jp", ""))
	})

	t.Run("nested commit", func(t *testing.T) {
		s := open(t)
		outer, inner := NewAccount("jp", "outer@example.jp", ""), NewAccount("jp", "inner@example.jp", "")
		err := s.InTx(ctx, func(ctx context.Context) error {
			if err := s.CreateAccount(ctx, outer); err != nil {
				return err
			}
			return s.InTx(ctx, func(ctx context.Context) error {
				if _, err := s.Account(ctx, outer.ID); err != nil {
					t.Errorf("inner transaction reading the outer write: got %v, want the account", err)
				}
				return s.CreateAccount(ctx, inner)
			})
		})
		mustNil(t, "InTx", err)
		for _, a := range []string{outer.ID, inner.ID} {
			_, err := s.Account(ctx, a)
			mustNil(t, "Account after nested commit", err)
		}
	})

	t.Run("taken identifier keeps the transaction usable", func(t *testing.T) {
		s := open(t)
		first := NewAccount("jp", "dup@example.jp", "")
		third := NewAccount("jp", "third@example.jp", "")
		err := s.InTx(ctx, func(ctx context.Context) error {
			if err := s.CreateAccount(ctx, first); err != nil {
				return err
			}
			err := s.CreateAccount(ctx, NewAccount("jp", "dup@example.jp", ""))
			wantCode(t, "CreateAccount with a taken e-mail", err, ninsho.CodeIdentifierTaken)
			return s.CreateAccount(ctx, third)
		})
		mustNil(t, "InTx", err)
		for _, id := range []string{first.ID, third.ID} {
			_, err := s.Account(ctx, id)
			mustNil(t, "Account after commit", err)
		}
	})
}

// accountWithID is NewAccount with a given id and no phone.
func accountWithID(id, realm, email string) *account.Account {
	a := NewAccount(realm, email, "")
	a.ID = id
	return a
}
