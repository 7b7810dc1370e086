package twostep

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/secret"
	"github.com/ninsho/ninsho/internal/session"
)

// PasskeyLimit is the most passkeys one account may have.
const PasskeyLimit = 10

// PasskeyCeremonyFor is how long a passkey ceremony (the challenge of a
// registration or a sign-in) may be answered.
const PasskeyCeremonyFor = 5 * time.Minute

// PasskeyLabelMax is the longest label a passkey keeps, in characters.
const PasskeyLabelMax = 64

// RelyingParty is the WebAuthn relying party (internal/passkey implements
// it over go-webauthn, which reaches net/http and so stays an adapter).
// options are the JSON of PublicKeyCredentialCreationOptions or
// PublicKeyCredentialRequestOptions, as the browser's
// navigator.credentials.create/get take them under "publicKey"; session is
// the opaque ceremony state (the challenge) to hand back to the finishing
// call; response is the browser's PublicKeyCredential.toJSON(). A response
// that does not verify is ninsho.CodePasskeyFailed (field credential), a
// credential the user does not own ninsho.CodePasskeyUnknown. It never
// checks time: the service does, with its clock.
type RelyingParty interface {
	BeginRegistration(rl *realm.Realm, u *PasskeyUser, residentKey bool) (options, session []byte, err error)
	FinishRegistration(rl *realm.Realm, u *PasskeyUser, session, response []byte) (*Registered, error)
	// BeginLogin asks for a passkey of u (allowCredentials), or for any
	// discoverable passkey of the realm when u is nil.
	BeginLogin(rl *realm.Realm, u *PasskeyUser) (options, session []byte, err error)
	// AssertedID reads the credential id and user handle of an assertion
	// without verifying it (to find its account).
	AssertedID(response []byte) (id, userHandle []byte, err error)
	FinishLogin(rl *realm.Realm, u *PasskeyUser, discoverable bool, session, response []byte) (*Asserted, error)
}

// PasskeyUser is an account as the relying party sees it: an opaque user
// handle (never the e-mail address or the account id), a name to show in
// the browser's passkey picker, and the account's passkeys.
type PasskeyUser struct {
	Handle      []byte
	Name        string
	Credentials []StoredPasskey
}

// StoredPasskey is one passkey of a PasskeyUser: its WebAuthn id, the
// relying party's data about it (opened) and the last sign count.
type StoredPasskey struct {
	ID        []byte
	Data      []byte
	SignCount uint32
}

// Registered is a verified registration.
type Registered struct {
	ID             []byte
	Data           []byte // the relying party's data, sealed before it is stored
	SignCount      uint32
	BackupEligible bool // a synced (multi-device) passkey
	Platform       bool // made by the device's own authenticator
}

// Asserted is a verified assertion.
type Asserted struct {
	ID        []byte
	SignCount uint32
	// CloneWarning: the signature counter did not move forward (and is not
	// 0 on both sides).
	CloneWarning   bool
	BackupEligible bool
}

// PasskeyEnrolment is what the browser needs to create a passkey: the id of
// the unproved credential to finish, and the creation options.
type PasskeyEnrolment struct {
	CredentialID string
	Options      json.RawMessage
	ExpiresAt    time.Time
}

// PasskeyChallenge is a sign-in ceremony: Options go to the browser
// (navigator.credentials.get), Session stays with the server (a flow's
// state: it holds the challenge, which is not secret) until the answer.
type PasskeyChallenge struct {
	Options json.RawMessage
	Session string
}

// pendingPasskey is what an unproved passkey row keeps, sealed: the
// registration ceremony's state, its expiry and the label typed.
type pendingPasskey struct {
	Session   json.RawMessage `json:"session"`
	ExpiresAt time.Time       `json:"expires_at"`
	Label     string          `json:"label,omitempty"`
}

// ceremony is the server's half of a sign-in ceremony (PasskeyChallenge.Session).
type ceremony struct {
	Session   json.RawMessage `json:"s"`
	ExpiresAt time.Time       `json:"e"`
}

func passkeyAD(realm, accountID, credentialID string) []byte {
	return []byte("twostep.passkey\x00" + realm + "\x00" + accountID + "\x00" + credentialID)
}

func pendingAD(realm, accountID, credentialID string) []byte {
	return []byte("twostep.passkey.pending\x00" + realm + "\x00" + accountID + "\x00" + credentialID)
}

// UserHandle is the WebAuthn user handle of an account: a keyed hash of the
// realm and the account, opaque to anyone without the hash key, the same
// for every passkey of the account.
func UserHandle(h *secret.Hasher, realm, accountID string) []byte {
	return h.Hash("passkey-user-handle", realm, accountID)
}

// PasskeyMethod is the session method (RFC 8176) of a passkey: swk for a
// backup-eligible (synced) passkey, whose key leaves the device in
// software, hwk for a device-bound one.
func PasskeyMethod(backupEligible bool) string {
	if backupEligible {
		return session.MethodSWK
	}
	return session.MethodHWK
}

func (s *Service) rp() (RelyingParty, error) {
	if s.Passkeys == nil {
		return nil, ninsho.E(ninsho.CodeNotFound)
	}
	return s.Passkeys, nil
}

// passkeyUser builds a's PasskeyUser from creds (its proved passkeys,
// opened).
func (s *Service) passkeyUser(rl *realm.Realm, a *account.Account, creds []Credential) (*PasskeyUser, error) {
	u := &PasskeyUser{Handle: UserHandle(s.Hasher, rl.ID, a.ID), Name: accountLabel(rl, a)}
	for i := range creds {
		c := &creds[i]
		if c.Method != MethodPasskey || !c.Proved() {
			continue
		}
		data, err := s.Box.Open(c.Sealed, passkeyAD(rl.ID, a.ID, c.ID))
		if err != nil {
			return nil, ninsho.Internal("twostep: passkey cannot be opened").Wrap(err)
		}
		u.Credentials = append(u.Credentials, StoredPasskey{ID: c.PasskeyID, Data: data, SignCount: c.SignCount})
	}
	return u, nil
}

// CleanLabel trims a label typed for a method and cuts it to
// PasskeyLabelMax characters.
func CleanLabel(s string) string {
	s = strings.TrimSpace(strings.ToValidUTF8(s, ""))
	if utf8.RuneCountInString(s) > PasskeyLabelMax {
		s = string([]rune(s)[:PasskeyLabelMax])
	}
	return s
}

// BeginPasskey adds a new, unproved passkey credential to a (an earlier
// unfinished one is replaced) and returns the creation options: the user
// handle is UserHandle, the account's passkeys are excluded, a
// discoverable credential is required where the realm lets passkeys sign
// in on their own (preferred elsewhere), user verification is preferred.
// The ceremony's state is kept sealed in the unproved row for
// PasskeyCeremonyFor. An account with PasskeyLimit passkeys is
// ninsho.CodePasskeyLimit.
func (s *Service) BeginPasskey(ctx context.Context, rl *realm.Realm, req ninsho.Request, a *account.Account, label string) (*PasskeyEnrolment, error) {
	rp, err := s.rp()
	if err != nil {
		return nil, err
	}
	var out *PasskeyEnrolment
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		creds, err := s.Store.Credentials(ctx, rl.ID, a.ID)
		if err != nil {
			return err
		}
		if countPasskeys(creds) >= PasskeyLimit {
			return ninsho.E(ninsho.CodePasskeyLimit).WithParam("max", PasskeyLimit)
		}
		u, err := s.passkeyUser(rl, a, creds)
		if err != nil {
			return err
		}
		options, sess, err := rp.BeginRegistration(rl, u, rl.TwoStep.PasskeySignIn)
		if err != nil {
			return err
		}
		now := s.Clock.Now()
		c := &Credential{ID: ninsho.NewID(s.Clock, s.Random), Realm: rl.ID, AccountID: a.ID, Method: MethodPasskey, CreatedAt: now}
		p, err := json.Marshal(pendingPasskey{Session: sess, ExpiresAt: now.Add(PasskeyCeremonyFor), Label: CleanLabel(label)})
		if err != nil {
			return ninsho.Internal("twostep: passkey enrolment").Wrap(err)
		}
		if c.Sealed, err = s.Box.Seal(p, pendingAD(rl.ID, a.ID, c.ID)); err != nil {
			return ninsho.Internal("twostep: seal").Wrap(err)
		}
		if err := s.Store.AddCredential(ctx, c); err != nil {
			return err
		}
		out = &PasskeyEnrolment{CredentialID: c.ID, Options: options, ExpiresAt: now.Add(PasskeyCeremonyFor)}
		return s.record(ctx, rl, a.ID, event.TypeTwoStepEnrolStarted, req, map[string]any{"credential": c.ID, "method": string(MethodPasskey)})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func countPasskeys(creds []Credential) int {
	n := 0
	for _, c := range creds {
		if c.Method == MethodPasskey && c.Proved() {
			n++
		}
	}
	return n
}

// FinishPasskey verifies the browser's answer (response, the JSON of
// PublicKeyCredential) to the unproved passkey id of a and stores the
// passkey, proved at once: its WebAuthn id (unique in the realm), sign
// count and the relying party's data sealed with the associated data
// (realm, account, credential). label, when not blank, replaces the one
// given at BeginPasskey. An unknown, proved or other account's id is
// ninsho.CodeNotFound; an answer that does not verify, or that comes after
// PasskeyCeremonyFor, is ninsho.CodePasskeyFailed (the enrolment stays, to
// be begun again); a passkey registered already is ninsho.CodeConflict.
// The first proved method turns 2SV on and becomes the preferred one.
func (s *Service) FinishPasskey(ctx context.Context, rl *realm.Realm, req ninsho.Request, a *account.Account, id, label string, response []byte) (*Proved, error) {
	rp, err := s.rp()
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(response)) == 0 || string(bytes.TrimSpace(response)) == "null" {
		return nil, ninsho.FieldError(ninsho.CodeFieldRequired, "credential")
	}
	out := &Proved{}
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		creds, err := s.Store.Credentials(ctx, rl.ID, a.ID)
		if err != nil {
			return err
		}
		c, err := credentialByID(creds, id, func(c *Credential) bool { return c.Method == MethodPasskey && !c.Proved() })
		if err != nil {
			return err
		}
		if countPasskeys(creds) >= PasskeyLimit {
			return ninsho.E(ninsho.CodePasskeyLimit).WithParam("max", PasskeyLimit)
		}
		raw, err := s.Box.Open(c.Sealed, pendingAD(rl.ID, a.ID, c.ID))
		if err != nil {
			return ninsho.Internal("twostep: passkey enrolment cannot be opened").Wrap(err)
		}
		var p pendingPasskey
		if err := json.Unmarshal(raw, &p); err != nil {
			return ninsho.Internal("twostep: passkey enrolment").Wrap(err)
		}
		now := s.Clock.Now()
		if !now.Before(p.ExpiresAt) {
			return ninsho.FieldError(ninsho.CodePasskeyFailed, "credential").WithParam("reason", "expired")
		}
		u, err := s.passkeyUser(rl, a, creds)
		if err != nil {
			return err
		}
		reg, err := rp.FinishRegistration(rl, u, p.Session, response)
		if err != nil {
			return err
		}
		if l := CleanLabel(label); l != "" {
			p.Label = l
		}
		out.Method, out.SessionMethod = MethodPasskey, PasskeyMethod(reg.BackupEligible)
		done := &Credential{
			ID: c.ID, Realm: rl.ID, AccountID: a.ID, Method: MethodPasskey, Label: p.Label,
			PasskeyID: reg.ID, SignCount: reg.SignCount, CreatedAt: c.CreatedAt, ProvedAt: &now,
		}
		if done.Sealed, err = s.Box.Seal(reg.Data, passkeyAD(rl.ID, a.ID, c.ID)); err != nil {
			return ninsho.Internal("twostep: seal").Wrap(err)
		}
		if err := s.Store.RemoveCredential(ctx, rl.ID, a.ID, c.ID); err != nil {
			return err
		}
		if err := s.Store.AddCredential(ctx, done); err != nil {
			return err
		}
		return s.provedMethod(ctx, rl, req, a, done, now, out)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// BeginPasskeyCheck starts the second-factor ceremony for a: request
// options that allow only a's passkeys. An account without a passkey is
// ninsho.CodeNotFound.
func (s *Service) BeginPasskeyCheck(ctx context.Context, rl *realm.Realm, a *account.Account) (*PasskeyChallenge, error) {
	rp, err := s.rp()
	if err != nil {
		return nil, err
	}
	creds, err := s.Store.Credentials(ctx, rl.ID, a.ID)
	if err != nil {
		return nil, err
	}
	u, err := s.passkeyUser(rl, a, creds)
	if err != nil {
		return nil, err
	}
	if len(u.Credentials) == 0 {
		return nil, ninsho.FieldError(ninsho.CodeNotFound, "method")
	}
	options, sess, err := rp.BeginLogin(rl, u)
	if err != nil {
		return nil, err
	}
	return s.challenge(options, sess)
}

// BeginPasskeySignIn starts a passwordless sign-in ceremony in rl: request
// options with no allowCredentials, so that the browser offers the realm's
// discoverable passkeys.
func (s *Service) BeginPasskeySignIn(rl *realm.Realm) (*PasskeyChallenge, error) {
	rp, err := s.rp()
	if err != nil {
		return nil, err
	}
	options, sess, err := rp.BeginLogin(rl, nil)
	if err != nil {
		return nil, err
	}
	return s.challenge(options, sess)
}

func (s *Service) challenge(options, sess []byte) (*PasskeyChallenge, error) {
	c, err := json.Marshal(ceremony{Session: sess, ExpiresAt: s.Clock.Now().Add(PasskeyCeremonyFor)})
	if err != nil {
		return nil, ninsho.Internal("twostep: passkey ceremony").Wrap(err)
	}
	return &PasskeyChallenge{Options: options, Session: string(c)}, nil
}

func (s *Service) openCeremony(raw string, now time.Time) ([]byte, error) {
	var c ceremony
	if err := json.Unmarshal([]byte(raw), &c); err != nil || len(c.Session) == 0 {
		return nil, ninsho.FieldError(ninsho.CodePasskeyFailed, "credential")
	}
	if !now.Before(c.ExpiresAt) {
		return nil, ninsho.FieldError(ninsho.CodePasskeyFailed, "credential").WithParam("reason", "expired")
	}
	return c.Session, nil
}

// CheckPasskey is the passkey second factor of a sign-in: response must be
// an assertion, for the ceremony cer (BeginPasskeyCheck's Session), by one
// of a's passkeys. It returns the session method (PasskeyMethod). A
// passkey of another account is ninsho.CodePasskeyUnknown; an answer that
// does not verify, comes too late, or whose signature counter went
// backwards (a possible clone; not when both are 0) is
// ninsho.CodePasskeyFailed. The passkey's use and counter are stored.
func (s *Service) CheckPasskey(ctx context.Context, rl *realm.Realm, a *account.Account, cer string, response []byte, now time.Time) (string, error) {
	return s.assert(ctx, rl, a, false, cer, response, now)
}

// SignInWithPasskey verifies a passwordless sign-in's assertion (response)
// for the ceremony cer (BeginPasskeySignIn's Session) and returns the id of
// the account whose passkey answered and the session method. A passkey
// not registered in rl (or whose user handle is not its account's) is
// ninsho.CodePasskeyUnknown, which says nothing about accounts; the
// other refusals are those of CheckPasskey. The account's state is the
// caller's to judge.
func (s *Service) SignInWithPasskey(ctx context.Context, rl *realm.Realm, accounts func(ctx context.Context, id string) (*account.Account, error), cer string, response []byte, now time.Time) (*account.Account, string, error) {
	rp, err := s.rp()
	if err != nil {
		return nil, "", err
	}
	if len(bytes.TrimSpace(response)) == 0 || string(bytes.TrimSpace(response)) == "null" {
		return nil, "", ninsho.FieldError(ninsho.CodeFieldRequired, "credential")
	}
	id, handle, err := rp.AssertedID(response)
	if err != nil {
		return nil, "", err
	}
	c, err := s.Store.CredentialByPasskeyID(ctx, rl.ID, id)
	if ninsho.IsCode(err, ninsho.CodeNotFound) {
		return nil, "", ninsho.FieldError(ninsho.CodePasskeyUnknown, "credential")
	}
	if err != nil {
		return nil, "", err
	}
	if !secret.Equal(handle, UserHandle(s.Hasher, rl.ID, c.AccountID)) {
		return nil, "", ninsho.FieldError(ninsho.CodePasskeyUnknown, "credential")
	}
	a, err := accounts(ctx, c.AccountID)
	if err != nil {
		return nil, "", err
	}
	m, err := s.assert(ctx, rl, a, true, cer, response, now)
	if err != nil {
		return nil, "", err
	}
	return a, m, nil
}

func (s *Service) assert(ctx context.Context, rl *realm.Realm, a *account.Account, discoverable bool, cer string, response []byte, now time.Time) (string, error) {
	rp, err := s.rp()
	if err != nil {
		return "", err
	}
	if len(bytes.TrimSpace(response)) == 0 || string(bytes.TrimSpace(response)) == "null" {
		return "", ninsho.FieldError(ninsho.CodeFieldRequired, "credential")
	}
	sess, err := s.openCeremony(cer, now)
	if err != nil {
		return "", err
	}
	var method string
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		creds, err := s.Store.Credentials(ctx, rl.ID, a.ID)
		if err != nil {
			return err
		}
		u, err := s.passkeyUser(rl, a, creds)
		if err != nil {
			return err
		}
		got, err := rp.FinishLogin(rl, u, discoverable, sess, response)
		if err != nil {
			return err
		}
		if got.CloneWarning {
			return ninsho.FieldError(ninsho.CodePasskeyFailed, "credential").WithParam("reason", "sign_count")
		}
		for i := range creds {
			if c := &creds[i]; c.Method == MethodPasskey && c.Proved() && bytes.Equal(c.PasskeyID, got.ID) {
				method = PasskeyMethod(got.BackupEligible)
				return s.Store.UseCredential(ctx, rl.ID, a.ID, c.ID, got.SignCount, now)
			}
		}
		return ninsho.FieldError(ninsho.CodePasskeyUnknown, "credential")
	})
	if err != nil {
		return "", err
	}
	return method, nil
}
