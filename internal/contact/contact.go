// Package contact changes or adds a signed-in person's e-mail address or
// mobile phone number: the new address is proved with a code (drawn from
// the strangers' lane of its budget: it is not the owner's until proved),
// the old one is told with an "undo — this wasn't me" link that puts it
// back, signs out everywhere and locks the account as suspicious (the
// unlock flow then applies), and a two-step number moves with the phone
// number only once the new one is proved.
//
// The flow (flow.KindContact) belongs to the session that started it
// (flow.Guarded, as internal/reauth), and starts only from a recent session
// (signin.Service.RecentEnough).
package contact

import (
	"context"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/authflow"
	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/identifier"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/throttle"
	"github.com/ninsho/ninsho/internal/twostep"
	"github.com/ninsho/ninsho/internal/unlock"
)

// FlowLifetime is how long a contact change flow stays usable.
const FlowLifetime = 15 * time.Minute

// Caps, counted before anything is written. A session starts at most
// StartsPerSession changes within StartWindow (a flow's lifetime, as
// reauth.StartsPerSession); an account sends codes to at most
// AddressesPerHour different new addresses and at most CodesPerHour codes
// (starts and resends) in an hour, as the two-step phone enrolment does.
// Past any of them the start or resend answers ninsho.CodeRateLimited with
// retry_after_s and the kind of the cap (LimitSession, LimitAddresses,
// LimitCodes), which chooses its message.
const (
	StartsPerSession = 10
	StartWindow      = FlowLifetime
	AddressesPerHour = 3
	CodesPerHour     = 10
)

// Throttle families of the caps.
const (
	familySession   = "start.contact.session"
	familySeen      = "contact.address"   // realm, account/address: sent to this hour
	familyAddresses = "contact.addresses" // realm, account: new addresses this hour
	familyCodes     = "contact.codes"     // realm, account: codes this hour
)

// Flow-state keys.
const (
	stateSession = "session"        // the id of the session the flow belongs to
	stateKind    = "contact_kind"   // email or phone
	stateTaken   = "taken"          // "1": a safe realm's address of another account
	stateMoves   = "moves_two_step" // "1": the old number is the 2SV number
)

// purposeNeverRight is the purpose of the code a safe realm writes for an
// address another account holds: the same work as a real code, never sent,
// and never right, since submit_code checks PurposeContact.
const purposeNeverRight code.Purpose = "contact_taken"

// Service runs contact changes (flow.KindContact) and their undo links. It
// implements flow.Handler and flow.Guarded. All fields but Starts are
// required.
type Service struct {
	Kit    *authflow.Kit
	Realms *realm.Registry
	// Signin checks the session each request carries and whether it is
	// recent enough; the account's cached sessions are forgotten after a
	// change.
	Signin *signin.Service
	Store  Store
	// Unlock is the "this wasn't me" effect the undo link ends with.
	Unlock *unlock.Service
	// Starts counts the caps; nil caps none.
	Starts *throttle.Counter
}

var (
	_ flow.Handler = (*Service)(nil)
	_ flow.Guarded = (*Service)(nil)
)

// Start begins a change (or, for an account without one, the addition) of
// the identifier of kind of the signed-in person p to what was typed: a
// code goes to the new address (template contact_code). The session must
// be recent (ninsho.CodeReauthRequired otherwise). Refusals, before
// anything is written: the address as now (identifier_unchanged), input
// that is no e-mail address or no mobile number (identifier_invalid,
// phone_not_mobile, phone_number_not_allowed, field email or phone),
// the caps (rate_limited), and, in an explicit realm, an address of another
// confirmed account (identifier_taken; an unconfirmed sign-up holding it
// does not count, and the right code deletes it). A safe realm answers the last like a free
// address — a code written, never sent and never right — and tells the
// other account's owner (template contact_taken).
func (s *Service) Start(ctx context.Context, rl *realm.Realm, req ninsho.Request, p *signin.Principal, kind Kind, typed string) (*flow.Answer, error) {
	k := s.Kit
	if p == nil || p.Session == nil || p.Account == nil {
		return nil, ninsho.E(ninsho.CodeUnauthenticated)
	}
	if err := s.Signin.RecentEnough(ctx, rl, p); err != nil {
		return nil, err
	}
	a, err := k.Accounts.Account(ctx, p.Account.ID)
	if err != nil {
		return nil, err
	}
	id, err := s.parse(rl, kind, typed)
	if err != nil {
		return nil, err
	}
	if current(a, kind) == id.Value {
		return nil, ninsho.FieldError(ninsho.CodeIdentifierUnchanged, string(kind))
	}
	// Counted before the address is looked up: a session cannot probe
	// addresses faster than it may start changes.
	if err := s.admit(ctx, rl, p, a, id.Value); err != nil {
		return nil, err
	}
	holder, err := k.AccountFor(ctx, rl, id)
	if err != nil && !ninsho.IsCode(err, ninsho.CodeAccountNotFound) {
		return nil, err
	}
	// An unconfirmed sign-up never proved the address: it does not hold it
	// against the owner (the change deletes it once the code is right).
	taken := holder != nil && holder.ID != a.ID && holder.Status != account.StatusPending
	if taken && rl.Disclosure != realm.DisclosureSafe {
		return nil, ninsho.FieldError(ninsho.CodeIdentifierTaken, string(kind))
	}
	moves := false
	if kind == KindPhone && k.TwoStep != nil {
		if moves, err = k.TwoStep.UsesPhone(ctx, rl, a, a.Phone); err != nil {
			return nil, err
		}
	}
	d, newToken, err := k.Devices.Resolve(ctx, rl.ID, req.DeviceToken, req.UserAgent)
	if err != nil {
		return nil, err
	}
	f := k.NewFlow(flow.KindContact, rl, req, d)
	f.ExpiresAt = f.CreatedAt.Add(FlowLifetime)
	f.AccountID = a.ID
	f.Identifier = id.Value
	f.Status, f.Step = flow.StatusChallenge, flow.StepVerificationCode
	f.Set(stateSession, p.Session.ID)
	f.Set(stateKind, string(kind))
	if taken {
		f.Set(stateTaken, "1")
	}
	if moves {
		f.Set(stateMoves, "1")
	}
	err = k.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.send(ctx, rl, f, a); err != nil {
			return err
		}
		if err := k.Save(ctx, f); err != nil {
			return err
		}
		if taken {
			ch := message.ChannelEmail
			if kind == KindPhone {
				ch = message.ChannelSMS
			}
			if ok, err := k.SMSGuard.AdmitOptional(ctx, rl, code.Channel(ch), id.Value, code.LaneStranger); err != nil {
				return err
			} else if ok && k.CanSend(code.Channel(ch)) {
				if err := k.Notify(ctx, rl, ch, id.Value, message.TemplateContactTaken, authflow.Locale(f, holder, rl),
					map[string]string{"name": holder.Name}); err != nil {
					return err
				}
			}
		}
		return k.Record(ctx, rl, a.ID, event.TypeContactChangeStarted, req, f.DeviceID, map[string]any{
			"flow": f.ID, "kind": string(kind), "added": current(a, kind) == "", "moves_two_step": moves,
		})
	})
	if err != nil {
		return nil, err
	}
	k.Outbox.Wake()
	ans := s.answer(f)
	ans.DeviceToken = newToken
	return ans, nil
}

// parse reads the address typed for kind in realm rl: an e-mail address
// (field email), or a mobile number of the realm's region that may receive
// codes (field phone; twostep.PhoneAllowed). A realm that cannot send text
// messages takes no phone number (channel_unavailable).
func (s *Service) parse(rl *realm.Realm, kind Kind, typed string) (identifier.Identifier, error) {
	field := string(kind)
	switch kind {
	case KindEmail, KindPhone:
	default:
		return identifier.Identifier{}, ninsho.FieldError(ninsho.CodeRequestInvalid, "kind")
	}
	if kind == KindPhone && (rl.EmailOnly || !s.Kit.CanSend(code.ChannelSMS)) {
		return identifier.Identifier{}, ninsho.FieldError(ninsho.CodeChannelUnavailable, field).WithParam("channel", string(code.ChannelSMS))
	}
	if isBlank(typed) {
		return identifier.Identifier{}, ninsho.FieldError(ninsho.CodeFieldRequired, field)
	}
	id, err := identifier.Parse(typed, rl.PhoneRegion)
	if err != nil || string(id.Kind) != field {
		e := ninsho.FieldError(ninsho.CodeIdentifierInvalid, field)
		if kind == KindEmail {
			e.WithParam("kind", "email")
		}
		return identifier.Identifier{}, e
	}
	if kind == KindPhone {
		if !twostep.PhoneAllowed(id.Value) {
			return identifier.Identifier{}, ninsho.FieldError(ninsho.CodePhoneNumberNotAllowed, field)
		}
		if err := identifier.RequireMobile(id); err != nil {
			return identifier.Identifier{}, ninsho.FieldError(ninsho.CodePhoneNotMobile, field)
		}
	}
	return id, nil
}

func isBlank(s string) bool {
	for _, r := range s {
		if r != ' ' && r != '\t' && r != '\n' && r != '\r' && r != '\u3000' {
			return false
		}
	}
	return true
}

// admit counts a start of p's session and a code of a to address, or
// refuses it (rate_limited) when a cap is reached; a refusal writes
// nothing.
func (s *Service) admit(ctx context.Context, rl *realm.Realm, p *signin.Principal, a *account.Account, address string) error {
	c := s.Starts
	if c == nil {
		return nil
	}
	key := throttle.Key(familySession, rl.ID, p.Session.ID)
	n, err := c.Count(ctx, key, StartWindow)
	if err != nil {
		return err
	}
	if n >= StartsPerSession {
		return ninsho.E(ninsho.CodeRateLimited).WithParam("kind", LimitSession).WithParam("retry_after_s", int(StartWindow/time.Second))
	}
	seen := throttle.Key(familySeen, rl.ID, a.ID+"/"+address)
	ns, err := c.Count(ctx, seen, time.Hour)
	if err != nil {
		return err
	}
	addresses := throttle.Key(familyAddresses, rl.ID, a.ID)
	if ns == 0 {
		if n, err := c.Count(ctx, addresses, time.Hour); err != nil {
			return err
		} else if n >= AddressesPerHour {
			return ninsho.E(ninsho.CodeRateLimited).WithParam("kind", LimitAddresses).WithParam("retry_after_s", 3600)
		}
	}
	if err := s.admitCode(ctx, rl, a, false); err != nil {
		return err
	}
	if err := c.Hit(ctx, key, 1, StartWindow); err != nil {
		return err
	}
	if ns == 0 {
		if err := c.Hit(ctx, addresses, 1, time.Hour); err != nil {
			return err
		}
	}
	return c.Hit(ctx, seen, 1, time.Hour)
}

// admitCode refuses a code of a past CodesPerHour (rate_limited) and,
// with count, counts one.
func (s *Service) admitCode(ctx context.Context, rl *realm.Realm, a *account.Account, count bool) error {
	c := s.Starts
	if c == nil {
		return nil
	}
	key := throttle.Key(familyCodes, rl.ID, a.ID)
	n, err := c.Count(ctx, key, time.Hour)
	if err != nil {
		return err
	}
	if n >= CodesPerHour {
		return ninsho.E(ninsho.CodeRateLimited).WithParam("kind", LimitCodes).WithParam("retry_after_s", 3600)
	}
	if !count {
		return nil
	}
	return c.Hit(ctx, key, 1, time.Hour)
}

// send issues f's code to its new address (the strangers' lane: the
// address is not the owner's until proved) with the code component's
// cool-down, lanes, guard and the SMS cost guard. For a safe realm's taken
// address the same work is done with a code that can never be right, and
// its message is written suppressed.
func (s *Service) send(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account) error {
	if err := s.admitCode(ctx, rl, a, true); err != nil {
		return err
	}
	ch := code.ChannelEmail
	if Kind(f.Get(stateKind)) == KindPhone {
		ch = code.ChannelSMS
	}
	if f.Get(stateTaken) == "1" {
		return s.Kit.SendCode(ctx, f, rl, nil, purposeNeverRight, ch, f.Identifier, message.TemplateContactCode)
	}
	return s.Kit.SendCode(ctx, f, rl, a, code.PurposeContact, ch, f.Identifier, message.TemplateContactCode)
}

// current is a's identifier of kind.
func current(a *account.Account, kind Kind) string {
	if kind == KindPhone {
		return a.Phone
	}
	return a.Email
}

// set makes v (verified at, or nil) a's identifier of kind.
func set(a *account.Account, kind Kind, v string, verified *time.Time) {
	if kind == KindPhone {
		a.Phone, a.PhoneVerifiedAt = v, verified
		return
	}
	a.Email, a.EmailVerifiedAt = v, verified
}

// verified reports whether a's identifier of kind is verified.
func verified(a *account.Account, kind Kind) bool {
	if kind == KindPhone {
		return a.Phone != "" && a.PhoneVerifiedAt != nil
	}
	return a.Email != "" && a.EmailVerifiedAt != nil
}

// Act applies submit_code and resend_code. A request that does not carry
// the session the flow belongs to is ninsho.CodeFlowNotFound.
func (s *Service) Act(ctx context.Context, f *flow.Flow, req ninsho.Request, act flow.Action) (*flow.Answer, error) {
	rl := s.Realms.ByID(f.Realm)
	if rl == nil {
		return nil, ninsho.E(ninsho.CodeFlowNotFound)
	}
	if err := s.Visible(ctx, f, req); err != nil {
		return nil, err
	}
	switch {
	case act.Name == flow.ActionSubmitCode && f.Step == flow.StepVerificationCode:
		return s.submitCode(ctx, rl, f, req, act.Code)
	case act.Name == flow.ActionResendCode && f.Step == flow.StepVerificationCode:
		return s.resend(ctx, rl, f)
	}
	return s.answer(f), ninsho.FieldError(ninsho.CodeActionUnknown, "action")
}

// View describes f as it stands.
func (s *Service) View(_ context.Context, f *flow.Flow) (*flow.Answer, error) {
	return s.answer(f), nil
}

// Visible lets only the session that started f see it (flow.Guarded).
func (s *Service) Visible(ctx context.Context, f *flow.Flow, req ninsho.Request) error {
	rl := s.Realms.ByID(f.Realm)
	if rl == nil || req.SessionToken == "" {
		return ninsho.E(ninsho.CodeFlowNotFound)
	}
	p, err := s.Signin.Authenticate(ctx, rl, req.SessionToken)
	if ninsho.IsCode(err, ninsho.CodeUnauthenticated) {
		return ninsho.E(ninsho.CodeFlowNotFound)
	}
	if err != nil {
		return err
	}
	if p.Session.ID != f.Get(stateSession) || p.Account.ID != f.AccountID {
		return ninsho.E(ninsho.CodeFlowNotFound)
	}
	return nil
}

// KindOf returns the kind of identifier f changes.
func KindOf(f *flow.Flow) Kind { return Kind(f.Get(stateKind)) }

// MovesTwoStep reports whether f's phone number is also the account's
// two-step number, which moves with it.
func MovesTwoStep(f *flow.Flow) bool { return f.Get(stateMoves) == "1" }

func (s *Service) answer(f *flow.Flow) *flow.Answer {
	ans := &flow.Answer{Flow: f}
	if f.Status == flow.StatusComplete || f.Status == flow.StatusFailed {
		return ans
	}
	ans.Next = s.Kit.CodeNext(f, s.Realms.ByID(f.Realm), nil)
	ans.Next.MovesTwoStep = MovesTwoStep(f)
	return ans
}

func (s *Service) resend(ctx context.Context, rl *realm.Realm, f *flow.Flow) (*flow.Answer, error) {
	k := s.Kit
	err := k.Tx.InTx(ctx, func(ctx context.Context) error {
		a, err := k.Accounts.Account(ctx, f.AccountID)
		if err != nil {
			return err
		}
		if err := s.send(ctx, rl, f, a); err != nil {
			return err
		}
		return k.Save(ctx, f)
	})
	if err == nil {
		k.Outbox.Wake()
	}
	return s.answer(f), err
}

// submitCode checks the code. The right one makes the new address the
// account's, verified now (an address another confirmed account took
// meanwhile is identifier_taken and fails the flow; an unconfirmed sign-up
// holding it is deleted), moves the two-step number with a
// phone number, keeps the change for its undo link, alerts the old address
// and records contact.changed; the flow completes with the account's
// identifiers.
func (s *Service) submitCode(ctx context.Context, rl *realm.Realm, f *flow.Flow, req ninsho.Request, input string) (*flow.Answer, error) {
	k := s.Kit
	var stepErr error
	var a *account.Account
	err := k.Tx.InTx(ctx, func(ctx context.Context) error {
		_, serr, err := k.CheckCode(ctx, f, code.PurposeContact, input)
		if err != nil || serr != nil {
			stepErr = serr
			return err
		}
		kind := KindOf(f)
		if a, err = s.Store.HeldAccount(ctx, f.AccountID); err != nil {
			return err
		}
		holder, err := k.AccountFor(ctx, rl, identifier.Normalized(f.Identifier))
		if err != nil && !ninsho.IsCode(err, ninsho.CodeAccountNotFound) {
			return err
		}
		if holder != nil && holder.ID != a.ID && holder.Status == account.StatusPending {
			// The code proved the address: an unconfirmed sign-up holding
			// it loses it.
			if _, err := k.Accounts.DeletePendingAccount(ctx, holder.ID); err != nil {
				return err
			}
			holder = nil
		}
		if holder != nil && holder.ID != a.ID {
			f.Status = flow.StatusFailed
			stepErr = ninsho.FieldError(ninsho.CodeIdentifierTaken, string(kind))
			return k.Save(ctx, f)
		}
		now := k.Clock.Now()
		old, oldVerified := current(a, kind), verified(a, kind)
		set(a, kind, f.Identifier, &now)
		a.UpdatedAt = now
		if err := k.Accounts.UpdateAccount(ctx, a); err != nil {
			return err
		}
		moved := 0
		if kind == KindPhone && k.TwoStep != nil {
			if moved, err = k.TwoStep.MovePhone(ctx, rl, req, a, old, f.Identifier); err != nil {
				return err
			}
		}
		ch := &Change{
			ID: ninsho.NewID(k.Clock, k.Random), Realm: rl.ID, AccountID: a.ID, Kind: kind,
			OldValue: old, NewValue: f.Identifier, MovedTwoStep: moved > 0,
			CreatedAt: now, ExpiresAt: now.Add(UndoLifetime),
		}
		if err := s.Store.AddContactChange(ctx, ch); err != nil {
			return err
		}
		f.Status, f.Step = flow.StatusComplete, flow.StepDone
		if err := k.Save(ctx, f); err != nil {
			return err
		}
		if err := k.Record(ctx, rl, a.ID, event.TypeContactChanged, req, f.DeviceID, map[string]any{
			"flow": f.ID, "change": ch.ID, "kind": string(kind), "added": ch.Added(), "two_step_moved": moved > 0,
		}); err != nil {
			return err
		}
		return s.alert(ctx, rl, f, a, req, ch, alertDests(a, ch, oldVerified))
	})
	if err != nil {
		return s.answer(f), err
	}
	if stepErr != nil {
		return s.answer(f), stepErr
	}
	s.Signin.ForgetAccount(a.ID)
	k.Outbox.Wake()
	ans := s.answer(f)
	ans.AccountID = a.ID
	ans.Contact = &flow.Contact{Email: a.Email, Phone: a.Phone}
	return ans, nil
}
