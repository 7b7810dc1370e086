package staff

import (
	"context"
	"strings"
	"time"

	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/identifier"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/password"
	"github.com/ninsho/ninsho/internal/risk"
	"github.com/ninsho/ninsho/internal/secret"
	"github.com/ninsho/ninsho/internal/throttle"
	"github.com/ninsho/ninsho/internal/totp"
	"github.com/ninsho/ninsho/internal/twostep"
)

// Lifetimes and limits of the console. They are constants, the same for
// every realm: staff are not in a realm.
const (
	// EnrolLifetime is how long an enrolment link works.
	EnrolLifetime = 24 * time.Hour
	// SessionAbsolute is the longest a console session lasts.
	SessionAbsolute = 8 * time.Hour
	// SessionIdle ends a console session not used for this long.
	SessionIdle = 30 * time.Minute
	// PendingLifetime is how long a proved password waits for the
	// authenticator code.
	PendingLifetime = 5 * time.Minute
	// TouchInterval: a session's last use is written at most this often.
	TouchInterval = time.Minute
	// FailureWindow is the window of the failure counts.
	FailureWindow = 15 * time.Minute
	// FailuresBeforeLock wrong passwords or codes for one typed e-mail
	// address from one client network (/24 IPv4, /48 IPv6) in
	// FailureWindow pause that address's sign-in from that network until
	// the window moves on (at most LockFor). The address is counted
	// whether or not a staff account has it, so a pause tells nothing.
	FailuresBeforeLock = 5
	// LockFor is the longest a pause lasts.
	LockFor = 15 * time.Minute
	// EverywhereFailures wrong passwords or codes for one typed address
	// from all networks in EverywhereWindow pause its sign-in from every
	// network except those the staff member signed in from within
	// FamiliarFor.
	EverywhereFailures = 50
	// EverywhereWindow is the window of EverywhereFailures.
	EverywhereWindow = time.Hour
	// FamiliarFor is how long a network a staff member signed in from
	// stays familiar.
	FamiliarFor = 90 * 24 * time.Hour
	// AddressFailures wrong passwords or codes from one client address in
	// FailureWindow refuse its further attempts (rate_limited) until the
	// window moves on, before any hash is computed.
	AddressFailures = 20
	// TokenBytes is the size of enrolment and session tokens.
	TokenBytes = 32
)

// Event types of staff accounts (realm "", actor "staff:<id>").
const (
	TypeInvited         = "staff.invited"
	TypeEnrolled        = "staff.enrolled"
	TypeSigninSucceeded = "staff.signin.succeeded"
	TypeSigninFailed    = "staff.signin.failed"
	TypeLocked          = "staff.locked"
	TypeSignout         = "staff.signout"
	TypeRoleChanged     = "staff.role_changed"
	TypeDisabled        = "staff.disabled"
)

// Throttle families.
const (
	familyNetworkFailures = "staff.failures.network" // typed address and client network
	familyEmailFailures   = "staff.failures.email"   // typed address, every network
	familyAddressFailures = "staff.failures.address" // client address
	familyFamiliar        = "staff.familiar"         // staff id and network of a sign-in

)

// Service runs staff accounts: invitation, enrolment, sign-in with the
// authenticator app, console sessions and their management by admins.
type Service struct {
	Tx        ninsho.TxRunner
	Clock     ninsho.Clock
	Random    ninsho.Random
	Store     Store
	Sessions  SessionStore
	Events    event.Store
	Hasher    *secret.Hasher
	Box       *secret.Box
	Passwords *password.Hasher
	Policy    password.Policy
	Counter   *throttle.Counter
	// Issuer is the name the authenticator app shows; "" means
	// "Ninsho console".
	Issuer string
	// RelyingParty and PasskeyStore let staff add passkeys as a second
	// factor (passkey.go); nil: the authenticator app only.
	RelyingParty twostep.RelyingParty
	PasskeyStore PasskeyStore
}

// Principal is a signed-in staff member and the session.
type Principal struct {
	Staff   *Staff
	Session *Session
}

// Can reports whether the signed-in staff member may do perm.
func (p *Principal) Can(perm Permission) bool { return p != nil && Can(p.Staff.Role, perm) }

// Require returns ninsho.CodeForbidden unless the principal may do perm:
// the one guard every console page calls.
func (p *Principal) Require(perm Permission) error {
	if !p.Can(perm) {
		return ninsho.E(ninsho.CodeForbidden)
	}
	return nil
}

// ParseEmail normalises a staff e-mail address (NFKC, trimmed, lower
// case); anything else is identifier_invalid (field email).
func ParseEmail(raw string) (string, error) {
	if strings.TrimSpace(raw) == "" {
		return "", ninsho.FieldError(ninsho.CodeFieldRequired, "email")
	}
	id, err := identifier.Parse(raw, "JP")
	if err != nil || id.Kind != identifier.KindEmail {
		return "", ninsho.FieldError(ninsho.CodeIdentifierInvalid, "email")
	}
	return id.Value, nil
}

// MaxName bounds a staff member's name.
const MaxName = 100

// Invite creates an invited staff account and returns it with the token of
// its enrolment link (valid EnrolLifetime, single use). by is the admin who
// invites, or nil for the command line. The authenticator secret is drawn
// now and sealed; the enrolment page shows it.
func (s *Service) Invite(ctx context.Context, by *Staff, req ninsho.Request, email, name string, role Role) (*Staff, string, error) {
	if by != nil && !Can(by.Role, PermManageStaff) {
		return nil, "", ninsho.E(ninsho.CodeForbidden)
	}
	var errs []error
	addr, err := ParseEmail(email)
	if err != nil {
		errs = append(errs, err)
	}
	name = strings.TrimSpace(name)
	if len([]rune(name)) > MaxName {
		errs = append(errs, ninsho.FieldError(ninsho.CodeFieldTooLong, "name").WithParam("max", MaxName))
	}
	if !role.Valid() {
		errs = append(errs, ninsho.FieldError(ninsho.CodeRequestInvalid, "role"))
	}
	if len(errs) > 0 {
		return nil, "", ninsho.Fields(errs...)
	}
	now := s.Clock.Now()
	st := &Staff{
		ID: ninsho.NewID(s.Clock, s.Random), Email: addr, Name: name, Role: role, Status: StatusInvited,
		CreatedAt: now, EnrolExpiresAt: now.Add(EnrolLifetime),
	}
	token := ninsho.Token(s.Random, TokenBytes)
	st.EnrolHash = s.enrolHash(token)
	sealed, err := s.Box.Seal([]byte(totp.NewSecret(s.Random)), s.totpAD(st.ID))
	if err != nil {
		return nil, "", ninsho.Internal("staff: seal totp secret").Wrap(err)
	}
	st.TOTPSealed = sealed
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.Store.CreateStaff(ctx, st); err != nil {
			return err
		}
		return s.record(ctx, actorOf(by), st.ID, TypeInvited, req, map[string]any{"role": string(role)})
	})
	if err != nil {
		return nil, "", err
	}
	return st, token, nil
}

// Reinvite gives an invited staff account a fresh enrolment link (the old
// one stops working), for one that expired or was lost.
func (s *Service) Reinvite(ctx context.Context, by *Staff, req ninsho.Request, id string) (*Staff, string, error) {
	if by != nil && !Can(by.Role, PermManageStaff) {
		return nil, "", ninsho.E(ninsho.CodeForbidden)
	}
	token := ninsho.Token(s.Random, TokenBytes)
	var st *Staff
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		if st, err = s.Store.Staff(ctx, id); err != nil {
			return err
		}
		if st.Status != StatusInvited {
			return ninsho.E(ninsho.CodeConflict)
		}
		st.EnrolHash, st.EnrolExpiresAt = s.enrolHash(token), s.Clock.Now().Add(EnrolLifetime)
		if err := s.Store.UpdateStaff(ctx, st); err != nil {
			return err
		}
		return s.record(ctx, actorOf(by), st.ID, TypeInvited, req, map[string]any{"role": string(st.Role), "again": true})
	})
	if err != nil {
		return nil, "", err
	}
	return st, token, nil
}

// Enrolment is what the enrolment page shows: the invited account and its
// authenticator secret (as the otpauth URL for the QR code and in groups
// of four).
type Enrolment struct {
	Staff   *Staff
	URL     string
	Grouped string
}

// Enrolment returns the enrolment of the link's token, or
// ninsho.CodeStaffEnrolmentInvalid for an unknown, used or expired one.
func (s *Service) Enrolment(ctx context.Context, token string) (*Enrolment, error) {
	st, key, err := s.invited(ctx, token)
	if err != nil {
		return nil, err
	}
	return &Enrolment{Staff: st, URL: totp.URL(s.issuer(), st.Email, key), Grouped: totp.Grouped(key)}, nil
}

// Enrol sets the invited account's password (typed twice, the password
// policy) and proves its authenticator app with a code; the account is
// active after it and the link used. Wrong codes count like failed sign-ins.
func (s *Service) Enrol(ctx context.Context, req ninsho.Request, token, pw, confirmation, code string) (*Staff, error) {
	st, key, err := s.invited(ctx, token)
	if err != nil {
		return nil, err
	}
	if err := s.admitAddress(ctx, req); err != nil {
		return nil, err
	}
	if err := s.paused(ctx, req, st.Email, st); err != nil {
		return nil, err
	}
	var errs []error
	// Every refused field at once: a password the policy refuses does not
	// hide a confirmation that differs from it.
	if err := s.Policy.Check(pw, password.Personal{Email: st.Email, Name: st.Name}); err != nil {
		errs = append(errs, err)
	}
	if pw != "" && !password.Same(pw, confirmation) {
		errs = append(errs, ninsho.FieldError(ninsho.CodePasswordMismatch, "password_confirmation"))
	}
	step, err := totp.Verify(key, code, s.Clock.Now(), st.TOTPLastStep)
	if err != nil {
		if !ninsho.IsCode(err, ninsho.CodeFieldRequired) {
			if ferr := s.countFailure(ctx, req, st.Email, st); ferr != nil {
				return nil, ferr
			}
		}
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, ninsho.Fields(errs...)
	}
	hash, err := s.Passwords.Hash(ctx, pw)
	if err != nil {
		return nil, err
	}
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		cur, err := s.Store.StaffByEnrolHash(ctx, s.enrolHash(token))
		if err != nil || cur.ID != st.ID || cur.Status != StatusInvited {
			return ninsho.E(ninsho.CodeStaffEnrolmentInvalid)
		}
		st = cur
		st.PasswordHash, st.TOTPLastStep, st.Status = hash, step, StatusActive
		st.EnrolHash, st.EnrolExpiresAt = nil, time.Time{}
		if err := s.Store.UpdateStaff(ctx, st); err != nil {
			return err
		}
		return s.record(ctx, st.Actor(), st.ID, TypeEnrolled, req, nil)
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// invited returns the invited account of an enrolment token and its
// authenticator secret.
func (s *Service) invited(ctx context.Context, token string) (*Staff, string, error) {
	if token == "" || len(token) > 100 {
		return nil, "", ninsho.E(ninsho.CodeStaffEnrolmentInvalid)
	}
	st, err := s.Store.StaffByEnrolHash(ctx, s.enrolHash(token))
	switch {
	case ninsho.IsCode(err, ninsho.CodeNotFound):
		return nil, "", ninsho.E(ninsho.CodeStaffEnrolmentInvalid)
	case err != nil:
		return nil, "", err
	}
	if st.Status != StatusInvited || !s.Clock.Now().Before(st.EnrolExpiresAt) {
		return nil, "", ninsho.E(ninsho.CodeStaffEnrolmentInvalid)
	}
	key, err := s.Box.Open(st.TOTPSealed, s.totpAD(st.ID))
	if err != nil {
		return nil, "", ninsho.Internal("staff: open totp secret").Wrap(err)
	}
	return st, string(key), nil
}

// SignIn checks a staff member's e-mail address and password and returns
// the token of a session that waits for the authenticator code
// (PendingLifetime). Unknown addresses, invited and disabled accounts cost
// a hash and answer credentials_incorrect like a wrong password, and count
// like one; a typed address paused for the client network (see paused)
// answers staff_locked whether or not a staff account has it. Too many
// failures from the client address answer rate_limited. Both come before
// any hash.
func (s *Service) SignIn(ctx context.Context, req ninsho.Request, email, pw string) (string, error) {
	var errs []error
	addr, err := ParseEmail(email)
	if err != nil {
		errs = append(errs, err)
	}
	if pw == "" {
		errs = append(errs, ninsho.FieldError(ninsho.CodeFieldRequired, "password"))
	}
	if len(errs) > 0 {
		return "", ninsho.Fields(errs...)
	}
	if err := s.admitAddress(ctx, req); err != nil {
		return "", err
	}
	st, err := s.Store.StaffByEmail(ctx, addr)
	if err != nil && !ninsho.IsCode(err, ninsho.CodeNotFound) {
		return "", err
	}
	if st != nil && st.Status != StatusActive {
		st = nil
	}
	if err := s.paused(ctx, req, addr, st); err != nil {
		return "", err
	}
	if st == nil {
		if err := s.Passwords.VerifyDummy(ctx, pw); err != nil {
			return "", err
		}
		if err := s.countFailure(ctx, req, addr, nil); err != nil {
			return "", err
		}
		return "", ninsho.FieldError(ninsho.CodeCredentialsIncorrect, "password")
	}
	ok, _, err := s.Passwords.Verify(ctx, pw, st.PasswordHash)
	if err != nil {
		return "", err
	}
	now := s.Clock.Now()
	if !ok {
		if err := s.countFailure(ctx, req, addr, st); err != nil {
			return "", err
		}
		return "", s.failed(ctx, req, st, "password", ninsho.FieldError(ninsho.CodeCredentialsIncorrect, "password"))
	}
	token, _, err := s.newSession(ctx, st, 1, now.Add(PendingLifetime))
	return token, err
}

// Pending returns the staff account of a session that waits for the
// authenticator code, or ninsho.CodeUnauthenticated.
func (s *Service) Pending(ctx context.Context, token string) (*Staff, *Session, error) {
	sess, err := s.session(ctx, token)
	if err != nil {
		return nil, nil, err
	}
	if sess.AAL != 1 {
		return nil, nil, ninsho.E(ninsho.CodeUnauthenticated)
	}
	st, err := s.Store.Staff(ctx, sess.StaffID)
	if err != nil || st.Status != StatusActive {
		return nil, nil, ninsho.E(ninsho.CodeUnauthenticated)
	}
	return st, sess, nil
}

// SecondFactor checks the authenticator code for a session that waits for
// it and returns the token of the signed-in session (SessionAbsolute,
// SessionIdle); the waiting one ends. A code is never accepted twice.
func (s *Service) SecondFactor(ctx context.Context, req ninsho.Request, pendingToken, code string) (string, *Staff, error) {
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
	now := s.Clock.Now()
	key, err := s.Box.Open(st.TOTPSealed, s.totpAD(st.ID))
	if err != nil {
		return "", nil, ninsho.Internal("staff: open totp secret").Wrap(err)
	}
	step, err := totp.Verify(string(key), code, now, st.TOTPLastStep)
	if ninsho.IsCode(err, ninsho.CodeFieldRequired) {
		return "", nil, err
	}
	if err != nil {
		if ferr := s.countFailure(ctx, req, st.Email, st); ferr != nil {
			return "", nil, ferr
		}
		return "", nil, s.failed(ctx, req, st, "totp", err)
	}
	var token string
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		ok, err := s.Store.AcceptTOTPStep(ctx, st.ID, step, now)
		if err != nil {
			return err
		}
		if !ok {
			return ninsho.FieldError(ninsho.CodeTOTPReused, "code")
		}
		cur, err := s.Store.Staff(ctx, st.ID)
		if err != nil {
			return err
		}
		st = cur
		token, err = s.startSession(ctx, cur, pending.ID, req, now, map[string]any{"methods": []string{"pwd", "otp"}, "method": "totp"})
		return err
	})
	if err != nil {
		return "", nil, err
	}
	return token, st, nil
}

// Check returns the signed-in staff member of a console session token:
// ninsho.CodeUnauthenticated when the token is unknown, waits for the code,
// is past SessionAbsolute or unused for SessionIdle, or its account is no
// longer active. The last use is written at most once per TouchInterval.
func (s *Service) Check(ctx context.Context, token string) (*Principal, error) {
	sess, err := s.session(ctx, token)
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	if sess.AAL != 2 || !now.Before(sess.LastSeenAt.Add(SessionIdle)) {
		return nil, ninsho.E(ninsho.CodeUnauthenticated)
	}
	st, err := s.Store.Staff(ctx, sess.StaffID)
	if err != nil || st.Status != StatusActive {
		return nil, ninsho.E(ninsho.CodeUnauthenticated)
	}
	if now.Sub(sess.LastSeenAt) >= TouchInterval {
		if err := s.Sessions.TouchStaffSession(ctx, sess.ID, now); err != nil {
			return nil, err
		}
		sess.LastSeenAt = now
	}
	return &Principal{Staff: st, Session: sess}, nil
}

// SignOut ends the session of token (signed in or waiting for the code).
func (s *Service) SignOut(ctx context.Context, req ninsho.Request, token string) error {
	sess, err := s.session(ctx, token)
	if err != nil {
		return nil // nothing to end
	}
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.Sessions.DeleteStaffSession(ctx, sess.ID); err != nil {
			return err
		}
		if sess.AAL != 2 {
			return nil
		}
		return s.record(ctx, "staff:"+sess.StaffID, sess.StaffID, TypeSignout, req, nil)
	})
}

// List returns every staff account (admins only; by nil: the command line).
func (s *Service) List(ctx context.Context, by *Staff) ([]Staff, error) {
	if by != nil && !Can(by.Role, PermManageStaff) {
		return nil, ninsho.E(ninsho.CodeForbidden)
	}
	return s.Store.ListStaff(ctx)
}

// SetRole changes a staff member's role (admins only, not their own).
func (s *Service) SetRole(ctx context.Context, by *Staff, req ninsho.Request, id string, role Role) error {
	if by != nil && !Can(by.Role, PermManageStaff) {
		return ninsho.E(ninsho.CodeForbidden)
	}
	if !role.Valid() {
		return ninsho.FieldError(ninsho.CodeRequestInvalid, "role")
	}
	if by != nil && by.ID == id {
		return ninsho.E(ninsho.CodeConflict).WithParam("reason", ninsho.ConflictOwnAccount)
	}
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		st, err := s.Store.Staff(ctx, id)
		if err != nil {
			return err
		}
		if st.Role == role {
			return nil
		}
		from := st.Role
		st.Role = role
		if err := s.Store.UpdateStaff(ctx, st); err != nil {
			return err
		}
		return s.record(ctx, actorOf(by), st.ID, TypeRoleChanged, req, map[string]any{"from": string(from), "to": string(role)})
	})
}

// Disable stops a staff account from signing in and ends its sessions
// (admins only, not their own account).
func (s *Service) Disable(ctx context.Context, by *Staff, req ninsho.Request, id string) error {
	if by != nil && !Can(by.Role, PermManageStaff) {
		return ninsho.E(ninsho.CodeForbidden)
	}
	if by != nil && by.ID == id {
		return ninsho.E(ninsho.CodeConflict).WithParam("reason", ninsho.ConflictOwnAccount)
	}
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		st, err := s.Store.Staff(ctx, id)
		if err != nil {
			return err
		}
		if st.Status == StatusDisabled {
			return nil
		}
		st.Status, st.EnrolHash, st.EnrolExpiresAt = StatusDisabled, nil, time.Time{}
		if err := s.Store.UpdateStaff(ctx, st); err != nil {
			return err
		}
		n, err := s.Sessions.DeleteStaffSessions(ctx, st.ID)
		if err != nil {
			return err
		}
		return s.record(ctx, actorOf(by), st.ID, TypeDisabled, req, map[string]any{"sessions_ended": n})
	})
}

// ByEmail returns the staff account with the address.
func (s *Service) ByEmail(ctx context.Context, email string) (*Staff, error) {
	addr, err := ParseEmail(email)
	if err != nil {
		return nil, err
	}
	return s.Store.StaffByEmail(ctx, addr)
}

// session returns the unexpired session of a token.
func (s *Service) session(ctx context.Context, token string) (*Session, error) {
	if token == "" || len(token) > 100 {
		return nil, ninsho.E(ninsho.CodeUnauthenticated)
	}
	sess, err := s.Sessions.StaffSessionByHash(ctx, s.sessionHash(token))
	if err != nil {
		return nil, err
	}
	if !s.Clock.Now().Before(sess.ExpiresAt) {
		return nil, ninsho.E(ninsho.CodeUnauthenticated)
	}
	return sess, nil
}

// startSession ends the pending sign-in pendingID of cur and starts its
// console session, in the transaction of ctx: the client's network becomes
// one cur signed in from (FamiliarFor) and staff.signin.succeeded records
// how, with data. It returns the session's token.
func (s *Service) startSession(ctx context.Context, cur *Staff, pendingID string, req ninsho.Request, now time.Time, data map[string]any) (string, error) {
	if err := s.Sessions.DeleteStaffSession(ctx, pendingID); err != nil {
		return "", err
	}
	token, _, err := s.newSession(ctx, cur, 2, now.Add(SessionAbsolute))
	if err != nil {
		return "", err
	}
	if err := s.Counter.Hit(ctx, familiarKey(cur.ID, req.IP), 1, FamiliarFor); err != nil {
		return "", err
	}
	return token, s.record(ctx, cur.Actor(), cur.ID, TypeSigninSucceeded, req, data)
}

func (s *Service) newSession(ctx context.Context, st *Staff, aal int, expires time.Time) (string, *Session, error) {
	now := s.Clock.Now()
	token := ninsho.Token(s.Random, TokenBytes)
	sess := &Session{ID: ninsho.NewID(s.Clock, s.Random), TokenHash: s.sessionHash(token), StaffID: st.ID, AAL: aal,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: expires}
	if err := s.Sessions.CreateStaffSession(ctx, sess); err != nil {
		return "", nil, err
	}
	return token, sess, nil
}

// admitAddress refuses a client address with AddressFailures failures in
// FailureWindow.
func (s *Service) admitAddress(ctx context.Context, req ninsho.Request) error {
	n, err := s.Counter.Count(ctx, throttle.Key(familyAddressFailures, "", req.IP), FailureWindow)
	if err != nil {
		return err
	}
	if n >= AddressFailures {
		return ninsho.E(ninsho.CodeRateLimited).WithParam("retry_after_s", int(FailureWindow/time.Second))
	}
	return nil
}

// paused refuses (staff_locked) the typed address from the client's
// network after FailuresBeforeLock failures from that network in
// FailureWindow, and from every network after EverywhereFailures in
// EverywhereWindow — except, then, from a network st (the active staff
// account with the address, nil: none) signed in from within FamiliarFor,
// so that an outsider's guesses never keep the staff member out. Unknown
// addresses are paused alike: the pause tells nothing about who is staff.
// Attempts while paused count nothing and write no rows.
func (s *Service) paused(ctx context.Context, req ninsho.Request, addr string, st *Staff) error {
	n, err := s.Counter.Count(ctx, networkKey(addr, req.IP), FailureWindow)
	if err != nil {
		return err
	}
	if n >= FailuresBeforeLock {
		return ninsho.E(ninsho.CodeStaffLocked)
	}
	m, err := s.Counter.Count(ctx, throttle.Key(familyEmailFailures, "", addr), EverywhereWindow)
	if err != nil || m < EverywhereFailures {
		return err
	}
	if st != nil {
		f, err := s.Counter.Count(ctx, familiarKey(st.ID, req.IP), FamiliarFor)
		if err != nil || f > 0 {
			return err
		}
	}
	return ninsho.E(ninsho.CodeStaffLocked)
}

// countFailure counts a wrong password or code for the client address, the
// typed address from the client network and the typed address everywhere,
// and records staff.locked (for a staff account st; nil: none known) when
// a count reaches its pause.
func (s *Service) countFailure(ctx context.Context, req ninsho.Request, addr string, st *Staff) error {
	if err := s.Counter.Hit(ctx, throttle.Key(familyAddressFailures, "", req.IP), 1, FailureWindow); err != nil {
		return err
	}
	nkey, ekey := networkKey(addr, req.IP), throttle.Key(familyEmailFailures, "", addr)
	if err := s.Counter.Hit(ctx, nkey, 1, FailureWindow); err != nil {
		return err
	}
	if err := s.Counter.Hit(ctx, ekey, 1, EverywhereWindow); err != nil {
		return err
	}
	if st == nil {
		return nil
	}
	n, err := s.Counter.Count(ctx, nkey, FailureWindow)
	if err != nil {
		return err
	}
	if n == FailuresBeforeLock {
		if err := s.record(ctx, st.Actor(), st.ID, TypeLocked, req, map[string]any{"failures": n, "scope": "network", "network": network(req.IP)}); err != nil {
			return err
		}
	}
	m, err := s.Counter.Count(ctx, ekey, EverywhereWindow)
	if err != nil || m != EverywhereFailures {
		return err
	}
	return s.record(ctx, st.Actor(), st.ID, TypeLocked, req, map[string]any{"failures": m, "scope": "everywhere"})
}

// network is the client's /24 (IPv4) or /48 (IPv6), or the address as
// given when it is not an IP address.
func network(ip string) string {
	if p := risk.Prefix(ip); p != "" {
		return p
	}
	return ip
}

// networkKey is the counter key of a typed address from the client's
// network (hashed by throttle.Key: the address holds "@").
func networkKey(addr, ip string) string {
	return throttle.Key(familyNetworkFailures, "", addr+" "+network(ip))
}

// familiarKey is the counter key of a staff member's sign-ins from the
// client's network.
func familiarKey(staffID, ip string) string {
	return throttle.Key(familyFamiliar, "", staffID+" "+network(ip))
}

// failed records a refused sign-in step of a known staff account and
// returns refusal.
func (s *Service) failed(ctx context.Context, req ninsho.Request, st *Staff, reason string, refusal error) error {
	if err := s.record(ctx, st.Actor(), st.ID, TypeSigninFailed, req, map[string]any{"reason": reason}); err != nil {
		return err
	}
	return refusal
}

func (s *Service) record(ctx context.Context, actor, staffID, typ string, req ninsho.Request, data map[string]any) error {
	if data == nil {
		data = map[string]any{}
	}
	data["staff"] = staffID
	return s.Events.AppendEvent(ctx, &event.Event{
		ID: ninsho.NewID(s.Clock, s.Random), Type: typ, Actor: actor,
		IP: req.IP, UserAgent: truncate(req.UserAgent, 512), RequestID: req.RequestID,
		Data: data, At: s.Clock.Now(),
	})
}

func (s *Service) enrolHash(token string) []byte   { return s.Hasher.Hash("staff-enrol", token) }
func (s *Service) sessionHash(token string) []byte { return s.Hasher.Hash("staff-session", token) }
func (s *Service) totpAD(id string) []byte         { return []byte("staff-totp:" + id) }

func (s *Service) issuer() string {
	if s.Issuer != "" {
		return s.Issuer
	}
	return "Ninsho console"
}

// actorOf names who acted: the staff member, or "system" (the command
// line).
func actorOf(by *Staff) string {
	if by == nil {
		return "system"
	}
	return by.Actor()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
