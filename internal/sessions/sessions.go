// Package sessions holds the owner's view of where their account is signed
// in: the live sessions (sign out one, sign out every other), the familiar
// devices (forget one), and "this wasn't me" on an entry of the sign-in
// history. Every change is an event (who, when, from where: the session
// that did it in data "session"); no token or hash leaves the store.
package sessions

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/session"
)

// ListLimit bounds the sessions and the devices one list shows, newest
// (most recently used) first.
const ListLimit = 100

// Device is a familiar device of an account: one on which a sign-up or
// sign-in of the account completed (the account_device link).
type Device struct {
	ID        string // the device id (device.Device.ID)
	UserAgent string // as the browser introduced itself when first stored
	FirstAt   time.Time
	LastAt    time.Time // the last sign-in completed on it
	// LastIP is the address of the newest session of the account on the
	// device still kept, "" when none is.
	LastIP string
	// TrustedUntil is when its trust to skip the second factor ends, nil
	// when it is not trusted now.
	TrustedUntil *time.Time
}

// Store keeps what the owner's lists read and change. Methods see only the
// rows of one account of one realm: another account's rows are not found.
// They take part in the transaction carried by ctx.
type Store interface {
	// LiveSessions returns the account's sessions that are not revoked,
	// not past their absolute expiry at now and last seen after
	// idleSince, newest first, at most limit.
	LiveSessions(ctx context.Context, realm, accountID string, now, idleSince time.Time, limit int) ([]session.Session, error)
	// RevokeLiveSession revokes the account's live session id at now
	// (idleSince as in LiveSessions) and returns it; an unknown, ended or
	// other account's session is ninsho.CodeNotFound.
	RevokeLiveSession(ctx context.Context, realm, accountID, id string, now, idleSince time.Time) (*session.Session, error)
	// RevokeAccountSessions revokes every live session of the account
	// except the one with id except and returns how many
	// (session.Store's).
	RevokeAccountSessions(ctx context.Context, accountID, except string, t time.Time) (int, error)
	// RevokeDeviceSessions revokes every live session of the account on
	// deviceID at t and returns how many.
	RevokeDeviceSessions(ctx context.Context, accountID, deviceID string, t time.Time) (int, error)
	// FamiliarDevices returns the account's familiar devices, the most
	// recently signed-in first, at most limit; trust is read at now.
	FamiliarDevices(ctx context.Context, realm, accountID string, now time.Time, limit int) ([]Device, error)
	// ForgetFamiliarDevice deletes the account's link to deviceID (the
	// device row, which other accounts may use, stays) and its trusted
	// device rows for it; it reports whether a trust was deleted. A device
	// the account is not familiar with is ninsho.CodeNotFound.
	ForgetFamiliarDevice(ctx context.Context, realm, accountID, deviceID string) (trusted bool, err error)
	// AccountEvent returns the account's event id in realm, or
	// ninsho.CodeNotFound.
	AccountEvent(ctx context.Context, realm, accountID, id string) (*event.Event, error)
}

// Securer secures an account whose owner says "this wasn't me" about
// something done at since: the contact changes and two-step methods made
// at or after since rolled back, every session revoked, the account locked
// as suspicious, trusted devices forgotten, an unlock flow started
// (unlock.Service.SecureAccount). data goes into the account.locked event.
type Securer interface {
	SecureAccount(ctx context.Context, rl *realm.Realm, req ninsho.Request, accountID string, since time.Time, data map[string]any) (*flow.Answer, error)
}

// Service holds the rules. All fields but Forget and Secure are required.
type Service struct {
	Tx     ninsho.TxRunner
	Clock  ninsho.Clock
	Random ninsho.Random
	Store  Store
	Events event.Store
	// Policy is the sessions' life (idle expiry), as session.Service's.
	Policy session.Policy
	// Forget drops the account's cached sessions on this instance
	// (signin.Service.ForgetAccount); other instances refuse a revoked
	// session within signin.SessionCacheTTL. nil does nothing.
	Forget func(accountID string)
	// Secure applies "this wasn't me" (NotMe); nil: NotMe is not_found.
	Secure Securer
	// HistoryWindow is how far back an entry of the history can be
	// reported (signin.HistoryWindow); 0 means no limit.
	HistoryWindow time.Duration
}

// List returns the live sessions of the account of current, newest first,
// at most ListLimit.
func (s *Service) List(ctx context.Context, rl *realm.Realm, current *session.Session) ([]session.Session, error) {
	now := s.Clock.Now()
	return s.Store.LiveSessions(ctx, rl.ID, current.AccountID, now, now.Add(-s.Policy.Idle), ListLimit)
}

// SignOut revokes the live session id of the account of current (the
// current one too: that is a sign-out) and records EventSessionRevoked. An
// id of no live session of the account is ninsho.CodeNotFound (field
// session). It reports whether id was the current session. It is never
// refused by the settings budget (changebudget): signing out is the
// owner's remedy against a stolen session, and it writes an event only
// when a live session was revoked, which is bounded.
func (s *Service) SignOut(ctx context.Context, rl *realm.Realm, req ninsho.Request, current *session.Session, id string) (bool, error) {
	if !ninsho.ValidID(id) {
		return false, ninsho.FieldError(ninsho.CodeNotFound, "session")
	}
	now := s.Clock.Now()
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		gone, err := s.Store.RevokeLiveSession(ctx, rl.ID, current.AccountID, id, now, now.Add(-s.Policy.Idle))
		if ninsho.IsCode(err, ninsho.CodeNotFound) {
			return ninsho.FieldError(ninsho.CodeNotFound, "session")
		}
		if err != nil {
			return err
		}
		return s.record(ctx, rl, req, current, event.TypeSessionRevoked, map[string]any{
			"revoked": gone.ID, "current": gone.ID == current.ID,
		})
	})
	if err != nil {
		return false, err
	}
	s.forget(current.AccountID)
	return id == current.ID, nil
}

// SignOutOthers revokes every live session of the account of current but
// current itself, records EventSessionRevokedOthers and returns how many
// were revoked. When there was none, nothing changes: no event. It is
// never refused by the settings budget (see SignOut).
func (s *Service) SignOutOthers(ctx context.Context, rl *realm.Realm, req ninsho.Request, current *session.Session) (int, error) {
	var n int
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		if n, err = s.Store.RevokeAccountSessions(ctx, current.AccountID, current.ID, s.Clock.Now()); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		return s.record(ctx, rl, req, current, event.TypeSessionRevokedOthers, map[string]any{"count": n})
	})
	if err != nil {
		return 0, err
	}
	s.forget(current.AccountID)
	return n, nil
}

// Devices returns the familiar devices of the account of current, the most
// recently signed-in first, at most ListLimit.
func (s *Service) Devices(ctx context.Context, rl *realm.Realm, current *session.Session) ([]Device, error) {
	return s.Store.FamiliarDevices(ctx, rl.ID, current.AccountID, s.Clock.Now(), ListLimit)
}

// ForgetDevice forgets the familiar device deviceID of the account of
// current: it is no longer familiar (the next sign-in there is asked for
// a verification code), no longer trusted, and its sessions of the account
// are revoked (the current one too when it is this device); other accounts'
// links to the device stay. It records EventDeviceForgotten and returns
// how many sessions were revoked. A device the account is not familiar with
// is ninsho.CodeNotFound (field device). It is never refused by the
// settings budget (see SignOut): the event is written only when a familiar
// device was forgotten, which is bounded by the devices there are.
func (s *Service) ForgetDevice(ctx context.Context, rl *realm.Realm, req ninsho.Request, current *session.Session, deviceID string) (int, error) {
	if !ninsho.ValidID(deviceID) {
		return 0, ninsho.FieldError(ninsho.CodeNotFound, "device")
	}
	var n int
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		trusted, err := s.Store.ForgetFamiliarDevice(ctx, rl.ID, current.AccountID, deviceID)
		if ninsho.IsCode(err, ninsho.CodeNotFound) {
			return ninsho.FieldError(ninsho.CodeNotFound, "device")
		}
		if err != nil {
			return err
		}
		if n, err = s.Store.RevokeDeviceSessions(ctx, current.AccountID, deviceID, s.Clock.Now()); err != nil {
			return err
		}
		return s.record(ctx, rl, req, current, event.TypeDeviceForgotten, map[string]any{
			"device": deviceID, "sessions_revoked": n, "trusted": trusted,
		})
	})
	if err != nil {
		return 0, err
	}
	s.forget(current.AccountID)
	return n, nil
}

// NotMeTypes are the history entries that may not have been the owner and
// so carry "this wasn't me": sign-ins that succeeded and the changes of
// the account's security settings. Failed sign-ins, challenges, locks,
// alerts sent and sign-outs do not (nothing was gained there, or the
// owner's own safeguards did it). Other settings may add their events.
// An entry recorded by staff (event.ByStaff) never carries it.
var NotMeTypes = []string{
	event.TypeSigninSucceeded, event.TypePasswordChanged, event.TypeSessionReauthenticated,
	event.TypeTwoStepEnabled, event.TypeTwoStepDisabled, event.TypeTwoStepMethodAdded,
	event.TypeTwoStepMethodRemoved, event.TypeTwoStepPreferred, event.TypeTwoStepBackupCodes,
	event.TypeTrustedDeviceAdded, event.TypeTrustedDeviceRevoked,
	event.TypeSessionRevoked, event.TypeSessionRevokedOthers, event.TypeDeviceForgotten,
}

// CarriesNotMe reports whether the history entry e carries "this wasn't
// me" for the person signed in with current: its type is one of
// NotMeTypes, and it was not made by current — neither naming current in
// data "session" (the sign-in that made it, or the session that made the
// change) nor, when it names no session, recorded from current's device
// since current began. A trusted-device event cleared by the system is
// not one.
func CarriesNotMe(e *event.Event, current *session.Session) bool {
	if e == nil || current == nil || e.AccountID != current.AccountID || !slices.Contains(NotMeTypes, e.Type) {
		return false
	}
	if event.ByStaff(e) {
		return false // customer service did it, and the owner was told why
	}
	if sid, _ := e.Data["session"].(string); sid != "" {
		return sid != current.ID
	}
	sameDevice := e.DeviceID != "" && e.DeviceID == current.DeviceID
	return !(sameDevice && !e.At.Before(current.CreatedAt))
}

// NotMe applies "this wasn't me" to the history entry id of the account of
// current, as the alert link does (Securer): every change of the e-mail
// address or phone number and every two-step method made at or after the
// entry's time rolled back first, then every session revoked (the current
// one too), the account locked as suspicious, trusted devices forgotten,
// and an unlock flow started with a code to a verified channel (423
// account_locked, kind support, when none is left).
// An id of no entry of the account within HistoryWindow, or of one that
// does not carry the link (CarriesNotMe), is ninsho.CodeNotFound (field
// entry). It needs no recent sign-in: the owner must be able to act at
// once.
func (s *Service) NotMe(ctx context.Context, rl *realm.Realm, req ninsho.Request, current *session.Session, id string) (*flow.Answer, error) {
	e, err := s.Entry(ctx, rl, current, id)
	if err != nil {
		return nil, err
	}
	if s.Secure == nil {
		return nil, ninsho.E(ninsho.CodeNotFound)
	}
	return s.Secure.SecureAccount(ctx, rl, req, current.AccountID, e.At, map[string]any{
		"via": "history", "entry": e.ID, "session": current.ID,
	})
}

// Entry returns the history entry id of the account of current when it
// carries "this wasn't me", else ninsho.CodeNotFound (field entry).
func (s *Service) Entry(ctx context.Context, rl *realm.Realm, current *session.Session, id string) (*event.Event, error) {
	if !ninsho.ValidID(id) {
		return nil, ninsho.FieldError(ninsho.CodeNotFound, "entry")
	}
	e, err := s.Store.AccountEvent(ctx, rl.ID, current.AccountID, id)
	if ninsho.IsCode(err, ninsho.CodeNotFound) {
		return nil, ninsho.FieldError(ninsho.CodeNotFound, "entry")
	}
	if err != nil {
		return nil, err
	}
	if s.HistoryWindow > 0 && e.At.Before(s.Clock.Now().Add(-s.HistoryWindow)) || !CarriesNotMe(e, current) {
		return nil, ninsho.FieldError(ninsho.CodeNotFound, "entry")
	}
	return e, nil
}

func (s *Service) forget(accountID string) {
	if s.Forget != nil {
		s.Forget(accountID)
	}
}

// record appends an event of the owner's, made with the session current,
// from req.
func (s *Service) record(ctx context.Context, rl *realm.Realm, req ninsho.Request, current *session.Session, typ string, data map[string]any) error {
	data["session"] = current.ID
	ua := req.UserAgent
	if len(ua) > 512 {
		ua = strings.ToValidUTF8(ua[:512], "")
	}
	return s.Events.AppendEvent(ctx, &event.Event{
		ID: ninsho.NewID(s.Clock, s.Random), Realm: rl.ID, AccountID: current.AccountID, Type: typ,
		Actor: "account:" + current.AccountID, IP: req.IP, UserAgent: ua,
		DeviceID: current.DeviceID, RequestID: req.RequestID, Data: data, At: s.Clock.Now(),
	})
}
