// Package signup is the sign-up flow: identifier, name and password, then the
// code sent to the identifier; the account is active only once the code is
// confirmed, and the device that confirmed it becomes familiar.
package signup

import (
	"context"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/authflow"
	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/identifier"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/password"
	"github.com/ninsho/ninsho/internal/realm"
)

// Input is what a person types on the sign-up form.
type Input struct {
	Identifier string // e-mail address or mobile number, as typed
	Name       string
	Password   string
	// PasswordConfirmation is compared with Password when ConfirmPassword is
	// set (the hosted page asks for the password twice; the API does not).
	PasswordConfirmation string
	ConfirmPassword      bool
	Locale               string // "ja", "en" or "" for the request's language
}

// MaxNameLength is the longest name accepted, in characters.
const MaxNameLength = 100

// Service runs sign-up flows. It implements flow.Handler for KindSignup.
type Service struct {
	Kit    *authflow.Kit
	Realms *realm.Registry
}

var _ flow.Handler = (*Service)(nil)

// Start begins a sign-up in realm rl. On success the answer's flow is in
// status challenge at step verification_code and a code is on its way.
//
// When the identifier belongs to an active account, an explicit realm refuses
// with ninsho.CodeIdentifierTaken; a safe realm answers exactly as for a new
// identifier and e-mails the owner a notice instead of a code. A pending
// account holding the identifier (a sign-up never confirmed) is replaced: it
// proved nothing.
func (s *Service) Start(ctx context.Context, rl *realm.Realm, req ninsho.Request, in Input) (*flow.Answer, error) {
	k := s.Kit
	id, err := identifier.Parse(in.Identifier, rl.PhoneRegion)
	if err != nil {
		return nil, err
	}
	if id.Kind == identifier.KindPhone {
		// Codes and alerts go by SMS: a landline cannot receive them.
		if err := identifier.RequireMobile(id); err != nil {
			return nil, err
		}
	}
	name, err := cleanName(in.Name)
	if err != nil {
		return nil, err
	}
	if in.ConfirmPassword && in.Password != in.PasswordConfirmation {
		return nil, ninsho.FieldError(ninsho.CodePasswordMismatch, "password_confirmation")
	}
	personal := password.Personal{Name: name}
	if id.Kind == identifier.KindEmail {
		personal.Email = id.Value
	} else {
		personal.Phone = id.Value
	}
	if err := k.Policy.Check(in.Password, personal); err != nil {
		return nil, err
	}
	// Hash before the transaction: the hash is the slow part and must not
	// hold the database's writer.
	hash, err := k.Passwords.Hash(ctx, in.Password)
	if err != nil {
		return nil, err
	}
	locale := authflow.Locale(in.Locale, req, rl)
	ch := authflow.ChannelFor(id)
	if !k.CanSend(ch) {
		// Refuse before anything is stored: no code could ever reach it.
		return nil, ninsho.FieldError(ninsho.CodeChannelUnavailable, "identifier").WithParam("channel", string(ch))
	}

	var ans *flow.Answer
	err = k.Tx.InTx(ctx, func(ctx context.Context) error {
		d, newToken, err := k.Devices.Resolve(ctx, rl.ID, req.DeviceToken, req.UserAgent)
		if err != nil {
			return err
		}
		f := k.NewFlow(flow.KindSignup, rl, req, d, locale)
		f.Identifier = id.Value
		f.Status = flow.StatusChallenge
		f.Step = flow.StepVerificationCode
		ans = &flow.Answer{Flow: f, DeviceToken: newToken}

		existing, err := k.AccountFor(ctx, rl, id)
		switch {
		case err == nil && existing.Status == account.StatusPending:
			if _, err := k.Accounts.DeletePendingAccount(ctx, existing.ID); err != nil {
				return err
			}
		case err == nil:
			if rl.Disclosure != realm.DisclosureSafe {
				return ninsho.FieldError(ninsho.CodeIdentifierTaken, "identifier")
			}
			return s.startForExisting(ctx, rl, req, f, existing, ch)
		case !ninsho.IsCode(err, ninsho.CodeAccountNotFound):
			return err
		}

		now := k.Clock.Now()
		a := &account.Account{
			ID: ninsho.NewID(k.Clock, k.Random), Realm: rl.ID, Type: account.TypeCustomer,
			Status: account.StatusPending, Name: name, Locale: locale, CreatedAt: now, UpdatedAt: now,
		}
		if id.Kind == identifier.KindEmail {
			a.Email = id.Value
		} else {
			a.Phone = id.Value
		}
		if err := k.Accounts.CreateAccount(ctx, a); err != nil {
			return err
		}
		if err := k.Accounts.SetPasswordHash(ctx, a.ID, hash, now); err != nil {
			return err
		}
		f.AccountID = a.ID
		if err := k.SendCode(ctx, f, rl, a.ID, code.PurposeSignup, ch, id.Value, "signup_code", name); err != nil {
			return err
		}
		if err := k.Save(ctx, f); err != nil {
			return err
		}
		return k.Record(ctx, rl, a.ID, event.TypeSignupStarted, req, d.ID, map[string]any{
			"flow": f.ID, "channel": string(ch),
		})
	})
	if err != nil {
		return nil, err
	}
	k.Outbox.Wake()
	ans.Next = k.CodeNext(ans.Flow, nil)
	return ans, nil
}

// startForExisting continues a safe realm's sign-up for an identifier that
// already has an account: the flow looks the same to the caller, a code is
// issued (so cool-down, caps and attempts behave alike) but never sent, and
// the owner gets a notice instead. The flow has no account, so no code can
// ever complete it.
func (s *Service) startForExisting(ctx context.Context, rl *realm.Realm, req ninsho.Request, f *flow.Flow, owner *account.Account, ch code.Channel) error {
	k := s.Kit
	if _, err := k.Codes.Issue(ctx, f, "", code.PurposeSignup, ch, f.Identifier); err != nil {
		return err
	}
	if err := k.Notify(ctx, rl, message.Channel(ch), f.Identifier, "account_exists", owner.Locale,
		map[string]string{"name": owner.Name}); err != nil {
		return err
	}
	if err := k.Save(ctx, f); err != nil {
		return err
	}
	return k.Record(ctx, rl, owner.ID, event.TypeSignupStarted, req, f.DeviceID, map[string]any{
		"flow": f.ID, "existing_account": true,
	})
}

// Act applies a sign-up action: submit_code or resend_code.
func (s *Service) Act(ctx context.Context, f *flow.Flow, req ninsho.Request, a flow.Action) (*flow.Answer, error) {
	rl := s.Realms.ByID(f.Realm)
	if rl == nil {
		return nil, ninsho.E(ninsho.CodeFlowNotFound)
	}
	switch a.Name {
	case flow.ActionSubmitCode:
		return s.submitCode(ctx, rl, f, req, a.Code)
	case flow.ActionResendCode:
		return s.resend(ctx, rl, f, req)
	default:
		return s.answer(f), ninsho.FieldError(ninsho.CodeActionUnknown, "action")
	}
}

// View describes f as it stands.
func (s *Service) View(_ context.Context, f *flow.Flow) (*flow.Answer, error) {
	return s.answer(f), nil
}

func (s *Service) answer(f *flow.Flow) *flow.Answer {
	ans := &flow.Answer{Flow: f, AccountID: ""}
	if f.Status == flow.StatusChallenge {
		ans.Next = s.Kit.CodeNext(f, nil)
	}
	return ans
}

func (s *Service) submitCode(ctx context.Context, rl *realm.Realm, f *flow.Flow, req ninsho.Request, input string) (*flow.Answer, error) {
	k := s.Kit
	var grant *flow.Grant
	var stepErr error
	err := k.Tx.InTx(ctx, func(ctx context.Context) error {
		c, serr, err := k.CheckCode(ctx, f, code.PurposeSignup, input)
		if err != nil || serr != nil {
			stepErr = serr
			return err
		}
		a, err := k.Accounts.Account(ctx, f.AccountID)
		if err != nil {
			return err
		}
		if a.Status != account.StatusPending {
			return ninsho.E(ninsho.CodeFlowCompleted)
		}
		now := k.Clock.Now()
		a.Status = account.StatusActive
		authflow.Verify(a, string(c.Channel), now)
		a.UpdatedAt = now
		if err := k.Accounts.UpdateAccount(ctx, a); err != nil {
			return err
		}
		grant, err = k.Complete(ctx, f, rl, a, req, []string{"password", string(c.Channel) + "_code"},
			event.TypeSignupCompleted, map[string]any{"channel": string(c.Channel)})
		return err
	})
	if err != nil {
		return s.answer(f), err
	}
	if stepErr != nil {
		return s.answer(f), stepErr
	}
	return &flow.Answer{Flow: f, Session: grant, AccountID: f.AccountID}, nil
}

func (s *Service) resend(ctx context.Context, rl *realm.Realm, f *flow.Flow, req ninsho.Request) (*flow.Answer, error) {
	err := s.Kit.Resend(ctx, rl, f, code.PurposeSignup, "signup_code")
	return s.answer(f), err
}

// cleanName normalises a display name: NFKC, trimmed, control characters
// refused, at most MaxNameLength characters.
func cleanName(raw string) (string, error) {
	if !utf8.ValidString(raw) {
		return "", ninsho.FieldError(ninsho.CodeNameInvalid, "name")
	}
	n := strings.TrimSpace(norm.NFKC.String(raw))
	if n == "" {
		return "", ninsho.FieldError(ninsho.CodeFieldRequired, "name")
	}
	if utf8.RuneCountInString(n) > MaxNameLength {
		return "", ninsho.FieldError(ninsho.CodeFieldTooLong, "name").WithParam("max", MaxNameLength)
	}
	for _, r := range n {
		if unicode.IsControl(r) {
			return "", ninsho.FieldError(ninsho.CodeNameInvalid, "name")
		}
	}
	// The name goes into the code message sent to the identifier, which may
	// belong to someone else: refuse links so sign-up cannot carry spam.
	lower := strings.ToLower(n)
	for _, bad := range []string{"://", "www.", "http"} {
		if strings.Contains(lower, bad) {
			return "", ninsho.FieldError(ninsho.CodeNameInvalid, "name")
		}
	}
	return n, nil
}
