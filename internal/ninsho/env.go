package ninsho

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"io"
	"sync"
	"time"
)

// Clock tells the time. Services take a Clock so tests control expiry and
// windows without sleeping. Implementations must be safe for concurrent use.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real clock, in UTC.
type SystemClock struct{}

// Now returns the current time in UTC.
func (SystemClock) Now() time.Time { return time.Now().UTC() }

// ManualClock is a clock that tests move by hand. The zero value starts at the
// zero time; use NewManualClock.
type ManualClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewManualClock returns a clock stopped at t.
func NewManualClock(t time.Time) *ManualClock { return &ManualClock{now: t.UTC()} }

// Now returns the clock's current time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Set moves the clock to t.
func (c *ManualClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t.UTC()
	c.mu.Unlock()
}

// OffsetClock is real time plus an offset that tests move forward: time
// passes for leases, timeouts and durations as it really does, and
// back-offs or expiries can be skipped at once. The zero value is real time.
type OffsetClock struct {
	mu  sync.Mutex
	off time.Duration
}

// Now returns the real time, UTC, plus the offset.
func (c *OffsetClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().UTC().Add(c.off)
}

// Advance moves the clock forward by d.
func (c *OffsetClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// Random is the source of randomness for secrets, codes and identifiers. In
// production it is crypto/rand.Reader; tests may inject a deterministic
// reader. Implementations must be safe for concurrent use.
type Random = io.Reader

// SecureRandom is the production random source.
var SecureRandom Random = rand.Reader

// ReadRandom fills b from r and panics if r fails: a broken random source is
// not a condition any caller can handle safely.
func ReadRandom(r Random, b []byte) {
	if _, err := io.ReadFull(r, b); err != nil {
		panic("ninsho: random source failed: " + err.Error())
	}
}

// Token returns a new opaque secret of n random bytes, base64url-encoded
// without padding.
func Token(r Random, n int) string {
	b := make([]byte, n)
	ReadRandom(r, b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// idState makes ids monotonic within the process (RFC 9562 §6.2, method 1):
// ids made in the same millisecond, or while a clock stands still or steps
// back, carry a 12-bit counter after the time, so they sort in the order
// they were made. Records ordered by (time, id) then list in creation order.
var idState struct {
	sync.Mutex
	ms  uint64
	seq uint16
}

// NewID returns a new UUIDv7 (RFC 9562) as canonical lowercase text. Its
// time prefix makes ids sort by creation time; within one process they are
// strictly increasing.
func NewID(c Clock, r Random) string {
	var u [16]byte
	ms := uint64(c.Now().UnixMilli())
	idState.Lock()
	if ms > idState.ms {
		idState.ms, idState.seq = ms, 0
	} else {
		idState.seq++
		if idState.seq > 0xfff { // counter spent: borrow the next millisecond
			idState.ms++
			idState.seq = 0
		}
		ms = idState.ms
	}
	seq := idState.seq
	idState.Unlock()
	binary.BigEndian.PutUint16(u[0:2], uint16(ms>>32))
	binary.BigEndian.PutUint32(u[2:6], uint32(ms))
	binary.BigEndian.PutUint16(u[6:8], 0x7000|seq) // version 7, counter
	ReadRandom(r, u[8:])
	u[8] = (u[8] & 0x3f) | 0x80 // variant 10
	return FormatUUID(u)
}

// FormatUUID returns u in the canonical lowercase text form
// xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx.
func FormatUUID(u [16]byte) string {
	var s [36]byte
	hex.Encode(s[0:8], u[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], u[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], u[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], u[8:10])
	s[23] = '-'
	hex.Encode(s[24:], u[10:])
	return string(s[:])
}

// ValidID reports whether s has the shape of an id made by NewID. Handlers use
// it to refuse malformed ids before they reach the store.
func ValidID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// TxRunner runs fn inside one database transaction. Store methods called with
// the ctx that fn receives take part in that transaction; if fn returns an
// error, or panics, everything is rolled back. Nested calls join the outer
// transaction. Implementations retry nothing: a serialisation failure is
// returned to the caller as an error.
type TxRunner interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// Client is the kind of client a request comes through. A flow belongs to the
// kind of client that started it and answers only requests of that kind.
type Client string

// Clients.
const (
	// ClientAPI is the JSON API (/api/v1): native and single-page apps. The
	// flow's unguessable id is the client's capability.
	ClientAPI Client = "api"
	// ClientPage is the hosted pages: a flow started by a page is bound to
	// a secret that only the starting browser holds (a per-flow cookie).
	ClientPage Client = "page"
)

// Request describes who asks and from where: the context every state change
// records in its event.
type Request struct {
	IP          string // client address, after trusted-proxy resolution
	UserAgent   string
	DeviceToken string // the device token the client presented (body or cookie), or ""
	RequestID   string
	// Locale is the language of this request's answer: "ja" or "en"
	// (i18n.For without an account).
	Locale string
	// LocaleChosen reports whether the person expressed Locale in this
	// request (?lang=, the language cookie, Accept-Language, the API's
	// locale field) rather than it being the realm's default: only a chosen
	// language outranks the account's own (i18n.For).
	LocaleChosen bool
	// Client is the kind of client the request came through ("" only in
	// tests that call services directly).
	Client Client
	// FlowSecret is the per-flow binding secret a page request presented
	// (the flow's cookie), or "".
	FlowSecret string
	// ReturnTo is where a page flow started by this request sends the
	// browser when it completes: a return_to the page adapter already
	// checked against the realm's allow-list, or "". A new flow keeps it.
	ReturnTo string
	// SessionToken is the session token the request carried (bearer or
	// cookie), or "". Only a flow that acts for a signed-in session reads
	// it (re-authentication); it is never stored, logged or put in an
	// event.
	SessionToken string
}

// ChosenLocale returns the language the person expressed in this request,
// or "" when Locale is only the realm's default.
func (r Request) ChosenLocale() string {
	if r.LocaleChosen {
		return r.Locale
	}
	return ""
}
