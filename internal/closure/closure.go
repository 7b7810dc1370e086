// Package closure is closing an account: the owner closes it (a recent
// sign-in, an explicit confirmation), every session ends and every verified
// channel is told; for the realm's grace (realms[].closure_grace, 30 days by
// default) signing in with the password (and the second factor) offers to
// reopen it (signin's step reopen_account, through Reopen); after the grace
// housekeeping purges it (Purge): its personal data is erased, its events
// stay only as anonymous counts, its identifiers are free to register
// again, and the addresses are told first.
package closure

import (
	"context"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/authflow"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/signin"
)

// Event types of closing and reopening (the purge is
// event.TypeAccountPurged, recorded without the account).
const (
	EventClosed   = event.TypeAccountClosed
	EventReopened = event.TypeAccountReopened
)

// Template is the message of every closure alert: variable change is
// ChangeClosed, ChangeReopened or ChangePurged.
const Template = message.TemplateAccountClosure

// Changes told by Template.
const (
	ChangeClosed   = "closed"
	ChangeReopened = "reopened"
	ChangePurged   = "purged"
)

// Counts is how much of an account's data there is, for the page that
// names what closing will lose.
type Counts struct {
	TwoStepMethods int // proved authenticator apps and phone methods
	Passkeys       int
	BackupCodes    int // unused
	TrustedDevices int // not expired
	Sessions       int // live, the asking one included
	HistoryEvents  int // sign-in history and audit entries
}

// Store keeps the closing state of accounts and erases them. Methods take
// part in the transaction of ctx.
type Store interface {
	// CloseAccount sets an active account's status to closed with its
	// closed_at; false when the account is not active.
	CloseAccount(ctx context.Context, id string, at time.Time) (bool, error)
	// ReopenAccount sets a closed account active again and clears its
	// closed_at; false when it is not closed.
	ReopenAccount(ctx context.Context, id string, at time.Time) (bool, error)
	// ClosedAt is when the account was closed (nil when it is not).
	ClosedAt(ctx context.Context, id string) (*time.Time, error)
	// ClosureLoss counts the account's data as of now.
	ClosureLoss(ctx context.Context, accountID string, now time.Time) (Counts, error)
	// ClosedBefore lists up to limit accounts of realm closed before t.
	ClosedBefore(ctx context.Context, realm string, t time.Time, limit int) ([]string, error)
	// PurgeAccount erases a closed account's personal data and the
	// account, keeping the outbox messages with the ids keep (the purge
	// alert); false when the account is not closed (any more).
	PurgeAccount(ctx context.Context, id string, keep []string) (bool, error)
}

// Service closes, reopens and purges accounts. All fields but Forget are
// required; the clock is the Kit's.
type Service struct {
	Kit    *authflow.Kit
	Realms *realm.Registry
	Store  Store
	// Signin checks the recent sign-in a closing needs and forgets the
	// account's cached sessions on this instance once they are revoked.
	Signin *signin.Service
	// BatchSize is how many accounts one Purge erases per realm (one short
	// transaction each); 0 means DefaultBatchSize.
	BatchSize int
	// OnPurge, when set, runs in each purge's transaction before the
	// account's rows are erased, for what other packages keep about it
	// (org.Service.ForgetAccount: memberships and invitations).
	OnPurge func(ctx context.Context, a *account.Account) error
}

// DefaultBatchSize bounds the accounts a housekeeping pass purges per realm.
const DefaultBatchSize = 100

var _ signin.Closure = (*Service)(nil)

// Loss is what closing an account will erase at its purge, and when.
type Loss struct {
	Account *account.Account
	Counts  Counts
	// Grace is how long the account can be reopened by signing in, and
	// PurgeAt when it would be purged if it were closed now.
	Grace   time.Duration
	PurgeAt time.Time
}

// Closed is the outcome of Close.
type Closed struct {
	ClosedAt time.Time
	PurgeAt  time.Time
}

// Summary tells the signed-in person of p what closing the account would
// lose. It needs a session only.
func (s *Service) Summary(ctx context.Context, rl *realm.Realm, p *signin.Principal) (*Loss, error) {
	now := s.Kit.Clock.Now()
	c, err := s.Store.ClosureLoss(ctx, p.Account.ID, now)
	if err != nil {
		return nil, err
	}
	return &Loss{Account: p.Account, Counts: c, Grace: rl.ClosureGrace(), PurgeAt: now.Add(rl.ClosureGrace())}, nil
}

// Close closes the account of p: it needs a recent sign-in
// (ninsho.CodeReauthRequired, signin.Service.RecentEnough) and confirm
// (ninsho.CodeFieldRequired, field confirm). In one transaction the account
// becomes closed, every one of its sessions is revoked, the event
// EventClosed is recorded and every verified channel gets the alert
// (Template, change closed) with the date until which signing in reopens
// it and a "this wasn't me" link.
func (s *Service) Close(ctx context.Context, rl *realm.Realm, req ninsho.Request, p *signin.Principal, confirm bool) (*Closed, error) {
	if err := s.Signin.RecentEnough(ctx, rl, p); err != nil {
		return nil, err
	}
	if !confirm {
		return nil, ninsho.FieldError(ninsho.CodeFieldRequired, "confirm")
	}
	k := s.Kit
	// Whole seconds, as every answer shows them (the closing, the offer to
	// reopen, the purge date).
	now := k.Clock.Now().Truncate(time.Second)
	out := &Closed{ClosedAt: now, PurgeAt: now.Add(rl.ClosureGrace())}
	a := p.Account
	err := k.Tx.InTx(ctx, func(ctx context.Context) error {
		ok, err := s.Store.CloseAccount(ctx, a.ID, now)
		if err != nil {
			return err
		}
		if !ok {
			return ninsho.E(ninsho.CodeConflict)
		}
		n, err := k.Sessions.Store.RevokeAccountSessions(ctx, a.ID, "", now)
		if err != nil {
			return err
		}
		if err := k.Record(ctx, rl, a.ID, EventClosed, req, p.Session.DeviceID, map[string]any{
			"session": p.Session.ID, "sessions_revoked": n, "purge_at": out.PurgeAt.UTC().Format(time.RFC3339),
		}); err != nil {
			return err
		}
		return s.alert(ctx, rl, req, a, ChangeClosed, out.PurgeAt, true)
	})
	if err != nil {
		return nil, err
	}
	s.Signin.ForgetAccount(a.ID)
	k.Outbox.Wake()
	return out, nil
}

// Reopenable reports, for a closed account a, when it was closed and when
// it will be purged, and whether it can still be reopened (the grace has
// not ended). signin asks it after the right password.
func (s *Service) Reopenable(ctx context.Context, rl *realm.Realm, a *account.Account) (closedAt, purgeAt time.Time, ok bool, err error) {
	if a.Status != account.StatusClosed {
		return time.Time{}, time.Time{}, false, nil
	}
	at, err := s.Store.ClosedAt(ctx, a.ID)
	if err != nil || at == nil {
		return time.Time{}, time.Time{}, false, err
	}
	closedAt = at.Truncate(time.Second) // whole seconds, as Close answers
	purgeAt = closedAt.Add(rl.ClosureGrace())
	return closedAt, purgeAt, s.Kit.Clock.Now().Before(purgeAt), nil
}

// Reopen makes the closed account a of the sign-in flow f active again,
// records EventReopened and alerts every verified channel (change
// reopened). signin calls it in the transaction that then completes the
// sign-in. ninsho.CodeAccountClosed when a is no longer reopenable.
func (s *Service) Reopen(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account, req ninsho.Request) error {
	k := s.Kit
	_, _, ok, err := s.Reopenable(ctx, rl, a)
	if err != nil {
		return err
	}
	if !ok {
		return ninsho.E(ninsho.CodeAccountClosed)
	}
	now := k.Clock.Now()
	reopened, err := s.Store.ReopenAccount(ctx, a.ID, now)
	if err != nil {
		return err
	}
	if !reopened {
		return ninsho.E(ninsho.CodeAccountClosed)
	}
	a.Status, a.UpdatedAt = account.StatusActive, now
	if err := k.Record(ctx, rl, a.ID, EventReopened, req, f.DeviceID, map[string]any{"flow": f.ID}); err != nil {
		return err
	}
	return s.alert(ctx, rl, req, a, ChangeReopened, time.Time{}, true)
}

// Purge erases every account closed longer than its realm's grace, at
// most BatchSize per realm per call, one transaction each: the purge alert
// (change purged) is enqueued to the verified addresses first, then the
// account's personal data is erased (Store.PurgeAccount) and the anonymous
// event event.TypeAccountPurged recorded. It returns how many accounts
// were purged.
func (s *Service) Purge(ctx context.Context) (int, error) {
	k := s.Kit
	limit := s.BatchSize
	if limit <= 0 {
		limit = DefaultBatchSize
	}
	total := 0
	for _, rl := range s.Realms.All() {
		now := k.Clock.Now()
		ids, err := s.Store.ClosedBefore(ctx, rl.ID, now.Add(-rl.ClosureGrace()), limit)
		if err != nil {
			return total, err
		}
		for _, id := range ids {
			if err := ctx.Err(); err != nil {
				return total, err
			}
			purged := false
			err := k.Tx.InTx(ctx, func(ctx context.Context) error {
				a, err := k.Accounts.Account(ctx, id)
				if err != nil {
					return err
				}
				keep, err := s.tell(ctx, rl, a, ChangePurged, time.Time{})
				if err != nil {
					return err
				}
				if s.OnPurge != nil && a.Status == account.StatusClosed {
					if err := s.OnPurge(ctx, a); err != nil {
						return err
					}
				}
				if purged, err = s.Store.PurgeAccount(ctx, id, keep); err != nil || !purged {
					return err
				}
				return k.Record(ctx, rl, "", event.TypeAccountPurged, ninsho.Request{}, "", map[string]any{"reason": "closed"})
			})
			if err != nil {
				return total, err
			}
			if purged {
				total++
			}
		}
	}
	if total > 0 {
		k.Outbox.Wake()
	}
	return total, nil
}
