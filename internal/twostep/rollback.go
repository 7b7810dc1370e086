package twostep

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
)

// RolledBack is what RollBack removed.
type RolledBack struct {
	Methods     int  // credentials removed (proved or not)
	BackupCodes bool // the backup codes were deleted
	TurnedOff   bool // 2SV was on and is now off
}

// RollBack undoes what was done to a's two-step verification at or after
// since, for the owner's undo or "this wasn't me" (internal/contact): every
// credential created or proved at or after since and before until (the rollback's
// start: methods the rollback itself moved back stay) is removed, and every SMS or voice
// method on one of numbers (numbers the rollback took off the account), and
// the backup codes when they were created at or after since. Unlike Remove,
// a realm policy that requires 2SV does not refuse it: when no proved method
// remains, 2SV is off (the backup codes go with it, and the devices trusted
// to skip it are forgotten through TurnedOff); an account type that
// requires 2SV is led through enrolment at its next sign-in. Each removal
// is two_step.method_removed with reason "rollback", turning off is
// two_step.disabled with reason "rollback", new backup codes deleted are
// two_step.backup_codes with count 0 and reason "rollback"; the owner gets
// one alert (ChangeTurnedOff, else ChangeMethodRemoved). It runs in the
// transaction of ctx.
func (s *Service) RollBack(ctx context.Context, rl *realm.Realm, req ninsho.Request, a *account.Account, since, until time.Time, numbers []string) (RolledBack, error) {
	return s.rollBack(ctx, rl, req, "", a, since, until, numbers)
}

// RollBackByStaff is RollBack decided by a staff member (actor
// "staff:<id>"), as a document recovery's approval: its events are the
// actor's (so the owner's history offers no "this wasn't me" on them), and
// no two-step alert is sent: the decision's own message tells the owner.
func (s *Service) RollBackByStaff(ctx context.Context, rl *realm.Realm, req ninsho.Request, actor string, a *account.Account, since, until time.Time) (RolledBack, error) {
	if !strings.HasPrefix(actor, "staff:") {
		return RolledBack{}, ninsho.Internal("twostep: roll back by %q, not staff", actor)
	}
	return s.rollBack(ctx, rl, req, actor, a, since, until, nil)
}

// rollBack is RollBack, by the owner when actor is "" (with the alert),
// else by actor (without it).
func (s *Service) rollBack(ctx context.Context, rl *realm.Realm, req ninsho.Request, actor string, a *account.Account, since, until time.Time, numbers []string) (RolledBack, error) {
	var out RolledBack
	record := func(typ string, data map[string]any) error {
		return s.recordAs(ctx, rl, a.ID, actor, typ, req, data)
	}
	notify := func(change Change, m Method) error {
		if actor != "" {
			return nil
		}
		return s.Notify(ctx, rl, req, a, change, m)
	}
	creds, err := s.Store.Credentials(ctx, rl.ID, a.ID)
	if err != nil {
		return out, err
	}
	st, err := s.Store.State(ctx, rl.ID, a.ID)
	if err != nil {
		return out, err
	}
	var left []Credential
	var lastRemoved Method
	for _, c := range creds {
		gone := within(&c.CreatedAt, since, until) || within(c.ProvedAt, since, until) ||
			IsPhone(c.Method) && c.Phone != "" && slices.Contains(numbers, c.Phone)
		if !gone {
			if c.Proved() {
				left = append(left, c)
			}
			continue
		}
		if err := s.Store.RemoveCredential(ctx, rl.ID, a.ID, c.ID); err != nil {
			return out, err
		}
		if err := record(event.TypeTwoStepMethodRemoved, map[string]any{
			"credential": c.ID, "method": string(c.Method), "reason": "rollback"}); err != nil {
			return out, err
		}
		out.Methods++
		if c.Proved() {
			lastRemoved = c.Method
		}
	}
	now := s.Clock.Now()
	fresh, err := s.Backup.BackupCodesSince(ctx, rl.ID, a.ID, since)
	if err != nil {
		return out, err
	}
	if fresh || len(left) == 0 {
		left, err := s.Backup.BackupCodesLeft(ctx, rl.ID, a.ID)
		if err != nil {
			return out, err
		}
		if fresh || left > 0 {
			if err := s.Backup.ReplaceBackupCodes(ctx, rl.ID, a.ID, nil, now); err != nil {
				return out, err
			}
			out.BackupCodes = true
			if err := record(event.TypeTwoStepBackupCodes, map[string]any{"count": 0, "reason": "rollback"}); err != nil {
				return out, err
			}
		}
	}
	switch {
	case len(left) == 0 && st.Enabled:
		st.Enabled, st.Preferred, st.UpdatedAt = false, "", now
		if err := s.Store.SetState(ctx, st); err != nil {
			return out, err
		}
		if s.TurnedOff != nil {
			if err := s.TurnedOff(ctx, rl, req, a.ID); err != nil {
				return out, err
			}
		}
		out.TurnedOff = true
		if err := record(event.TypeTwoStepDisabled, map[string]any{"reason": "rollback"}); err != nil {
			return out, err
		}
		return out, notify(ChangeTurnedOff, "")
	case len(left) > 0 && st.Preferred != "" && !slices.ContainsFunc(left, func(c Credential) bool { return c.ID == st.Preferred }):
		st.Preferred, st.UpdatedAt = left[0].ID, now
		if err := s.Store.SetState(ctx, st); err != nil {
			return out, err
		}
		if err := record(event.TypeTwoStepPreferred, map[string]any{"credential": left[0].ID, "method": string(left[0].Method)}); err != nil {
			return out, err
		}
	}
	if lastRemoved == "" {
		return out, nil
	}
	return out, notify(ChangeMethodRemoved, lastRemoved)
}

// within reports whether t is set and in [since, until): a method begun
// before the rollback's start but proved after it counts as added then.
func within(t *time.Time, since, until time.Time) bool {
	return t != nil && !t.Before(since) && t.Before(until)
}
