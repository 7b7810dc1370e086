package signin

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
)

// Closure is what sign-in needs of closing accounts (closure.Service): a
// closed account whose grace has not ended is offered to be reopened once
// the person has proved who they are, as far as a sign-in would ask.
type Closure interface {
	// Reopenable reports when closed account a was closed and will be
	// purged, and whether it can still be reopened.
	Reopenable(ctx context.Context, rl *realm.Realm, a *account.Account) (closedAt, purgeAt time.Time, ok bool, err error)
	// Reopen makes a active again (event, alert) in the transaction of
	// ctx; ninsho.CodeAccountClosed when its grace has ended.
	Reopen(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account, req ninsho.Request) error
}

// Flow-state keys of the offer to reopen: when the account was closed and
// will be purged, and the completion held back (methods, event data).
const (
	stateClosedAt      = "closed_at"
	statePurgeAt       = "purge_at"
	stateReopenMethods = "reopen_methods"
	stateReopenData    = "reopen_data"
)

// reopenable reports whether the closed account a can be reopened, and
// notes its dates in f for the step's answer. Without Closure, never.
func (s *Service) reopenable(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account) (bool, error) {
	if s.Closure == nil {
		return false, nil
	}
	closedAt, purgeAt, ok, err := s.Closure.Reopenable(ctx, rl, a)
	if err != nil || !ok {
		return false, err
	}
	f.Set(stateClosedAt, closedAt.UTC().Format(time.RFC3339Nano))
	f.Set(statePurgeAt, purgeAt.UTC().Format(time.RFC3339Nano))
	return true, nil
}

// holdForReopen stops the completion of a sign-in to the closed account a
// at the offer to reopen it (flow.StepReopenAccount), after the second
// factor where a has two-step verification on (a gate: the offer comes
// only once it is right, trusted device or not), and keeps the
// completion's methods and data for reopen. f is saved. It runs in the
// transaction of ctx.
func (s *Service) holdForReopen(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account, methods []string, data map[string]any) error {
	raw, err := json.Marshal(data)
	if err != nil {
		return ninsho.Internal("signin: reopen data").Wrap(err)
	}
	f.Set(stateReopenMethods, strings.Join(methods, ","))
	f.Set(stateReopenData, string(raw))
	asked, err := s.Kit.SecondFactor().Before(ctx, rl, f, a, flow.StepReopenAccount)
	if err != nil || asked {
		return err
	}
	f.Status, f.Step = flow.StatusOpen, flow.StepReopenAccount
	return s.Kit.Save(ctx, f)
}

// reopenNext describes the offer to reopen.
func reopenNext(f *flow.Flow) *flow.Next {
	n := &flow.Next{Step: flow.StepReopenAccount}
	if t, err := time.Parse(time.RFC3339Nano, f.Get(stateClosedAt)); err == nil {
		n.ClosedAt = &t
	}
	if t, err := time.Parse(time.RFC3339Nano, f.Get(statePurgeAt)); err == nil {
		n.PurgeAt = &t
	}
	return n
}

// completed is the answer to a step that may have completed the sign-in,
// held it back for the second factor, or stopped at the offer to reopen.
func (s *Service) completed(f *flow.Flow, grant *flow.Grant) *flow.Answer {
	if grant == nil && f.Step == flow.StepReopenAccount {
		return s.answer(f)
	}
	return s.Kit.Completed(f, grant)
}

// reopen answers the offer: cancel ends the flow (complete, no session)
// and leaves the account closed; reopen makes it active again
// (Closure.Reopen) and completes the sign-in held back, as any sign-in
// completes (the second factor passed at the gate gives AAL 2, the device
// becomes familiar, …).
func (s *Service) reopen(ctx context.Context, rl *realm.Realm, f *flow.Flow, req ninsho.Request, action string) (*flow.Answer, error) {
	k := s.Kit
	if s.Closure == nil {
		return s.answer(f), ninsho.FieldError(ninsho.CodeActionUnknown, "action")
	}
	if action == flow.ActionCancel {
		f.Status, f.Step = flow.StatusComplete, flow.StepDone
		return s.saved(ctx, f, nil)
	}
	var grant *flow.Grant
	err := k.Tx.InTx(ctx, func(ctx context.Context) error {
		a, err := k.Accounts.Account(ctx, f.AccountID)
		if err != nil {
			return err
		}
		if a.Status != account.StatusClosed {
			return ninsho.E(ninsho.CodeAccountClosed)
		}
		if err := s.Closure.Reopen(ctx, rl, f, a, req); err != nil {
			return err
		}
		var data map[string]any
		if raw := f.Get(stateReopenData); raw != "" {
			if err := json.Unmarshal([]byte(raw), &data); err != nil {
				return ninsho.Internal("signin: reopen data").Wrap(err)
			}
		}
		methods := strings.Split(f.Get(stateReopenMethods), ",")
		for _, key := range []string{stateClosedAt, statePurgeAt, stateReopenMethods, stateReopenData} {
			f.Set(key, "")
		}
		if data == nil {
			data = map[string]any{}
		}
		data["reopened"] = true
		grant, err = s.complete(ctx, rl, f, a, req, nil, methods, data)
		return err
	})
	if err != nil {
		if ninsho.IsCode(err, ninsho.CodeAccountClosed) {
			// The grace ended (or the account changed) meanwhile: the
			// offer is gone.
			f.Status = flow.StatusFailed
			if _, sErr := s.saved(ctx, f, nil); sErr != nil {
				return nil, sErr
			}
			return s.answer(f), err
		}
		return nil, err
	}
	s.ForgetAccount(f.AccountID)
	k.Outbox.Wake()
	return s.completed(f, grant), nil
}
