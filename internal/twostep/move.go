package twostep

import (
	"context"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/identifier"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
)

// UsesPhone reports whether a has a proved SMS or voice method whose
// number is number (E.164): a change of the account's phone number then
// moves two-step verification with it (MovePhone).
func (s *Service) UsesPhone(ctx context.Context, rl *realm.Realm, a *account.Account, number string) (bool, error) {
	if number == "" {
		return false, nil
	}
	creds, err := s.Store.Credentials(ctx, rl.ID, a.ID)
	if err != nil {
		return false, err
	}
	for _, c := range creds {
		if IsPhone(c.Method) && c.Proved() && c.Phone == number {
			return true, nil
		}
	}
	return false, nil
}

// MovePhone moves a's proved SMS and voice methods whose number is from to
// the number to, which the caller has just proved (a contact change, or its
// undo): each is replaced by a proved credential of the same method for to
// (two_step.method_added, then two_step.method_removed with reason
// "replaced"; the preferred method follows). No two-step alert is sent: the
// caller's own alert tells the change. It runs in the transaction of ctx
// and returns how many methods moved.
func (s *Service) MovePhone(ctx context.Context, rl *realm.Realm, req ninsho.Request, a *account.Account, from, to string) (int, error) {
	if from == "" || to == "" || from == to {
		return 0, nil
	}
	creds, err := s.Store.Credentials(ctx, rl.ID, a.ID)
	if err != nil {
		return 0, err
	}
	st, err := s.Store.State(ctx, rl.ID, a.ID)
	if err != nil {
		return 0, err
	}
	n := 0
	now := s.Clock.Now()
	for _, old := range creds {
		if !IsPhone(old.Method) || !old.Proved() || old.Phone != from {
			continue
		}
		c := &Credential{
			ID: ninsho.NewID(s.Clock, s.Random), Realm: rl.ID, AccountID: a.ID, Method: old.Method,
			Label: identifier.Mask(identifier.Normalized(to), rl.PhoneRegion), Phone: to, CreatedAt: now,
		}
		if err := s.Store.AddCredential(ctx, c); err != nil {
			return n, err
		}
		if err := s.Store.ProveCredential(ctx, rl.ID, a.ID, c.ID, now); err != nil {
			return n, err
		}
		if err := s.record(ctx, rl, a.ID, event.TypeTwoStepMethodAdded, req, map[string]any{
			"credential": c.ID, "method": string(c.Method), "reason": "contact_change"}); err != nil {
			return n, err
		}
		if _, err := s.replacePhone(ctx, rl, req, a, &st, old.ID, c); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
