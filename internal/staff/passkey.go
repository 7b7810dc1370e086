package staff

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/totp"
	"github.com/ninsho/ninsho/internal/twostep"
)

// A staff member may add passkeys as a second factor besides the
// authenticator app, which stays mandatory (it is the enrolment factor and
// the proof asked to remove a passkey). The WebAuthn relying party is the
// customers' one (twostep.RelyingParty, internal/passkey); the console
// gives it the site the page was served on (Site), so a passkey answers
// only on the host it was made for. Staff passkeys live apart from
// customers' (PasskeyStore), with their own user handle: a customer's
// passkey is never one of a staff member's.

// Passkey limits.
const (
	// PasskeyLimit is the most passkeys one staff member may have.
	PasskeyLimit = twostep.PasskeyLimit
	// PasskeyCeremonyFor is how long a passkey ceremony may be answered.
	PasskeyCeremonyFor = twostep.PasskeyCeremonyFor
)

// Event types of staff passkeys.
const (
	TypePasskeyAdded   = "staff.passkey_added"
	TypePasskeyRemoved = "staff.passkey_removed"
)

// Passkey is one staff passkey. CredentialID is the WebAuthn credential
// id, RPID the host it was made for, Sealed the relying party's data
// sealed by secret.Box (bound to the staff id and ID).
type Passkey struct {
	ID           string
	StaffID      string
	CredentialID []byte
	RPID         string
	Label        string
	Sealed       []byte
	SignCount    uint32
	CreatedAt    time.Time
	LastUsedAt   time.Time // zero: never
}

// PasskeyStore keeps staff passkeys and the running ceremony of each
// console session. Methods take part in the transaction carried by ctx.
type PasskeyStore interface {
	// AddStaffPasskey inserts p; ninsho.CodeConflict when its credential
	// id is stored already.
	AddStaffPasskey(ctx context.Context, p *Passkey) error
	// StaffPasskeys returns the staff member's passkeys, oldest first.
	StaffPasskeys(ctx context.Context, staffID string) ([]Passkey, error)
	// RemoveStaffPasskey deletes the staff member's passkey id, or
	// ninsho.CodeNotFound.
	RemoveStaffPasskey(ctx context.Context, staffID, id string) error
	// UseStaffPasskey stores the passkey's sign count and last use;
	// ninsho.CodeNotFound when there is no such passkey.
	UseStaffPasskey(ctx context.Context, staffID, id string, signCount uint32, at time.Time) error
	// PutStaffCeremony stores the sealed ceremony of the console session,
	// replacing any earlier one.
	PutStaffCeremony(ctx context.Context, sessionID string, sealed []byte, expires time.Time) error
	// TakeStaffCeremony returns the session's ceremony and deletes it, or
	// ninsho.CodeNotFound.
	TakeStaffCeremony(ctx context.Context, sessionID string) ([]byte, error)
}

// Site is the relying party of a console page: rl's public host (the RP
// ID) and base URL (the origin), named "Ninsho console" (the issuer).
func (s *Service) Site(rl *realm.Realm) *realm.Realm {
	return &realm.Realm{ID: rl.ID, PublicHost: rl.PublicHost, BaseURL: rl.BaseURL, Name: s.issuer()}
}

// Ceremony kinds.
const (
	ceremonyAdd    = "add"
	ceremonySignIn = "signin"
)

// ceremony is the sealed server half of a passkey ceremony.
type ceremony struct {
	Kind      string          `json:"k"`
	Session   json.RawMessage `json:"s"`
	ExpiresAt time.Time       `json:"e"`
}

func passkeyAD(staffID, id string) []byte {
	return []byte("staff.passkey\x00" + staffID + "\x00" + id)
}

func ceremonyAD(sessionID string) []byte { return []byte("staff.passkey.ceremony\x00" + sessionID) }

// PasskeyHandle is the WebAuthn user handle of a staff member: a keyed
// hash, opaque, never a customer's (twostep.UserHandle hashes another
// label).
func (s *Service) PasskeyHandle(staffID string) []byte {
	return s.Hasher.Hash("staff-passkey-user-handle", staffID)
}

func (s *Service) rp() (twostep.RelyingParty, error) {
	if s.RelyingParty == nil || s.PasskeyStore == nil {
		return nil, ninsho.E(ninsho.CodeNotFound)
	}
	return s.RelyingParty, nil
}

// passkeyUser is st as the relying party sees it, with its passkeys made
// for site's host.
func (s *Service) passkeyUser(site *realm.Realm, st *Staff, keys []Passkey) (*twostep.PasskeyUser, error) {
	u := &twostep.PasskeyUser{Handle: s.PasskeyHandle(st.ID), Name: st.Email}
	for i := range keys {
		k := &keys[i]
		if k.RPID != site.PublicHost {
			continue
		}
		data, err := s.Box.Open(k.Sealed, passkeyAD(st.ID, k.ID))
		if err != nil {
			return nil, ninsho.Internal("staff: passkey cannot be opened").Wrap(err)
		}
		u.Credentials = append(u.Credentials, twostep.StoredPasskey{ID: k.CredentialID, Data: data, SignCount: k.SignCount})
	}
	return u, nil
}

// Passkeys returns the staff member's passkeys, oldest first.
func (s *Service) Passkeys(ctx context.Context, staffID string) ([]Passkey, error) {
	if s.PasskeyStore == nil {
		return nil, nil
	}
	return s.PasskeyStore.StaffPasskeys(ctx, staffID)
}

// HasPasskey reports whether the staff member waiting for the second
// factor (pending token) has a passkey for site's host.
func (s *Service) HasPasskey(ctx context.Context, site *realm.Realm, pendingToken string) bool {
	if s.RelyingParty == nil || s.PasskeyStore == nil {
		return false
	}
	st, _, err := s.Pending(ctx, pendingToken)
	if err != nil {
		return false
	}
	keys, err := s.PasskeyStore.StaffPasskeys(ctx, st.ID)
	if err != nil {
		return false
	}
	for _, k := range keys {
		if k.RPID == site.PublicHost {
			return true
		}
	}
	return false
}

func (s *Service) putCeremony(ctx context.Context, sessionID, kind string, sess []byte) error {
	exp := s.Clock.Now().Add(PasskeyCeremonyFor)
	raw, err := json.Marshal(ceremony{Kind: kind, Session: sess, ExpiresAt: exp})
	if err != nil {
		return ninsho.Internal("staff: passkey ceremony").Wrap(err)
	}
	sealed, err := s.Box.Seal(raw, ceremonyAD(sessionID))
	if err != nil {
		return ninsho.Internal("staff: seal").Wrap(err)
	}
	return s.PasskeyStore.PutStaffCeremony(ctx, sessionID, sealed, exp)
}

// takeCeremony returns the session's ceremony of kind (single use): none,
// another kind or one past PasskeyCeremonyFor is passkey_failed.
func (s *Service) takeCeremony(ctx context.Context, sessionID, kind string) ([]byte, error) {
	sealed, err := s.PasskeyStore.TakeStaffCeremony(ctx, sessionID)
	if ninsho.IsCode(err, ninsho.CodeNotFound) {
		return nil, ninsho.FieldError(ninsho.CodePasskeyFailed, "credential")
	}
	if err != nil {
		return nil, err
	}
	raw, err := s.Box.Open(sealed, ceremonyAD(sessionID))
	if err != nil {
		return nil, ninsho.Internal("staff: passkey ceremony cannot be opened").Wrap(err)
	}
	var c ceremony
	if err := json.Unmarshal(raw, &c); err != nil || c.Kind != kind || len(c.Session) == 0 {
		return nil, ninsho.FieldError(ninsho.CodePasskeyFailed, "credential")
	}
	if !s.Clock.Now().Before(c.ExpiresAt) {
		return nil, ninsho.FieldError(ninsho.CodePasskeyFailed, "credential").WithParam("reason", "expired")
	}
	return c.Session, nil
}

func emptyResponse(response []byte) bool {
	t := bytes.TrimSpace(response)
	return len(t) == 0 || string(t) == "null"
}

// BeginAddPasskey starts adding a passkey for the signed-in staff member on
// site: it returns the creation options (PublicKeyCredentialCreationOptions
// JSON) and keeps the ceremony with the session for PasskeyCeremonyFor.
// The staff member's passkeys are excluded; a discoverable credential is
// preferred, not required (the console never signs in with a passkey
// alone). PasskeyLimit passkeys is passkey_limit.
func (s *Service) BeginAddPasskey(ctx context.Context, site *realm.Realm, p *Principal) (json.RawMessage, error) {
	rp, err := s.rp()
	if err != nil {
		return nil, err
	}
	keys, err := s.PasskeyStore.StaffPasskeys(ctx, p.Staff.ID)
	if err != nil {
		return nil, err
	}
	if len(keys) >= PasskeyLimit {
		return nil, ninsho.E(ninsho.CodePasskeyLimit).WithParam("max", PasskeyLimit)
	}
	u, err := s.passkeyUser(site, p.Staff, keys)
	if err != nil {
		return nil, err
	}
	options, sess, err := rp.BeginRegistration(site, u, false)
	if err != nil {
		return nil, err
	}
	if err := s.putCeremony(ctx, p.Session.ID, ceremonyAdd, sess); err != nil {
		return nil, err
	}
	return options, nil
}

// FinishAddPasskey verifies the browser's answer (PublicKeyCredential
// JSON) to the session's registration ceremony and stores the passkey
// with label (twostep.CleanLabel). An answer that does not verify, comes
// late or has no ceremony is passkey_failed; a passkey stored already is
// conflict. It records staff.passkey_added.
func (s *Service) FinishAddPasskey(ctx context.Context, site *realm.Realm, req ninsho.Request, p *Principal, label string, response []byte) (*Passkey, error) {
	rp, err := s.rp()
	if err != nil {
		return nil, err
	}
	if emptyResponse(response) {
		return nil, ninsho.FieldError(ninsho.CodeFieldRequired, "credential")
	}
	// The ceremony is used up whatever the answer: taken outside the
	// transaction, which a refusal rolls back.
	sess, err := s.takeCeremony(ctx, p.Session.ID, ceremonyAdd)
	if err != nil {
		return nil, err
	}
	var out *Passkey
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		keys, err := s.PasskeyStore.StaffPasskeys(ctx, p.Staff.ID)
		if err != nil {
			return err
		}
		if len(keys) >= PasskeyLimit {
			return ninsho.E(ninsho.CodePasskeyLimit).WithParam("max", PasskeyLimit)
		}
		u, err := s.passkeyUser(site, p.Staff, keys)
		if err != nil {
			return err
		}
		reg, err := rp.FinishRegistration(site, u, sess, response)
		if err != nil {
			return err
		}
		now := s.Clock.Now()
		k := &Passkey{ID: ninsho.NewID(s.Clock, s.Random), StaffID: p.Staff.ID, CredentialID: reg.ID, RPID: site.PublicHost,
			Label: twostep.CleanLabel(label), SignCount: reg.SignCount, CreatedAt: now}
		if k.Sealed, err = s.Box.Seal(reg.Data, passkeyAD(k.StaffID, k.ID)); err != nil {
			return ninsho.Internal("staff: seal").Wrap(err)
		}
		if err := s.PasskeyStore.AddStaffPasskey(ctx, k); err != nil {
			return err
		}
		out = k
		return s.record(ctx, p.Staff.Actor(), p.Staff.ID, TypePasskeyAdded, req, map[string]any{"passkey": k.ID, "rp_id": k.RPID})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RemovePasskey removes the signed-in staff member's passkey id after the
// authenticator app's current code (never accepted twice). A wrong code
// counts like one at sign-in (and pauses alike). An unknown id is
// not_found. It records staff.passkey_removed.
func (s *Service) RemovePasskey(ctx context.Context, req ninsho.Request, p *Principal, id, code string) error {
	st := p.Staff
	if err := s.admitAddress(ctx, req); err != nil {
		return err
	}
	if err := s.paused(ctx, req, st.Email, st); err != nil {
		return err
	}
	key, err := s.Box.Open(st.TOTPSealed, s.totpAD(st.ID))
	if err != nil {
		return ninsho.Internal("staff: open totp secret").Wrap(err)
	}
	now := s.Clock.Now()
	step, err := totp.Verify(string(key), code, now, st.TOTPLastStep)
	if ninsho.IsCode(err, ninsho.CodeFieldRequired) {
		return err
	}
	if err != nil {
		if ferr := s.countFailure(ctx, req, st.Email, st); ferr != nil {
			return ferr
		}
		return err
	}
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		keys, err := s.PasskeyStore.StaffPasskeys(ctx, st.ID)
		if err != nil {
			return err
		}
		found := false
		for _, k := range keys {
			found = found || k.ID == id
		}
		if !found {
			return ninsho.E(ninsho.CodeNotFound)
		}
		cur, err := s.Store.Staff(ctx, st.ID)
		if err != nil {
			return err
		}
		if step <= cur.TOTPLastStep {
			return ninsho.FieldError(ninsho.CodeTOTPReused, "code")
		}
		cur.TOTPLastStep = step
		if err := s.Store.UpdateStaff(ctx, cur); err != nil {
			return err
		}
		if err := s.PasskeyStore.RemoveStaffPasskey(ctx, st.ID, id); err != nil {
			return err
		}
		return s.record(ctx, st.Actor(), st.ID, TypePasskeyRemoved, req, map[string]any{"passkey": id})
	})
}

// BeginPasskeySignIn starts the passkey second factor for the session that
// waits for it (pendingToken): request options that allow only that staff
// member's passkeys made for site's host (never a discoverable sign-in).
// None is not_found (field method).
func (s *Service) BeginPasskeySignIn(ctx context.Context, site *realm.Realm, req ninsho.Request, pendingToken string) (json.RawMessage, error) {
	rp, err := s.rp()
	if err != nil {
		return nil, err
	}
	st, pending, err := s.Pending(ctx, pendingToken)
	if err != nil {
		return nil, err
	}
	if err := s.admitAddress(ctx, req); err != nil {
		return nil, err
	}
	if err := s.paused(ctx, req, st.Email, st); err != nil {
		return nil, err
	}
	keys, err := s.PasskeyStore.StaffPasskeys(ctx, st.ID)
	if err != nil {
		return nil, err
	}
	u, err := s.passkeyUser(site, st, keys)
	if err != nil {
		return nil, err
	}
	if len(u.Credentials) == 0 {
		return nil, ninsho.FieldError(ninsho.CodeNotFound, "method")
	}
	options, sess, err := rp.BeginLogin(site, u)
	if err != nil {
		return nil, err
	}
	if err := s.putCeremony(ctx, pending.ID, ceremonySignIn, sess); err != nil {
		return nil, err
	}
	return options, nil
}

// PasskeySignIn is the passkey second factor: response must answer the
// waiting session's ceremony (BeginPasskeySignIn, single use) with one of
// the staff member's passkeys. It returns the token of the signed-in
// session as SecondFactor does. Another's passkey is passkey_unknown; an
// answer that does not verify, comes late, or whose signature counter did
// not move forward (a possible clone) is passkey_failed; both count like a
// wrong code.
func (s *Service) PasskeySignIn(ctx context.Context, site *realm.Realm, req ninsho.Request, pendingToken string, response []byte) (string, *Staff, error) {
	rp, err := s.rp()
	if err != nil {
		return "", nil, err
	}
	st, pending, err := s.Pending(ctx, pendingToken)
	if err != nil {
		return "", nil, err
	}
	if err := s.admitAddress(ctx, req); err != nil {
		return "", nil, err
	}
	if err := s.paused(ctx, req, st.Email, st); err != nil {
		return "", nil, err
	}
	if emptyResponse(response) {
		return "", nil, ninsho.FieldError(ninsho.CodeFieldRequired, "credential")
	}
	now := s.Clock.Now()
	var (
		used   *Passkey
		method string
	)
	// The ceremony is used up whatever the answer: taken outside the
	// transaction, which a refusal rolls back.
	sess, verr := s.takeCeremony(ctx, pending.ID, ceremonySignIn)
	if verr == nil {
		verr = s.Tx.InTx(ctx, func(ctx context.Context) error {
			return s.verifyPasskey(ctx, rp, site, st, sess, response, now, &used, &method)
		})
	}
	if ninsho.IsCode(verr, ninsho.CodePasskeyFailed) || ninsho.IsCode(verr, ninsho.CodePasskeyUnknown) {
		if ferr := s.countFailure(ctx, req, st.Email, st); ferr != nil {
			return "", nil, ferr
		}
		return "", nil, s.failed(ctx, req, st, "passkey", verr)
	}
	if verr != nil {
		return "", nil, verr
	}
	var token string
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		cur, err := s.Store.Staff(ctx, st.ID)
		if err != nil {
			return err
		}
		cur.LastSignInAt = now
		if err := s.Store.UpdateStaff(ctx, cur); err != nil {
			return err
		}
		st = cur
		token, err = s.startSession(ctx, cur, pending.ID, req, now, map[string]any{
			"methods": []string{"pwd", method}, "method": "passkey", "passkey": used.ID})
		return err
	})
	if err != nil {
		return "", nil, err
	}
	return token, st, nil
}

// verifyPasskey checks an assertion for the ceremony sess against st's
// passkeys for site's host and stores the passkey's use; it sets used and
// method.
func (s *Service) verifyPasskey(ctx context.Context, rp twostep.RelyingParty, site *realm.Realm, st *Staff, sess, response []byte, now time.Time, used **Passkey, method *string) error {
	keys, err := s.PasskeyStore.StaffPasskeys(ctx, st.ID)
	if err != nil {
		return err
	}
	u, err := s.passkeyUser(site, st, keys)
	if err != nil {
		return err
	}
	got, err := rp.FinishLogin(site, u, false, sess, response)
	if err != nil {
		return err
	}
	if got.CloneWarning {
		return ninsho.FieldError(ninsho.CodePasskeyFailed, "credential").WithParam("reason", "sign_count")
	}
	for i := range keys {
		if k := &keys[i]; bytes.Equal(k.CredentialID, got.ID) && k.RPID == site.PublicHost {
			*used, *method = k, twostep.PasskeyMethod(got.BackupEligible)
			return s.PasskeyStore.UseStaffPasskey(ctx, st.ID, k.ID, got.SignCount, now)
		}
	}
	return ninsho.FieldError(ninsho.CodePasskeyUnknown, "credential")
}
