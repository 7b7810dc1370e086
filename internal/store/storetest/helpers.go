package storetest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/device"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/session"
	"github.com/ninsho/ninsho/internal/twostep"
)

// NewID returns a fresh UUIDv7 with the time prefix of Epoch.
func NewID() string { return ninsho.NewID(ninsho.NewManualClock(Epoch), ninsho.SecureRandom) }

// NewHash returns 32 random bytes, standing in for a keyed token hash.
func NewHash() []byte {
	b := make([]byte, 32)
	rand.Read(b)
	return b
}

// at returns Epoch plus d.
func at(d time.Duration) time.Time { return Epoch.Add(d) }

// ptr returns a pointer to t.
func ptr(t time.Time) *time.Time { return &t }

// NewAccount returns a pending customer account in realm with the given
// identifiers ("" for none), created at Epoch.
func NewAccount(realm, email, phone string) *account.Account {
	return &account.Account{
		ID: NewID(), Realm: realm, Type: account.TypeCustomer, Status: account.StatusPending,
		Name: "Hanako Yamada", Email: email, Phone: phone, Locale: "ja",
		CreatedAt: Epoch, UpdatedAt: Epoch,
	}
}

// MustCreateAccount stores a and returns it.
func MustCreateAccount(tb testing.TB, s account.Store, a *account.Account) *account.Account {
	tb.Helper()
	if err := s.CreateAccount(context.Background(), a); err != nil {
		tb.Fatalf("CreateAccount(%s): %v", a.ID, err)
	}
	return a
}

// NewDevice returns a device of realm with a random token hash.
func NewDevice(realm string) *device.Device {
	return &device.Device{ID: NewID(), Realm: realm, TokenHash: NewHash(), UserAgent: "Mozilla/5.0 (test)", CreatedAt: Epoch, LastSeenAt: Epoch}
}

// MustCreateDevice stores d and returns it.
func MustCreateDevice(tb testing.TB, s device.Store, d *device.Device) *device.Device {
	tb.Helper()
	if err := s.CreateDevice(context.Background(), d); err != nil {
		tb.Fatalf("CreateDevice(%s): %v", d.ID, err)
	}
	return d
}

// NewFlow returns an open sign-in flow of realm that expires an hour after
// Epoch.
func NewFlow(realm string) *flow.Flow {
	return &flow.Flow{
		ID: NewID(), Realm: realm, Kind: flow.KindSignin, Status: flow.StatusOpen, Step: flow.StepPassword,
		Identifier: "hanako@example.jp", Locale: "ja",
		CreatedAt: Epoch, UpdatedAt: Epoch, ExpiresAt: at(time.Hour),
	}
}

// MustCreateFlow stores f and returns it.
func MustCreateFlow(tb testing.TB, s flow.Store, f *flow.Flow) *flow.Flow {
	tb.Helper()
	if err := s.CreateFlow(context.Background(), f); err != nil {
		tb.Fatalf("CreateFlow(%s): %v", f.ID, err)
	}
	return f
}

// NewCode returns an e-mail sign-up code of the flow to destination, created
// at Epoch, valid ten minutes.
func NewCode(realm, flowID, accountID, destination string) *code.Code {
	return &code.Code{
		ID: NewID(), Realm: realm, FlowID: flowID, AccountID: accountID,
		Purpose: code.PurposeSignup, Channel: code.ChannelEmail, Destination: destination, Lane: code.LaneOwner,
		Hash: NewHash(), CreatedAt: Epoch, ExpiresAt: at(10 * time.Minute),
	}
}

// MustInsertCode stores c and returns it.
func MustInsertCode(tb testing.TB, s code.Store, c *code.Code) *code.Code {
	tb.Helper()
	if err := s.InsertCode(context.Background(), c); err != nil {
		tb.Fatalf("InsertCode(%s): %v", c.ID, err)
	}
	return c
}

// NewSession returns a live password session of the account, created at
// Epoch, expiring a day later.
func NewSession(realm, accountID string) *session.Session {
	return &session.Session{
		ID: NewID(), Realm: realm, AccountID: accountID, TokenHash: NewHash(), AAL: 1,
		Methods: []string{session.MethodPassword}, IP: "203.0.113.7", UserAgent: "Mozilla/5.0 (test)",
		CreatedAt: Epoch, LastSeenAt: Epoch, ExpiresAt: at(24 * time.Hour), AuthenticatedAt: Epoch,
	}
}

// MustCreateSession stores s and returns it.
func MustCreateSession(tb testing.TB, st session.Store, s *session.Session) *session.Session {
	tb.Helper()
	if err := st.CreateSession(context.Background(), s); err != nil {
		tb.Fatalf("CreateSession(%s): %v", s.ID, err)
	}
	return s
}

// NewMessage returns an e-mail outbox message to to, due at Epoch.
func NewMessage(realm, to string) *message.Message {
	return &message.Message{
		ID: NewID(), Realm: realm, Channel: message.ChannelEmail, To: to, Template: "signup_code",
		Locale: "ja", SealedVars: []byte("sealed"), Status: message.StatusPending,
		NextAttemptAt: Epoch, CreatedAt: Epoch,
	}
}

// MustEnqueue stores m and returns it.
func MustEnqueue(tb testing.TB, s message.Store, m *message.Message) *message.Message {
	tb.Helper()
	if err := s.EnqueueMessage(context.Background(), m); err != nil {
		tb.Fatalf("EnqueueMessage(%s): %v", m.ID, err)
	}
	return m
}

// wantCode fails the test unless err carries the catalogue code want.
func wantCode(tb testing.TB, what string, err error, want ninsho.Code) {
	tb.Helper()
	if got := ninsho.CodeOf(err); got != want {
		tb.Fatalf("%s: got error %v (code %q), want code %q", what, err, got, want)
	}
}

// mustNil fails the test when err is not nil.
func mustNil(tb testing.TB, what string, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatalf("%s: got error %v, want nil", what, err)
	}
}

// show renders v for failure messages: times as text, pointers followed.
func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// NewCredential returns a second-factor credential of the account, created
// at Epoch and proved at proved (nil: not yet): a sealed secret for TOTP and
// passkeys, a phone number for SMS and voice, a random credential id for
// passkeys.
func NewCredential(realm, accountID string, m twostep.Method, proved *time.Time) *twostep.Credential {
	c := &twostep.Credential{
		ID: NewID(), Realm: realm, AccountID: accountID, Method: m, Label: string(m) + " label",
		CreatedAt: Epoch, ProvedAt: proved,
	}
	switch m {
	case twostep.MethodSMS, twostep.MethodVoice:
		c.Phone = "+819012345678"
	case twostep.MethodPasskey:
		c.PasskeyID, c.Sealed = NewHash(), NewHash()
	default:
		c.Sealed = NewHash()
	}
	return c
}

// MustAddCredential stores c and returns it.
func MustAddCredential(tb testing.TB, s twostep.Store, c *twostep.Credential) *twostep.Credential {
	tb.Helper()
	if err := s.AddCredential(context.Background(), c); err != nil {
		tb.Fatalf("AddCredential(%s %s): %v", c.Method, c.ID, err)
	}
	return c
}
