package twostep

import (
	"context"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
)

// Change names a change to an account's two-step verification that its
// owner is told of (Alerter). Choosing the preferred method is not one.
type Change string

// Changes.
const (
	ChangeTurnedOn      Change = "turned_on"      // the first method was proved: 2SV is on
	ChangeTurnedOff     Change = "turned_off"     // 2SV is off: every method and the backup codes are gone
	ChangeMethodAdded   Change = "method_added"   // another method was proved
	ChangeMethodRemoved Change = "method_removed" // a method was removed, 2SV stays on
	ChangeBackupCodes   Change = "backup_codes"   // new backup codes replaced the old ones
)

// Alerter tells an account's owner of a change to its two-step
// verification, on every verified channel of the account (e-mail and text
// message), in the account's language, through the outbox. Alert runs in
// the transaction of ctx that makes the change, so that the alert is sent
// if and only if the change is kept; an error rolls the change back.
// method is the kind of method the change is about ("" for
// ChangeBackupCodes and ChangeTurnedOff).
//
// Service calls it for every change it makes (Service.Alert; nil sends
// nothing). Services of other methods (SMS, voice call, passkeys) that
// change 2SV themselves call Service.Notify, so every change is told the
// same way. authflow.TwoStepAlerter implements it.
type Alerter interface {
	Alert(ctx context.Context, rl *realm.Realm, req ninsho.Request, a *account.Account, change Change, method Method) error
}

// Notify tells a's owner of change through s.Alert (nothing when it is nil
// or ctx is quiet: a change made of smaller ones, like TurnOff, tells
// only its own). It must run in the transaction of the change.
func (s *Service) Notify(ctx context.Context, rl *realm.Realm, req ninsho.Request, a *account.Account, change Change, method Method) error {
	if s.Alert == nil || ctx.Value(quietKey{}) != nil {
		return nil
	}
	return s.Alert.Alert(ctx, rl, req, a, change, method)
}

// quietKey marks a context whose smaller changes send no alert of their own.
type quietKey struct{}

// Summary is what the account's owner reads about its 2SV.
type Summary struct {
	Enabled bool
	// Required says the realm's policy requires 2SV for the account's
	// type, or an organisation the account belongs to requires it.
	Required bool
	// Methods are the proved methods, oldest first.
	Methods []MethodInfo
	// BackupCodesLeft counts the unused backup codes.
	BackupCodesLeft int
}

// LowBackupCodes is the number of unused backup codes at or under which the
// account page and a sign-in with a backup code warn the owner (while 2SV
// is on and codes were generated).
const LowBackupCodes = 2

// Summarize returns a's 2SV state, its proved methods (with the phone of
// SMS and voice methods) and the backup codes left.
func (s *Service) Summarize(ctx context.Context, rl *realm.Realm, a *account.Account) (*Summary, error) {
	st, err := s.Store.State(ctx, rl.ID, a.ID)
	if err != nil {
		return nil, err
	}
	ms, err := s.Methods(ctx, rl, a)
	if err != nil {
		return nil, err
	}
	left, err := s.Backup.BackupCodesLeft(ctx, rl.ID, a.ID)
	if err != nil {
		return nil, err
	}
	required, err := s.Required(ctx, rl, a)
	if err != nil {
		return nil, err
	}
	return &Summary{Enabled: st.Enabled, Required: required, Methods: ms, BackupCodesLeft: left}, nil
}

// RegenerateBackupCodesOn is RegenerateBackupCodes for the owner's
// settings: backup codes are a way in only beside a method, so while a's
// 2SV is off it refuses with ninsho.CodeTwoStepOff and changes nothing.
func (s *Service) RegenerateBackupCodesOn(ctx context.Context, rl *realm.Realm, req ninsho.Request, a *account.Account) ([]string, error) {
	st, err := s.Store.State(ctx, rl.ID, a.ID)
	if err != nil {
		return nil, err
	}
	if !st.Enabled {
		return nil, ninsho.E(ninsho.CodeTwoStepOff)
	}
	return s.RegenerateBackupCodes(ctx, rl, req, a)
}

// TurnOff turns a's 2SV off: every method (proved or not) is removed, one
// by one through Remove and under its rules (so a policy that requires
// 2SV, the realm's or an organisation's, refuses it and nothing changes),
// the backup codes go with the last one, and the owner gets one
// ChangeTurnedOff alert. An account
// whose 2SV is off already has its unfinished enrolments removed and gets
// no alert.
func (s *Service) TurnOff(ctx context.Context, rl *realm.Realm, req ninsho.Request, a *account.Account) error {
	// Not "add another method first": no method makes turning off
	// possible while the policy requires 2SV.
	if err := s.mustKeep(ctx, rl, a, "turn_off"); err != nil {
		return err
	}
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		st, err := s.Store.State(ctx, rl.ID, a.ID)
		if err != nil {
			return err
		}
		creds, err := s.Store.Credentials(ctx, rl.ID, a.ID)
		if err != nil {
			return err
		}
		quiet := context.WithValue(ctx, quietKey{}, true)
		// Unproved ones first, so that the last removal is of a method.
		for _, proved := range []bool{false, true} {
			for _, c := range creds {
				if c.Proved() == proved {
					if err := s.Remove(quiet, rl, req, a, c.ID); err != nil {
						return err
					}
				}
			}
		}
		if err := s.Backup.ReplaceBackupCodes(ctx, rl.ID, a.ID, nil, s.Clock.Now()); err != nil {
			return err
		}
		if !st.Enabled {
			return nil
		}
		return s.Notify(ctx, rl, req, a, ChangeTurnedOff, "")
	})
}

// allow asks the account's wrong-code guard whether a code may be checked
// now (ninsho.CodeAccountLocked while it pauses the account's codes); with
// no Guard, always.
func (s *Service) allow(ctx context.Context, rl *realm.Realm, a *account.Account) (code.GuardState, error) {
	if s.Guard == nil {
		return code.GuardState{}, nil
	}
	return s.Guard.AllowAccount(ctx, rl.ID, a.ID)
}

// fail counts a wrong code against the account's guard.
func (s *Service) fail(ctx context.Context, rl *realm.Realm, a *account.Account) error {
	if s.Guard == nil {
		return nil
	}
	return s.Guard.FailAccount(ctx, rl.ID, a.ID)
}

// succeed tells the account's guard of a right code.
func (s *Service) succeed(ctx context.Context, rl *realm.Realm, a *account.Account, g code.GuardState) error {
	if s.Guard == nil {
		return nil
	}
	return s.Guard.SucceedAccount(ctx, rl.ID, a.ID, g)
}

// MaxLabel is the most characters a method's label may have.
const MaxLabel = 64

// CheckLabel returns the label a person typed for a method, trimmed:
// longer than MaxLabel characters is ninsho.CodeFieldTooLong, control
// characters or invalid UTF-8 ninsho.CodeRequestInvalid (field label).
func CheckLabel(label string) (string, error) {
	label = strings.TrimSpace(label)
	if !utf8.ValidString(label) || strings.IndexFunc(label, unicode.IsControl) >= 0 {
		return "", ninsho.FieldError(ninsho.CodeRequestInvalid, "label")
	}
	if utf8.RuneCountInString(label) > MaxLabel {
		return "", ninsho.FieldError(ninsho.CodeFieldTooLong, "label").WithParam("max", MaxLabel)
	}
	return label, nil
}
