// Package profile holds the rules of the owner's own settings that need no
// code: removing the account's e-mail address or phone number, changing the
// password, and the name and preferred language. Every change needs a
// recent sign-in (signin.Service.RecentEnough, ninsho.CodeReauthRequired),
// is an event (who, when, from where) and, where it matters, is announced to
// every verified channel with a "this wasn't me" link
// (authflow.ProfileAlerter). It reaches neither HTTP nor SQL: the handlers
// in api and web translate, the stores of authflow.Kit keep.
package profile

import (
	"context"
	"strings"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/authflow"
	"github.com/ninsho/ninsho/internal/changebudget"
	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/contact"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/identifier"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/password"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/reauth"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/signup"
	"github.com/ninsho/ninsho/internal/trust"
	"github.com/ninsho/ninsho/internal/twostep"
)

// Service runs the settings changes. Kit, Signin, Held and Changes are
// required; the clock
// is the Kit's.
type Service struct {
	Kit *authflow.Kit
	// Signin tells whether a session is recent enough, counts a wrong
	// current password like a failed sign-in, tells locks and forgets the
	// account's cached sessions after a change.
	Signin *signin.Service
	// TwoStep removes the two-step methods on a phone number removed with
	// it (twostep.Service.Remove, so its rules, events and alerts apply);
	// nil: the account has no two-step methods to consider.
	TwoStep *twostep.Service
	// Guard counts wrong current passwords on the account's
	// re-authentication key (reauth.GuardKey), shared with re-authentication
	// so that a stolen session gets no new guesses here; nil counts none.
	Guard *code.Guard
	// Held reads the account inside a change's transaction and holds it
	// (store.DB), so that two removals cannot each see the other
	// identifier still there.
	Held account.Holder
	// Budget counts the profile changes and removals of the account
	// (changebudget: 20 an hour) and, in its own pool, the password
	// changes (5 an hour); nil counts none.
	Budget *changebudget.Budget
	// Changes keeps a removal as a contact change (store.DB), so that the
	// removed address's alert carries its undo link and the undo of an
	// older change rolls the removal back too (contact.Service.Undo).
	Changes contact.Store
}

// Kind names the identifier Remove removes.
type Kind string

// Identifier kinds.
const (
	KindEmail Kind = "email"
	KindPhone Kind = "phone"
)

// recent refuses a change from a session that has not proved who the person
// is recently enough.
func (s *Service) recent(ctx context.Context, rl *realm.Realm, p *signin.Principal) error {
	if p == nil || p.Session == nil || p.Account == nil {
		return ninsho.E(ninsho.CodeUnauthenticated)
	}
	return s.Signin.RecentEnough(ctx, rl, p)
}

// pseudoFlow stands for one settings request where a flow's steps are
// shared (the alert's "this wasn't me" link, the wrong-password counters):
// a fresh id, the session's device, the account's identifier and the
// language chosen in the request. It is never stored.
func (s *Service) pseudoFlow(rl *realm.Realm, p *signin.Principal, req ninsho.Request) *flow.Flow {
	f := &flow.Flow{
		ID: ninsho.NewID(s.Kit.Clock, s.Kit.Random), Realm: rl.ID, AccountID: p.Account.ID,
		DeviceID: p.Session.DeviceID, Identifier: p.Account.Email,
	}
	if f.Identifier == "" {
		f.Identifier = p.Account.Phone
	}
	if req.LocaleChosen {
		f.Locale = i18n.Canonical(req.Locale)
	}
	return f
}

// TwoStepOnPhone reports which of a's proved two-step methods send their
// codes to a's phone number (those Remove of the phone removes with it) and
// whether they are all its methods (then Remove refuses).
func (s *Service) TwoStepOnPhone(ctx context.Context, rl *realm.Realm, a *account.Account) (on []twostep.MethodInfo, all bool, err error) {
	if s.TwoStep == nil || a.Phone == "" {
		return nil, false, nil
	}
	ms, err := s.TwoStep.Methods(ctx, rl, a)
	if err != nil {
		return nil, false, err
	}
	for _, m := range ms {
		if (m.Kind == twostep.MethodSMS || m.Kind == twostep.MethodVoice) && m.Phone == a.Phone {
			on = append(on, m)
		}
	}
	return on, len(on) > 0 && len(on) == len(ms), nil
}

// CanRemove tells whether a's identifier of kind may be removed now, and
// changes nothing: ninsho.CodeNotFound when a has none,
// ninsho.CodeIdentifierLast when no other verified identifier would remain,
// ninsho.CodeTwoStepUsesPhone when a's two-step methods all use the phone
// number; otherwise the two-step methods that would go with a phone number
// (none for an e-mail address). The confirmation page asks it first;
// Remove asks it again in its transaction.
func (s *Service) CanRemove(ctx context.Context, rl *realm.Realm, a *account.Account, kind Kind) ([]twostep.MethodInfo, error) {
	value, otherVerified := a.Email, a.Phone != "" && a.PhoneVerifiedAt != nil
	switch kind {
	case KindEmail:
	case KindPhone:
		value, otherVerified = a.Phone, a.Email != "" && a.EmailVerifiedAt != nil
	default:
		return nil, ninsho.E(ninsho.CodeNotFound)
	}
	if value == "" {
		return nil, ninsho.FieldError(ninsho.CodeNotFound, string(kind))
	}
	if !otherVerified {
		return nil, ninsho.FieldError(ninsho.CodeIdentifierLast, string(kind))
	}
	if kind != KindPhone {
		return nil, nil
	}
	on, all, err := s.TwoStepOnPhone(ctx, rl, a)
	if err != nil {
		return nil, err
	}
	if all {
		return nil, ninsho.FieldError(ninsho.CodeTwoStepUsesPhone, string(kind))
	}
	return on, nil
}

// Remove removes the e-mail address (KindEmail) or the phone number
// (KindPhone) of p's account and returns the account as it now is. The
// account keeps at least one verified identifier: removing the last one is
// ninsho.CodeIdentifierLast; an identifier the account does not have is
// ninsho.CodeNotFound. A phone number that the account's only two-step
// methods (SMS, voice call) use is refused with
// ninsho.CodeTwoStepUsesPhone; the methods on it are otherwise removed with
// it through twostep.Service.Remove. A verified removal is kept as a contact
// change (contact.RecordRemoval: its undo link, or the undo of an older
// change, puts the address back) and is the event
// account.identifier_removed; the identifier_removed alert goes to the
// removed address (when it was verified) with the removal's undo link
// (contact.AlertRemoved) and to every remaining verified channel with
// "this wasn't me", all in one transaction.
func (s *Service) Remove(ctx context.Context, rl *realm.Realm, req ninsho.Request, p *signin.Principal, kind Kind) (*account.Account, error) {
	if err := s.recent(ctx, rl, p); err != nil {
		return nil, err
	}
	if kind != KindEmail && kind != KindPhone {
		return nil, ninsho.E(ninsho.CodeNotFound)
	}
	k := s.Kit
	f := s.pseudoFlow(rl, p, req)
	var out *account.Account
	err := k.Tx.InTx(ctx, func(ctx context.Context) error {
		a, err := s.Held.HeldAccount(ctx, p.Account.ID)
		if err != nil {
			return err
		}
		before := *a
		value, verified := a.Email, a.EmailVerifiedAt != nil
		if kind == KindPhone {
			value, verified = a.Phone, a.PhoneVerifiedAt != nil
		}
		on, err := s.CanRemove(ctx, rl, a, kind)
		if err != nil {
			return err
		}
		// A removal counts in the account's settings budget too.
		if err := s.Budget.Spend(ctx, rl.ID, a.ID); err != nil {
			return err
		}
		if kind == KindPhone {
			for _, m := range on {
				if err := s.TwoStep.Remove(ctx, rl, req, a, m.ID); err != nil {
					return err
				}
			}
			a.Phone, a.PhoneVerifiedAt = "", nil
		} else {
			a.Email, a.EmailVerifiedAt = "", nil
		}
		a.UpdatedAt = k.Clock.Now()
		if err := k.Accounts.UpdateAccount(ctx, a); err != nil {
			return err
		}
		data := map[string]any{"kind": string(kind), "verified": verified}
		var ch *contact.Change
		if verified {
			// Only a proved address is put back by an undo: an
			// unverified one was never shown to be the owner's.
			if ch, err = contact.RecordRemoval(ctx, k, s.Changes, rl, &before, contact.Kind(kind)); err != nil {
				return err
			}
			data["change"] = ch.ID
		}
		if err := k.Record(ctx, rl, a.ID, event.TypeIdentifierRemoved, req, p.Session.DeviceID, data); err != nil {
			return err
		}
		// The removed address hears of it too (when it was proved to be
		// the owner's), with the removal's undo link; the remaining
		// channels get "this wasn't me".
		shown := identifier.Mask(identifier.Normalized(value), rl.PhoneRegion)
		vars := map[string]string{"kind": string(kind), "identifier": shown}
		if ch != nil {
			if err := contact.AlertRemoved(ctx, k, rl, f, &before, req, ch, message.TemplateIdentifierRemoved, vars); err != nil {
				return err
			}
		}
		if err := (authflow.ProfileAlerter{Kit: k}).Alert(ctx, rl, f, a, req, message.TemplateIdentifierRemoved, vars); err != nil {
			return err
		}
		out = a
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.Signin.ForgetAccount(p.Account.ID)
	k.Outbox.Wake()
	return out, nil
}

// PasswordInput is a password change: the current password, the new one
// typed twice, and whether every other session ends (SignOutOthers, which
// the callers default to true).
type PasswordInput struct {
	Current              string
	Password             string
	PasswordConfirmation string
	SignOutOthers        bool
}

// PasswordChanged is the result of ChangePassword.
type PasswordChanged struct {
	// SignedOutOthers counts the other sessions that were signed out.
	SignedOutOthers int
}

// ChangePassword replaces the password of p's account. The current password
// is checked first (through the hash limiter; a lock that would stop a
// sign-in from this device, or the account's re-authentication guard,
// stops it before any hash): a wrong one is ninsho.CodePasswordIncorrect
// (field current_password) and counts like a wrong re-authentication
// password — the account's guard, sign-in protection's failure counters and
// smart lock, a signin.failed event. Every field is judged before any hash
// and refused at once: an empty current password, the new one by the
// sign-up policy (field password), a confirmation that differs
// (password_mismatch); a new password equal to the current one is
// ninsho.CodePasswordReused. On success the new hash is stored, the trusted
// devices are forgotten, every other session is revoked when SignOutOthers
// (this session stays), password.changed is recorded (via "settings") and
// the password_changed alert goes to every verified channel. The change
// spends one of the account's password budget (changebudget, its own pool,
// so that profile changes cannot block it; checked before any hash,
// counted in the change's transaction; ninsho.CodeRateLimited).
func (s *Service) ChangePassword(ctx context.Context, rl *realm.Realm, req ninsho.Request, p *signin.Principal, in PasswordInput) (*PasswordChanged, error) {
	if err := s.recent(ctx, rl, p); err != nil {
		return nil, err
	}
	k := s.Kit
	a, err := k.Accounts.Account(ctx, p.Account.ID)
	if err != nil {
		return nil, err
	}
	var curErr error
	if in.Current == "" {
		curErr = ninsho.FieldError(ninsho.CodeFieldRequired, "current_password")
	}
	newErr := k.CheckNewPassword(rl, in.Password, in.PasswordConfirmation, true, password.Personal{Email: a.Email, Phone: a.Phone, Name: a.Name})
	if err := ninsho.Fields(curErr, newErr); err != nil {
		return nil, err
	}
	if err := s.Budget.CheckPassword(ctx, rl.ID, a.ID); err != nil {
		return nil, err
	}
	f := s.pseudoFlow(rl, p, req)
	if err := s.Signin.CheckLock(ctx, f, a); err != nil {
		if e := ninsho.ErrorOf(err); e != nil && e.Code == ninsho.CodeAccountLocked {
			e.Field = "current_password"
		}
		return nil, err
	}
	st, err := s.Guard.AllowKey(ctx, rl.ID, reauth.GuardKey(a.ID))
	if ninsho.IsCode(err, ninsho.CodeAccountLocked) {
		e := ninsho.ErrorOf(err)
		e.Field = "current_password"
		if e.Params["kind"] == "codes_stopped" {
			e.WithParam("kind", "reauth_stopped")
		} else {
			e.WithParam("kind", "reauth")
		}
		return nil, e
	}
	if err != nil {
		return nil, err
	}
	ok, err := k.CurrentPassword(ctx, a.ID, in.Current)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, s.wrongPassword(ctx, rl, f, a, req)
	}
	if password.Same(in.Current, in.Password) {
		return nil, ninsho.FieldError(ninsho.CodePasswordReused, "password")
	}
	hash, err := k.Passwords.Hash(ctx, in.Password)
	if err != nil {
		return nil, err
	}
	out := &PasswordChanged{}
	err = k.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.Budget.SpendPassword(ctx, rl.ID, a.ID); err != nil {
			return err
		}
		if err := s.Guard.SucceedKey(ctx, rl.ID, reauth.GuardKey(a.ID), st); err != nil {
			return err
		}
		now := k.Clock.Now()
		if err := k.Accounts.SetPasswordHash(ctx, a.ID, hash, now); err != nil {
			return err
		}
		if in.SignOutOthers {
			n, err := k.Sessions.Store.RevokeAccountSessions(ctx, a.ID, p.Session.ID, now)
			if err != nil {
				return err
			}
			out.SignedOutOthers = n
		}
		if err := k.ForgetTrusted(ctx, rl, req, a.ID, trust.ReasonPasswordChanged); err != nil {
			return err
		}
		if err := k.Record(ctx, rl, a.ID, event.TypePasswordChanged, req, p.Session.DeviceID, map[string]any{
			"via": "settings", "session": p.Session.ID, "sessions_revoked": out.SignedOutOthers, "sign_out_others": in.SignOutOthers,
		}); err != nil {
			return err
		}
		var extra map[string]string
		if !in.SignOutOthers {
			extra = map[string]string{"others_kept": "1"}
		}
		return (authflow.ProfileAlerter{Kit: k}).Alert(ctx, rl, f, a, req, message.TemplatePasswordChanged, extra)
	})
	if err != nil {
		return nil, err
	}
	s.Signin.ForgetAccount(a.ID)
	k.Outbox.Wake()
	return out, nil
}

// wrongPassword counts a wrong current password as re-authentication does
// and answers ninsho.CodePasswordIncorrect (field current_password).
func (s *Service) wrongPassword(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account, req ninsho.Request) error {
	k := s.Kit
	err := k.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.Guard.FailKey(ctx, rl.ID, reauth.GuardKey(a.ID)); err != nil {
			return err
		}
		if err := s.Signin.CountWrongPassword(ctx, rl, f, a, req); err != nil {
			return err
		}
		return k.Record(ctx, rl, a.ID, event.TypeSigninFailed, req, f.DeviceID, map[string]any{
			"reason": string(ninsho.CodePasswordIncorrect), "via": "password_change",
		})
	})
	if err != nil {
		return err
	}
	return ninsho.FieldError(ninsho.CodePasswordIncorrect, "current_password")
}

// Update is a change of the name and/or the preferred language; a nil
// field stays as it is.
type Update struct {
	Name   *string
	Locale *string
}

// UpdateProfile changes the name (the rules of sign-up: signup.CleanName —
// empty is field_required, too long field_too_long, control characters or
// links name_invalid) and/or the preferred language (a language tag read
// as sign-up reads it, i18n.Canonical: "ja", "en", "en-US"…, else
// ninsho.CodeLocaleInvalid) of p's account, every refused field at once,
// records account.profile_changed (which fields; the language's new value,
// never the name) and returns the account as it now is. Messages then
// follow the new language (authflow.Locale). Nothing sent, or only the
// values the account already has, changes nothing: no event, nothing spent.
// A change spends one of the account's changebudget (ninsho.CodeRateLimited
// once spent).
func (s *Service) UpdateProfile(ctx context.Context, rl *realm.Realm, req ninsho.Request, p *signin.Principal, in Update) (*account.Account, error) {
	if err := s.recent(ctx, rl, p); err != nil {
		return nil, err
	}
	var name, locale string
	var nameErr, localeErr error
	if in.Name != nil {
		name, nameErr = signup.CleanName(*in.Name)
	}
	if in.Locale != nil {
		// The language tag is read as sign-up reads it: "en-US" is en.
		locale = i18n.Canonical(strings.TrimSpace(*in.Locale))
		localeErr = authflow.CheckLocale(rl, strings.TrimSpace(*in.Locale))
	}
	if err := ninsho.Fields(nameErr, localeErr); err != nil {
		return nil, err
	}
	k := s.Kit
	var out *account.Account
	err := k.Tx.InTx(ctx, func(ctx context.Context) error {
		a, err := s.Held.HeldAccount(ctx, p.Account.ID)
		if err != nil {
			return err
		}
		var changed []string
		data := map[string]any{}
		if in.Name != nil && name != a.Name {
			a.Name = name
			changed = append(changed, "name")
		}
		if in.Locale != nil && locale != a.Locale {
			a.Locale = locale
			changed = append(changed, "locale")
			data["locale"] = locale
		}
		out = a
		if len(changed) == 0 {
			return nil // nothing changes: no event, nothing spent
		}
		if err := s.Budget.Spend(ctx, rl.ID, a.ID); err != nil {
			return err
		}
		a.UpdatedAt = k.Clock.Now()
		if err := k.Accounts.UpdateAccount(ctx, a); err != nil {
			return err
		}
		data["changed"] = changed
		return k.Record(ctx, rl, a.ID, event.TypeProfileChanged, req, p.Session.DeviceID, data)
	})
	if err != nil {
		return nil, err
	}
	s.Signin.ForgetAccount(p.Account.ID)
	return out, nil
}
