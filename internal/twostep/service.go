package twostep

import (
	"context"
	"github.com/ninsho/ninsho/internal/session"
	"strings"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/backupcode"
	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/identifier"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/secret"
	"github.com/ninsho/ninsho/internal/totp"
)

// QRSize is the width and height in pixels of the enrolment QR code.
const QRSize = 256

// CheckBackupCode is the method name Check takes for a backup code (backup
// codes are not a credential Method).
const CheckBackupCode = "backup_code"

// Service holds the rules of two-step verification on an account: enrolling
// and proving an authenticator app, backup codes, the second-factor check of
// a sign-in, listing and removing methods and choosing the preferred one.
// Every change is an event (who, when, from where).
//
// Every change but the preferred method is also told to the owner through
// Alert (Notify), in the change's transaction. A policy that requires 2SV
// (the realm's, or an organisation's through MemberRequires) is enforced
// by Remove and TurnOff (required.go); the recent-authentication rule for
// changes is not, the callers (the account pages and API) check it.
//
// All fields are required except Guard (nil counts no wrong codes) and
// Alert (nil sends no alerts).
type Service struct {
	Tx     ninsho.TxRunner
	Clock  ninsho.Clock
	Random ninsho.Random
	Store  Store
	Backup BackupStore
	Events event.Store
	// Box seals TOTP secrets; Hasher keys the backup-code hashes.
	Box    *secret.Box
	Hasher *secret.Hasher
	// Guard is the account's wrong-code guard, shared with every flow's
	// verification codes.
	Guard *code.Guard
	// TurnedOff, if set, is called in the transaction that turns 2SV off
	// for accountID (a two-step reset): the devices trusted to skip the
	// second factor are forgotten there (authflow.Kit.ForgetTrusted).
	TurnedOff func(ctx context.Context, rl *realm.Realm, req ninsho.Request, accountID string) error
	// Alert tells the owner of every change (Notify); nil tells nothing.
	Alert Alerter
	// Phone sends the codes of the SMS and voice-call methods (phone.go);
	// nil: those methods cannot be enrolled.
	Phone *Phone
	// Passkeys is the WebAuthn relying party (internal/passkey); nil: no
	// passkeys (their calls are ninsho.CodeNotFound).
	Passkeys RelyingParty
	// MemberRequires, if set, reports whether an organisation the account
	// belongs to requires 2SV (org.Service.PolicyFor): like the realm's
	// two_step.required_for, it refuses turning 2SV off and removing the
	// last method (required.go). nil: no organisation requires it.
	MemberRequires func(ctx context.Context, realm, accountID string) (bool, error)
}

// Enrolment is what the person needs to add the authenticator app: shown
// once, while the credential is not proved yet.
type Enrolment struct {
	CredentialID string
	Secret       string // base32, for people who type it
	Grouped      string // Secret in groups of four
	URL          string // otpauth:// URL
	PNG          []byte // the URL's QR code
}

// Proved is the result of proving a method.
type Proved struct {
	// TurnedOn says this proof turned 2SV on (it was the first method).
	TurnedOn bool
	// HasBackupCodes says the account has unused backup codes; when not,
	// the caller should strongly offer them (or a second method).
	HasBackupCodes bool
	// Method is the kind of the method proved.
	Method Method
	// SessionMethod is the session method (RFC 8176) of the factor just
	// proved: a session that proved it has shown that factor
	// (signin.Service.Elevate).
	SessionMethod string
}

// MethodInfo describes one proved method for the account's owner.
type MethodInfo struct {
	ID         string
	Kind       Method
	Label      string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	Preferred  bool
	// Phone is the E.164 number of an SMS or voice method, "" otherwise.
	Phone string
}

// sealAD is the associated data a TOTP secret is sealed with: the realm,
// the account and the credential, so that a sealed blob moved to another
// row or account does not open.
func sealAD(realm, accountID, credentialID string) []byte {
	return []byte("twostep.totp\x00" + realm + "\x00" + accountID + "\x00" + credentialID)
}

// accountLabel is the account as people read its identifier: the e-mail
// address, else the phone number.
func accountLabel(rl *realm.Realm, a *account.Account) string {
	v := a.Email
	if v == "" {
		v = a.Phone
	}
	return identifier.Display(identifier.Normalized(v), rl.PhoneRegion)
}

// BeginTOTP adds a new, unproved authenticator-app credential to a (an
// earlier unfinished one is replaced) and returns what the app needs: the
// secret, sealed at rest and bound to the credential and account, in an
// otpauth URL whose issuer is the realm's name and whose account is the
// identifier as people read it. It does not count as a method until
// ProveTOTP.
func (s *Service) BeginTOTP(ctx context.Context, rl *realm.Realm, req ninsho.Request, a *account.Account) (*Enrolment, error) {
	return s.BeginLabeledTOTP(ctx, rl, req, a, "")
}

// BeginLabeledTOTP is BeginTOTP with the label the person gives the app
// (CheckLabel: at most MaxLabel characters, no control characters).
func (s *Service) BeginLabeledTOTP(ctx context.Context, rl *realm.Realm, req ninsho.Request, a *account.Account, label string) (*Enrolment, error) {
	label, err := CheckLabel(label)
	if err != nil {
		return nil, err
	}
	sec := totp.NewSecret(s.Random)
	u := totp.URL(rl.Name, accountLabel(rl, a), sec)
	img, err := totp.PNG(u, QRSize)
	if err != nil {
		return nil, ninsho.Internal("twostep: QR code").Wrap(err)
	}
	c := &Credential{
		ID: ninsho.NewID(s.Clock, s.Random), Realm: rl.ID, AccountID: a.ID, Method: MethodTOTP,
		Label: label, CreatedAt: s.Clock.Now(),
	}
	if c.Sealed, err = s.Box.Seal([]byte(sec), sealAD(rl.ID, a.ID, c.ID)); err != nil {
		return nil, ninsho.Internal("twostep: seal").Wrap(err)
	}
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.Store.AddCredential(ctx, c); err != nil {
			return err
		}
		return s.record(ctx, rl, a.ID, event.TypeTwoStepEnrolStarted, req, map[string]any{"credential": c.ID, "method": string(MethodTOTP)})
	})
	if err != nil {
		return nil, err
	}
	return &Enrolment{CredentialID: c.ID, Secret: sec, Grouped: totp.Grouped(sec), URL: u, PNG: img}, nil
}

// ProveTOTP proves the unproved authenticator-app credential id of a with a
// code from the app (totp.Verify against the account's replay guard, which
// it advances). A wrong code proves nothing (ninsho.CodeTOTPIncorrect); an
// unknown, proved or other credential is ninsho.CodeNotFound. The first
// proved method turns 2SV on and becomes the preferred one.
func (s *Service) ProveTOTP(ctx context.Context, rl *realm.Realm, req ninsho.Request, a *account.Account, id, typed string) (*Proved, error) {
	out := &Proved{Method: MethodTOTP, SessionMethod: session.MethodOTP}
	var refused error
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		creds, err := s.Store.Credentials(ctx, rl.ID, a.ID)
		if err != nil {
			return err
		}
		c, err := credentialByID(creds, id, func(c *Credential) bool { return c.Method == MethodTOTP && !c.Proved() })
		if err != nil {
			return err
		}
		st, err := s.Store.State(ctx, rl.ID, a.ID)
		if err != nil {
			return err
		}
		sec, err := s.open(rl.ID, a.ID, c)
		if err != nil {
			return err
		}
		g, err := s.allow(ctx, rl, a)
		if err != nil {
			return err
		}
		now := s.Clock.Now()
		step, err := totp.Verify(sec, typed, now, st.TOTPLastStep)
		if ninsho.IsCode(err, ninsho.CodeTOTPIncorrect) {
			// A wrong code counts against the account's guard, and the
			// count is kept (this transaction commits).
			refused = err
			return s.fail(ctx, rl, a)
		}
		if err != nil {
			return err
		}
		if ok, err := s.Store.AdvanceTOTPStep(ctx, rl.ID, a.ID, step, now); err != nil {
			return err
		} else if !ok {
			return ninsho.FieldError(ninsho.CodeTOTPReused, "code")
		}
		if err := s.succeed(ctx, rl, a, g); err != nil {
			return err
		}
		if err := s.Store.ProveCredential(ctx, rl.ID, a.ID, c.ID, now); err != nil {
			return err
		}
		return s.provedMethod(ctx, rl, req, a, c, now, out)
	})
	if err != nil {
		return nil, err
	}
	if refused != nil {
		return nil, refused
	}
	return out, nil
}

// provedMethod records that a's credential c was proved at now and, when
// it is a's first method, turns 2SV on with c preferred (enableWith), and
// alerts the owner (turned on, or method added), in the transaction of
// ctx: the tail of every method's proof.
func (s *Service) provedMethod(ctx context.Context, rl *realm.Realm, req ninsho.Request, a *account.Account, c *Credential, now time.Time, out *Proved) error {
	if err := s.record(ctx, rl, a.ID, event.TypeTwoStepMethodAdded, req, map[string]any{"credential": c.ID, "method": string(c.Method)}); err != nil {
		return err
	}
	st, err := s.Store.State(ctx, rl.ID, a.ID)
	if err != nil {
		return err
	}
	if err := s.enableWith(ctx, rl, req, a, &st, c, now, out); err != nil {
		return err
	}
	change := ChangeMethodAdded
	if out.TurnedOn {
		change = ChangeTurnedOn
	}
	return s.Notify(ctx, rl, req, a, change, c.Method)
}

// enableWith turns 2SV on with c preferred when st (a's state) is off, and
// says so in out (TurnedOn), and whether a has backup codes left
// (HasBackupCodes).
func (s *Service) enableWith(ctx context.Context, rl *realm.Realm, req ninsho.Request, a *account.Account, st *State, c *Credential, now time.Time, out *Proved) error {
	if !st.Enabled {
		st.Enabled, st.Preferred, st.UpdatedAt = true, c.ID, now
		if err := s.Store.SetState(ctx, *st); err != nil {
			return err
		}
		out.TurnedOn = true
		if err := s.record(ctx, rl, a.ID, event.TypeTwoStepEnabled, req, map[string]any{"credential": c.ID, "method": string(c.Method)}); err != nil {
			return err
		}
	}
	left, err := s.Backup.BackupCodesLeft(ctx, rl.ID, a.ID)
	if err != nil {
		return err
	}
	out.HasBackupCodes = left > 0
	return nil
}

// RegenerateBackupCodes replaces every backup code of a with BackupCodeCount
// new ones and returns them formatted for display (shown once: only keyed
// hashes bound to the account are stored). The old codes stop working.
func (s *Service) RegenerateBackupCodes(ctx context.Context, rl *realm.Realm, req ninsho.Request, a *account.Account) ([]string, error) {
	codes, err := backupcode.Generate(s.Random)
	if err != nil {
		return nil, ninsho.Internal("twostep: backup codes").Wrap(err)
	}
	hashes := make([][]byte, len(codes))
	shown := make([]string, len(codes))
	for i, c := range codes {
		hashes[i] = backupcode.Hash(s.Hasher, a.ID, c)
		shown[i] = backupcode.Format(c)
	}
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.Backup.ReplaceBackupCodes(ctx, rl.ID, a.ID, hashes, s.Clock.Now()); err != nil {
			return err
		}
		if err := s.record(ctx, rl, a.ID, event.TypeTwoStepBackupCodes, req, map[string]any{"count": len(codes)}); err != nil {
			return err
		}
		return s.Notify(ctx, rl, req, a, ChangeBackupCodes, "")
	})
	if err != nil {
		return nil, err
	}
	return shown, nil
}

// BackupCodesLeft counts a's unused backup codes.
func (s *Service) BackupCodesLeft(ctx context.Context, rl *realm.Realm, a *account.Account) (int, error) {
	return s.Backup.BackupCodesLeft(ctx, rl.ID, a.ID)
}

// State returns a's 2SV state.
func (s *Service) State(ctx context.Context, rl *realm.Realm, a *account.Account) (State, error) {
	return s.Store.State(ctx, rl.ID, a.ID)
}

// Check is the second-factor check of a sign-in: method is MethodTOTP (a
// code from any of a's proved authenticator apps, checked at now) or
// CheckBackupCode (an unused backup code, used up by this call). It returns
// the session method name of the factor (session.MethodOTP, session.MethodBackup).
//
// TOTP and backup codes belong to the account, not to a flow: a wrong one
// counts against the account's wrong-code guard (shared with every flow's
// codes), which pauses the account's codes after repeated failures, so a
// new flow gives no new guesses; while paused, every answer is
// ninsho.CodeAccountLocked. An authenticator code of a step already
// accepted for the account, in whatever flow, is ninsho.CodeTOTPReused (not
// counted: it was right once). A wrong code is ninsho.CodeTOTPIncorrect or
// ninsho.CodeCodeIncorrect (kind backup_code, so that its message speaks of
// a backup code); its counted failure is committed. Any other
// method is ninsho.CodeNotFound.
func (s *Service) Check(ctx context.Context, rl *realm.Realm, a *account.Account, method, typed string, now time.Time) (string, error) {
	var used string
	var refused error
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		g, err := s.Guard.AllowAccount(ctx, rl.ID, a.ID)
		if err != nil {
			if ninsho.IsCode(err, ninsho.CodeAccountLocked) {
				refused = err
				return nil
			}
			return err
		}
		switch method {
		case string(MethodTOTP):
			used, refused, err = s.checkTOTP(ctx, rl, a, typed, now)
		case CheckBackupCode:
			used, refused, err = s.checkBackup(ctx, rl, a, typed, now)
		default:
			return ninsho.FieldError(ninsho.CodeNotFound, "method")
		}
		switch {
		case err != nil:
			return err
		case refused == nil:
			return s.Guard.SucceedAccount(ctx, rl.ID, a.ID, g)
		case ninsho.IsCode(refused, ninsho.CodeTOTPIncorrect), ninsho.IsCode(refused, ninsho.CodeCodeIncorrect):
			return s.Guard.FailAccount(ctx, rl.ID, a.ID)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	if refused != nil {
		return "", refused
	}
	return used, nil
}

func (s *Service) checkTOTP(ctx context.Context, rl *realm.Realm, a *account.Account, typed string, now time.Time) (string, error, error) {
	creds, err := s.Store.Credentials(ctx, rl.ID, a.ID)
	if err != nil {
		return "", nil, err
	}
	st, err := s.Store.State(ctx, rl.ID, a.ID)
	if err != nil {
		return "", nil, err
	}
	refused := error(ninsho.FieldError(ninsho.CodeTOTPIncorrect, "code"))
	for i := range creds {
		c := &creds[i]
		if c.Method != MethodTOTP || !c.Proved() {
			continue
		}
		sec, err := s.open(rl.ID, a.ID, c)
		if err != nil {
			return "", nil, err
		}
		step, verr := totp.Verify(sec, typed, now, st.TOTPLastStep)
		switch ninsho.CodeOf(verr) {
		case "":
			ok, err := s.Store.AdvanceTOTPStep(ctx, rl.ID, a.ID, step, now)
			if err != nil {
				return "", nil, err
			}
			if !ok { // accepted concurrently elsewhere
				return "", ninsho.FieldError(ninsho.CodeTOTPReused, "code"), nil
			}
			if err := s.Store.UseCredential(ctx, rl.ID, a.ID, c.ID, 0, now); err != nil {
				return "", nil, err
			}
			return session.MethodOTP, nil, nil
		case ninsho.CodeTOTPReused, ninsho.CodeFieldRequired:
			refused = verr
		case ninsho.CodeTOTPIncorrect:
		default:
			return "", nil, verr
		}
	}
	return "", refused, nil
}

func (s *Service) checkBackup(ctx context.Context, rl *realm.Realm, a *account.Account, typed string, now time.Time) (string, error, error) {
	if backupcode.Normalize(typed) == "" {
		return "", ninsho.FieldError(ninsho.CodeFieldRequired, "code"), nil
	}
	ok, err := s.Backup.UseBackupCode(ctx, rl.ID, a.ID, backupcode.Hash(s.Hasher, a.ID, typed), now)
	if err != nil {
		return "", nil, err
	}
	if !ok {
		// Kind backup_code: its message speaks of a backup code, not of a
		// verification code sent to the person (error.code_incorrect.backup_code).
		return "", ninsho.FieldError(ninsho.CodeCodeIncorrect, "code").WithParam("kind", CheckBackupCode), nil
	}
	return session.MethodBackup, nil, nil
}

// Methods lists a's proved methods, oldest first (an unproved credential is
// not a method).
func (s *Service) Methods(ctx context.Context, rl *realm.Realm, a *account.Account) ([]MethodInfo, error) {
	creds, err := s.Store.Credentials(ctx, rl.ID, a.ID)
	if err != nil {
		return nil, err
	}
	st, err := s.Store.State(ctx, rl.ID, a.ID)
	if err != nil {
		return nil, err
	}
	var out []MethodInfo
	for _, c := range creds {
		if c.Proved() {
			out = append(out, MethodInfo{ID: c.ID, Kind: c.Method, Label: c.Label, CreatedAt: c.CreatedAt, LastUsedAt: c.LastUsedAt, Preferred: c.ID == st.Preferred, Phone: c.Phone})
		}
	}
	return out, nil
}

// Remove deletes a's credential id (proved or not; an unknown one is
// ninsho.CodeNotFound). When it was the preferred method, the oldest
// remaining one becomes preferred. Removing the last proved method turns
// 2SV off and deletes the backup codes, which are no way in on their own.
// Where the realm requires 2SV of a's type (realm.Realm.TwoStepRequired),
// or an organisation of a's does (MemberRequires), removing the last
// proved method is refused with ninsho.CodeTwoStepRequired (field
// credential; kind "organisation" for an organisation's) and nothing
// changes.
func (s *Service) Remove(ctx context.Context, rl *realm.Realm, req ninsho.Request, a *account.Account, id string) error {
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		creds, err := s.Store.Credentials(ctx, rl.ID, a.ID)
		if err != nil {
			return err
		}
		var removed *Credential
		var left []Credential
		for i := range creds {
			switch {
			case creds[i].ID == id:
				removed = &creds[i]
			case creds[i].Proved():
				left = append(left, creds[i])
			}
		}
		if removed == nil {
			return ninsho.FieldError(ninsho.CodeNotFound, "credential")
		}
		if len(left) == 0 && removed.Proved() {
			if err := s.mustKeep(ctx, rl, a, ""); err != nil {
				return err
			}
		}
		st, err := s.Store.State(ctx, rl.ID, a.ID)
		if err != nil {
			return err
		}
		if err := s.Store.RemoveCredential(ctx, rl.ID, a.ID, id); err != nil {
			return err
		}
		now := s.Clock.Now()
		if err := s.record(ctx, rl, a.ID, event.TypeTwoStepMethodRemoved, req, map[string]any{"credential": id, "method": string(removed.Method)}); err != nil {
			return err
		}
		switch {
		case len(left) == 0 && st.Enabled:
			st.Enabled, st.Preferred, st.UpdatedAt = false, "", now
			if err := s.Store.SetState(ctx, st); err != nil {
				return err
			}
			if err := s.Backup.ReplaceBackupCodes(ctx, rl.ID, a.ID, nil, now); err != nil {
				return err
			}
			if s.TurnedOff != nil {
				if err := s.TurnedOff(ctx, rl, req, a.ID); err != nil {
					return err
				}
			}
			reason := "last_method_removed"
			if ctx.Value(quietKey{}) != nil {
				reason = "turned_off"
			}
			if err := s.record(ctx, rl, a.ID, event.TypeTwoStepDisabled, req, map[string]any{"reason": reason}); err != nil {
				return err
			}
			return s.Notify(ctx, rl, req, a, ChangeTurnedOff, removed.Method)
		case len(left) > 0 && st.Preferred == id:
			st.Preferred, st.UpdatedAt = left[0].ID, now
			if err := s.Store.SetState(ctx, st); err != nil {
				return err
			}
			if err := s.record(ctx, rl, a.ID, event.TypeTwoStepPreferred, req, map[string]any{"credential": left[0].ID, "method": string(left[0].Method)}); err != nil {
				return err
			}
		}
		if !removed.Proved() {
			return nil // an unfinished enrolment was no method
		}
		return s.Notify(ctx, rl, req, a, ChangeMethodRemoved, removed.Method)
	})
}

// SetPreferred makes a's proved credential id the method asked for first.
// An unknown or unproved one is ninsho.CodeNotFound.
func (s *Service) SetPreferred(ctx context.Context, rl *realm.Realm, req ninsho.Request, a *account.Account, id string) error {
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		creds, err := s.Store.Credentials(ctx, rl.ID, a.ID)
		if err != nil {
			return err
		}
		c, err := credentialByID(creds, id, (*Credential).Proved)
		if err != nil {
			return err
		}
		st, err := s.Store.State(ctx, rl.ID, a.ID)
		if err != nil {
			return err
		}
		if st.Preferred == id {
			return nil
		}
		st.Preferred, st.UpdatedAt = id, s.Clock.Now()
		if err := s.Store.SetState(ctx, st); err != nil {
			return err
		}
		return s.record(ctx, rl, a.ID, event.TypeTwoStepPreferred, req, map[string]any{"credential": id, "method": string(c.Method)})
	})
}

// open unseals c's TOTP secret.
func (s *Service) open(realm, accountID string, c *Credential) (string, error) {
	p, err := s.Box.Open(c.Sealed, sealAD(realm, accountID, c.ID))
	if err != nil {
		return "", ninsho.Internal("twostep: TOTP secret cannot be opened").Wrap(err)
	}
	return string(p), nil
}

// SealTOTPSecret seals a TOTP secret for credential id of accountID in
// realm, as BeginTOTP does (the associated data binds all three): for
// credentials made outside an enrolment (ninsho import).
func SealTOTPSecret(box *secret.Box, realm, accountID, id, sec string) ([]byte, error) {
	return box.Seal([]byte(sec), sealAD(realm, accountID, id))
}

// OpenTOTPSecret unseals a sealed TOTP secret of credential id of
// accountID in realm (the associated data binds all three); a blob of
// another credential or account fails with secret.ErrOpen.
func OpenTOTPSecret(box *secret.Box, realm, accountID, id string, sealed []byte) (string, error) {
	p, err := box.Open(sealed, sealAD(realm, accountID, id))
	return string(p), err
}

// record appends an event about accountID by its owner, with the request's
// who and where.
func (s *Service) record(ctx context.Context, rl *realm.Realm, accountID, typ string, req ninsho.Request, data map[string]any) error {
	return s.recordAs(ctx, rl, accountID, "", typ, req, data)
}

// recordAs is record by actor, or by the account's owner when actor is "".
func (s *Service) recordAs(ctx context.Context, rl *realm.Realm, accountID, actor, typ string, req ninsho.Request, data map[string]any) error {
	if actor == "" {
		actor = "account:" + accountID
	}
	ua := req.UserAgent
	if len(ua) > 512 {
		ua = strings.ToValidUTF8(ua[:512], "")
	}
	return s.Events.AppendEvent(ctx, &event.Event{
		ID: ninsho.NewID(s.Clock, s.Random), Realm: rl.ID, AccountID: accountID, Type: typ,
		Actor: actor, IP: req.IP, UserAgent: ua, RequestID: req.RequestID,
		Data: data, At: s.Clock.Now(),
	})
}

// credentialByID returns the credential of creds with the id that meets ok,
// or not_found (field credential): an id of another account, or one in the
// wrong state, is told like an unknown one.
func credentialByID(creds []Credential, id string, ok func(*Credential) bool) (*Credential, error) {
	for i := range creds {
		if c := &creds[i]; c.ID == id && ok(c) {
			return c, nil
		}
	}
	return nil, ninsho.FieldError(ninsho.CodeNotFound, "credential")
}
