package signin

import (
	"context"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// Holds are what staff put on an account that a sign-in must tell after
// the right password (internal/desk): the suspension in force, with its
// reference number and public reason, and a new password required.
type Holds interface {
	ActiveSuspension(ctx context.Context, accountID string) (*account.Suspension, error)
	PasswordResetRequired(ctx context.Context, accountID string) (bool, error)
}

// suspendedError is account_suspended for a: its params carry the
// suspension's reference number and public reason (reason picks the
// message that says why, and the way out is a help request quoting the
// reference). A suspension without a record (or no Holds) carries
// neither.
func (s *Service) suspendedError(ctx context.Context, a *account.Account) error {
	e := ninsho.E(ninsho.CodeAccountSuspended)
	if s.Holds == nil {
		return e
	}
	sus, err := s.Holds.ActiveSuspension(ctx, a.ID)
	switch {
	case err == nil:
		return e.WithParam("reference", sus.Reference).WithParam("reason", string(sus.Reason))
	case ninsho.IsCode(err, ninsho.CodeNotFound):
		return e
	default:
		return err
	}
}

// resetRequired reports whether staff require a's owner to set a new
// password before signing in with one.
func (s *Service) resetRequired(ctx context.Context, a *account.Account) (bool, error) {
	return s.resetRequiredFor(ctx, a.ID)
}

// resetRequiredFor is resetRequired by account id ("" for none: false,
// after the same read).
func (s *Service) resetRequiredFor(ctx context.Context, accountID string) (bool, error) {
	if s.Holds == nil {
		return false, nil
	}
	return s.Holds.PasswordResetRequired(ctx, accountID)
}

// StaffHold is what another flow that proved a's password (document
// recovery) must refuse with before acting, as sign-in would: the
// suspension in force (account_suspended with its reference and reason) or
// a new password staff require (password_reset_required); nil when
// neither holds.
func (s *Service) StaffHold(ctx context.Context, a *account.Account) error {
	if a.Status == account.StatusSuspended {
		return s.suspendedError(ctx, a)
	}
	if a.Status == account.StatusPending {
		return nil
	}
	must, err := s.resetRequired(ctx, a)
	if err != nil {
		return err
	}
	if must {
		return ninsho.E(ninsho.CodePasswordResetRequired)
	}
	return nil
}
