// Package desk is what staff do for account owners in the console: find an
// account (by e-mail address, phone number, id, a suspension's reference or
// the reference number of an error page), read its timeline, and act on it
// with a written reason — unlock, lock as suspicious, suspend and
// reinstate, revoke its sessions, require a new password, remind an
// unfinished sign-up. Every action is an audit event with the staff member
// as actor (who), the time (when), its type (what), the written reason
// (why) and the request's address, browser and id (from where).
//
// It holds rules only; internal/console is its HTTP adapter. Permissions
// are checked here, against staff.Can, so no page can forget them.
package desk

import (
	"context"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/authflow"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/staff"
	"github.com/ninsho/ninsho/internal/throttle"
)

// Event types of staff actions on accounts (actor "staff:<id>", data
// "reason": the written reason, "staff": the staff id).
const (
	TypeUnlocked         = "staff.account_unlocked"
	TypeLocked           = "staff.account_locked"
	TypeSuspended        = "staff.account_suspended"
	TypeReinstated       = "staff.account_reinstated"
	TypeSessionsRevoked  = "staff.sessions_revoked"
	TypeResetRequired    = "staff.password_reset_required"
	TypeSignupReminded   = "staff.signup_reminded"
	TypePasswordResetMet = "password_reset_requirement.cleared"
)

// ActionTypes lists the event types of staff actions.
var ActionTypes = []string{TypeUnlocked, TypeLocked, TypeSuspended, TypeReinstated, TypeSessionsRevoked, TypeResetRequired, TypeSignupReminded}

// MaxReason bounds a written reason, in characters.
const MaxReason = 1000

// Lookup reads what the timeline and the search need beyond the account
// stores.
type Lookup interface {
	// EventsByRequest returns the events recorded by the request with the
	// id, at most limit.
	EventsByRequest(ctx context.Context, requestID string, limit int) ([]*event.Event, error)
	// MessagesTo returns the realm's messages to any of the addresses,
	// newest first, at most limit; their sealed variables are not read.
	MessagesTo(ctx context.Context, realm string, to []string, limit int) ([]*message.Message, error)
}

// Service is the staff desk. Build it with every field set but Sources
// and Finders.
type Service struct {
	Kit         *authflow.Kit
	Realms      *realm.Registry
	Locks       account.LockStore
	Suspensions account.SuspensionStore
	Resets      account.ResetRequirementStore
	Lookup      Lookup
	// Forget drops an account's cached sessions (signin.Service.ForgetAccount).
	Forget func(accountID string)
	// Sources add entries to every timeline (recovery cases, help
	// requests); see Source.
	Sources []Source
	// Finders find accounts by further kinds of reference numbers; see
	// Finder.
	Finders []Finder
}

// reason checks a written reason: required, at most MaxReason characters.
func reason(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", ninsho.FieldError(ninsho.CodeFieldRequired, "reason")
	case utf8.RuneCountInString(s) > MaxReason:
		return "", ninsho.FieldError(ninsho.CodeFieldTooLong, "reason").WithParam("max", MaxReason)
	}
	return s, nil
}

// Account returns the account with the id for a staff member who may read
// timelines.
func (s *Service) Account(ctx context.Context, p *staff.Principal, id string) (*account.Account, error) {
	if err := p.Require(staff.PermTimeline); err != nil {
		return nil, err
	}
	if !ninsho.ValidID(id) {
		return nil, ninsho.E(ninsho.CodeAccountNotFound)
	}
	return s.Kit.Accounts.Account(ctx, id)
}

// act runs one action on the account in a transaction: check the
// permission and the reason, hold the account, apply fn, record the event
// with the reason and what fn returned.
func (s *Service) act(ctx context.Context, p *staff.Principal, req ninsho.Request, accountID, typ, why string,
	fn func(ctx context.Context, a *account.Account, now time.Time) (map[string]any, error)) error {
	if err := p.Require(staff.PermAccountActions); err != nil {
		return err
	}
	why, err := reason(why)
	if err != nil {
		return err
	}
	if !ninsho.ValidID(accountID) {
		return ninsho.E(ninsho.CodeAccountNotFound)
	}
	k := s.Kit
	err = k.Tx.InTx(ctx, func(ctx context.Context) error {
		held, ok := k.Accounts.(account.Holder)
		var a *account.Account
		var err error
		if ok {
			a, err = held.HeldAccount(ctx, accountID)
		} else {
			a, err = k.Accounts.Account(ctx, accountID)
		}
		if err != nil {
			return err
		}
		now := k.Clock.Now()
		data, err := fn(ctx, a, now)
		if err != nil {
			return err
		}
		if data == nil {
			data = map[string]any{}
		}
		data["reason"], data["staff"] = why, p.Staff.ID
		return k.Events.AppendEvent(ctx, &event.Event{
			ID: ninsho.NewID(k.Clock, k.Random), Realm: a.Realm, AccountID: a.ID, Type: typ,
			Actor: p.Staff.Actor(), IP: req.IP, UserAgent: truncate(req.UserAgent, 512), RequestID: req.RequestID,
			Data: data, At: now,
		})
	})
	if err == nil && s.Forget != nil {
		s.Forget(accountID)
	}
	return err
}

// revoke signs out every session of the account.
func (s *Service) revoke(ctx context.Context, a *account.Account, now time.Time) (int, error) {
	return s.Kit.Sessions.Store.RevokeAccountSessions(ctx, a.ID, "", now)
}

// Unlock lifts any lock of the account (the smart lock of unfamiliar
// devices, or a lock as suspicious) and its ladder. An account not locked
// is ninsho.CodeConflict.
func (s *Service) Unlock(ctx context.Context, p *staff.Principal, req ninsho.Request, accountID, why string) error {
	return s.act(ctx, p, req, accountID, TypeUnlocked, why, func(ctx context.Context, a *account.Account, now time.Time) (map[string]any, error) {
		lifted := ""
		switch {
		case a.Status == account.StatusLocked:
			lifted = string(account.LockSuspicious)
		case a.Lock.LockedFor(now, false):
			lifted = string(a.Lock.Kind)
		default:
			return nil, ninsho.E(ninsho.CodeConflict).WithParam("reason", ninsho.ConflictNotLocked)
		}
		if err := s.Locks.SetLock(ctx, a.ID, account.Lock{}); err != nil {
			return nil, err
		}
		if a.Status == account.StatusLocked {
			a.Status, a.UpdatedAt = account.StatusActive, now
			if err := s.Kit.Accounts.UpdateAccount(ctx, a); err != nil {
				return nil, err
			}
		}
		return map[string]any{"lock_lifted": lifted}, nil
	})
}

// Lock locks the account as suspicious: every sign-in stops until the
// owner unlocks it with a code and a new password (self-service unlock),
// and every session ends. Only an active account can be locked.
func (s *Service) Lock(ctx context.Context, p *staff.Principal, req ninsho.Request, accountID, why string) error {
	return s.act(ctx, p, req, accountID, TypeLocked, why, func(ctx context.Context, a *account.Account, now time.Time) (map[string]any, error) {
		if a.Status != account.StatusActive {
			return nil, ninsho.E(ninsho.CodeConflict).WithParam("reason", ninsho.ConflictNotActive)
		}
		if err := s.Locks.SetLock(ctx, a.ID, account.Lock{Kind: account.LockSuspicious, Level: a.Lock.Level, LockedAt: &now}); err != nil {
			return nil, err
		}
		a.Status, a.UpdatedAt = account.StatusLocked, now
		if err := s.Kit.Accounts.UpdateAccount(ctx, a); err != nil {
			return nil, err
		}
		n, err := s.revoke(ctx, a, now)
		return map[string]any{"sessions_revoked": n}, err
	})
}

// Suspend suspends an active or locked account with a public reason
// (account.SuspensionReasons) and a reference number (caseref kind S),
// which its owner is told at sign-in; the written reason stays with
// staff. Every session ends. It returns the reference.
func (s *Service) Suspend(ctx context.Context, p *staff.Principal, req ninsho.Request, accountID string, public account.SuspensionReason, why string) (string, error) {
	if !public.Valid() {
		if err := p.Require(staff.PermAccountActions); err != nil {
			return "", err
		}
		return "", ninsho.FieldError(ninsho.CodeRequestInvalid, "public_reason")
	}
	var ref string
	err := s.act(ctx, p, req, accountID, TypeSuspended, why, func(ctx context.Context, a *account.Account, now time.Time) (map[string]any, error) {
		if a.Status != account.StatusActive && a.Status != account.StatusLocked {
			return nil, ninsho.E(ninsho.CodeConflict).WithParam("reason", ninsho.ConflictNotActive)
		}
		note, _ := reason(why)
		sus := &account.Suspension{Realm: a.Realm, AccountID: a.ID, Reason: public, Note: note, By: p.Staff.Actor(), At: now}
		if err := s.addSuspension(ctx, sus); err != nil {
			return nil, err
		}
		ref = sus.Reference
		a.Status, a.UpdatedAt = account.StatusSuspended, now
		if err := s.Kit.Accounts.UpdateAccount(ctx, a); err != nil {
			return nil, err
		}
		n, err := s.revoke(ctx, a, now)
		if err != nil {
			return nil, err
		}
		// The owner is told: why, the reference, and the help request
		// form that quotes it.
		help := "/help/request?" + url.Values{"ref": {ref}, "step": {"suspended"}}.Encode()
		if err := s.tell(ctx, a, message.TemplateAccountSuspended, help, map[string]string{"reference": ref, "reason": string(public)}); err != nil {
			return nil, err
		}
		return map[string]any{"reference": ref, "public_reason": string(public), "sessions_revoked": n}, nil
	})
	return ref, err
}

// Reinstate lifts the account's suspension and makes it active again.
func (s *Service) Reinstate(ctx context.Context, p *staff.Principal, req ninsho.Request, accountID, why string) error {
	return s.act(ctx, p, req, accountID, TypeReinstated, why, func(ctx context.Context, a *account.Account, now time.Time) (map[string]any, error) {
		if a.Status != account.StatusSuspended {
			return nil, ninsho.E(ninsho.CodeConflict).WithParam("reason", ninsho.ConflictNotSuspended)
		}
		note, _ := reason(why)
		data := map[string]any{}
		sus, err := s.Suspensions.LiftSuspension(ctx, a.ID, p.Staff.Actor(), note, now)
		switch {
		case err == nil:
			data["reference"] = sus.Reference
		case !ninsho.IsCode(err, ninsho.CodeNotFound): // suspended before suspensions had records
			return nil, err
		}
		a.Status, a.UpdatedAt = account.StatusActive, now
		if err := s.Kit.Accounts.UpdateAccount(ctx, a); err != nil {
			return nil, err
		}
		ref, _ := data["reference"].(string)
		return data, s.tell(ctx, a, message.TemplateAccountReinstated, "/signin", map[string]string{"reference": ref})
	})
}

// tell sends the owner of a the notice template of a staff action to
// every verified channel (authflow.Kit.SendAlerts), with a link to the
// realm's page at path. The device and network shown are none: staff
// acted, not the owner's device, and where staff work from is not the
// owner's to see.
func (s *Service) tell(ctx context.Context, a *account.Account, template, path string, vars map[string]string) error {
	rl := s.Realms.ByID(a.Realm)
	if rl == nil {
		return nil // a realm no longer configured: nowhere to link to
	}
	link := realmBase(rl) + path
	return s.Kit.SendAlerts(ctx, rl, a, ninsho.Request{}, authflow.Alerts{
		Template: template, Locale: authflow.Locale(&flow.Flow{}, a, rl), Dests: authflow.VerifiedDests(a), Extra: vars,
		Link:  func(context.Context, authflow.AlertDest) (string, error) { return link, nil },
		Event: map[string]any{"reference": vars["reference"]},
	})
}

// realmBase is the realm's public origin, where the links of messages point.
func realmBase(rl *realm.Realm) string {
	if rl.BaseURL != "" {
		return strings.TrimRight(rl.BaseURL, "/")
	}
	return "https://" + rl.PublicHost
}

// RevokeSessions signs out every session of the account.
func (s *Service) RevokeSessions(ctx context.Context, p *staff.Principal, req ninsho.Request, accountID, why string) error {
	return s.act(ctx, p, req, accountID, TypeSessionsRevoked, why, func(ctx context.Context, a *account.Account, now time.Time) (map[string]any, error) {
		n, err := s.revoke(ctx, a, now)
		return map[string]any{"sessions_revoked": n}, err
	})
}

// RequireReset makes the owner set a new password: a sign-in with the
// right password is refused with ninsho.CodePasswordResetRequired (whose
// way out is the password assistant) until a new password is set, and
// every session ends now.
func (s *Service) RequireReset(ctx context.Context, p *staff.Principal, req ninsho.Request, accountID, why string) error {
	return s.act(ctx, p, req, accountID, TypeResetRequired, why, func(ctx context.Context, a *account.Account, now time.Time) (map[string]any, error) {
		if a.Status == account.StatusPending || a.Status == account.StatusClosed {
			return nil, ninsho.E(ninsho.CodeConflict)
		}
		if err := s.Resets.RequirePasswordReset(ctx, a.ID, p.Staff.Actor(), now); err != nil {
			return nil, err
		}
		n, err := s.revoke(ctx, a, now)
		return map[string]any{"sessions_revoked": n}, err
	})
}

// RemindersPerHour caps the sign-up reminders of one account.
const RemindersPerHour = 3

// RemindSignup sends the owner of an unconfirmed sign-up a reminder
// (message signup_reminder) to its identifier: signing in with the
// address or number and the password chosen at sign-up sends the
// confirmation code, which finishes it. A code is not sent from here: a
// code belongs to a flow, and a flow to the browser or app that started
// it, which the owner no longer has. Only a pending account;
// RemindersPerHour per account (rate_limited).
func (s *Service) RemindSignup(ctx context.Context, p *staff.Principal, req ninsho.Request, accountID, why string) error {
	return s.act(ctx, p, req, accountID, TypeSignupReminded, why, func(ctx context.Context, a *account.Account, now time.Time) (map[string]any, error) {
		if a.Status != account.StatusPending {
			return nil, ninsho.E(ninsho.CodeConflict).WithParam("reason", ninsho.ConflictNotPending)
		}
		rl := s.Realms.ByID(a.Realm)
		if rl == nil {
			return nil, ninsho.E(ninsho.CodeAccountNotFound)
		}
		key := throttle.Key("staff.signup_reminder", a.Realm, a.ID)
		n, err := s.Kit.Counter.Count(ctx, key, time.Hour)
		if err != nil {
			return nil, err
		}
		if n >= RemindersPerHour {
			return nil, ninsho.E(ninsho.CodeRateLimited).WithParam("retry_after_s", 3600)
		}
		if err := s.Kit.Counter.Hit(ctx, key, 1, time.Hour); err != nil {
			return nil, err
		}
		ch, to := message.ChannelEmail, a.Email
		if to == "" {
			ch, to = message.ChannelSMS, a.Phone
		}
		locale := rl.Language("", a.Locale)
		m, err := s.Kit.Notice(ctx, rl, ch, to, message.TemplateSignupReminder, locale, map[string]string{"name": ""})
		if err != nil {
			return nil, err
		}
		return map[string]any{"channel": string(ch), "message": m.ID}, nil
	})
}

// addSuspension stores sus with a fresh reference, drawing again on the
// rare collision.
func (s *Service) addSuspension(ctx context.Context, sus *account.Suspension) error {
	for try := 0; ; try++ {
		sus.Reference = newReference(s.Kit.Random)
		err := s.Suspensions.AddSuspension(ctx, sus)
		if err == nil || try >= 3 {
			return err
		}
		if !ninsho.IsCode(err, ninsho.CodeConflict) {
			return err
		}
		if _, aerr := s.Suspensions.ActiveSuspension(ctx, sus.AccountID); aerr == nil {
			return err // in force already: not a collision
		}
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
