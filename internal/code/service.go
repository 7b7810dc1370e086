package code

import (
	"context"
	"encoding/binary"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/secret"
)

// Policy is the life and the limits of codes.
type Policy struct {
	Digits         int           // length of a code
	TTL            time.Duration // life of one code
	MaxAttempts    int           // wrong answers allowed per flow, across resends
	ResendCooldown time.Duration // wait between two sends in one flow
	HourlyCap      int           // owner-lane codes per destination per rolling hour
	// StrangerHourlyCap is the strangers' lane: codes per destination per
	// rolling hour that anyone who knows the identifier can ask for.
	StrangerHourlyCap int
}

// DefaultPolicy is 6 digits, 10 minutes, 5 attempts, 30 s between sends, and
// per destination an hour 10 codes in the owner's lane and 5 in the
// strangers' lane.
func DefaultPolicy() Policy {
	return Policy{Digits: 6, TTL: 10 * time.Minute, MaxAttempts: 5, ResendCooldown: 30 * time.Second, HourlyCap: 10, StrangerHourlyCap: 5}
}

// cap returns the hourly cap of lane.
func (p Policy) cap(l Lane) int {
	if l == LaneStranger {
		return p.StrangerHourlyCap
	}
	return p.HourlyCap
}

// Service issues and checks codes. It changes the flow it is given (sends,
// attempts, channel); the caller saves the flow, also when Check fails.
type Service struct {
	Store  Store
	Clock  ninsho.Clock
	Random ninsho.Random
	Hasher *secret.Hasher
	Policy Policy
	// Guard counts wrong codes across flows; nil counts only per flow.
	Guard *Guard
}

// Issued is a code that Issue made.
type Issued struct {
	Digits string // for the message; never stored
	Lane   Lane
	// Lifetime is how long the code can be used (the message says it).
	Lifetime time.Duration
	// LaneFull reports that this code was the last one its lane allows the
	// destination this hour: the caller tells the destination once.
	LaneFull bool
}

// ResendAfter returns how long f must wait before another code may be sent.
func (s *Service) ResendAfter(f *flow.Flow) time.Duration {
	if f.Sends == 0 {
		return 0
	}
	wait := f.LastSentAt.Add(s.Policy.ResendCooldown).Sub(s.Clock.Now())
	if wait < 0 {
		return 0
	}
	return wait
}

// AttemptsLeft returns how many wrong answers f may still give.
func (s *Service) AttemptsLeft(f *flow.Flow) int {
	if n := s.Policy.MaxAttempts - f.Attempts; n > 0 {
		return n
	}
	return 0
}

// Issue creates a new code for f, to be sent to dest over ch, usable for
// life (the realm's code lifetime; 0 means Policy.TTL), and returns its
// digits for the message. It refuses with ninsho.CodeResendTooSoon (param
// seconds) inside the cool-down, ninsho.CodeResendLimitReached when the
// destination had its lane's hourly cap of codes in the last hour (LaneOf),
// and ninsho.CodeCodeAttemptsExceeded when the flow has no attempts left. It
// records the send on f.
func (s *Service) Issue(ctx context.Context, f *flow.Flow, accountID string, p Purpose, ch Channel, dest string, life time.Duration) (Issued, error) {
	now := s.Clock.Now()
	if life <= 0 {
		life = s.Policy.TTL
	}
	if s.AttemptsLeft(f) == 0 {
		return Issued{}, ninsho.E(ninsho.CodeCodeAttemptsExceeded)
	}
	if wait := s.ResendAfter(f); wait > 0 {
		secs := int((wait + time.Second - 1) / time.Second)
		return Issued{}, ninsho.E(ninsho.CodeResendTooSoon).WithParam("seconds", secs).WithParam("retry_after_s", secs)
	}
	lane := LaneOf(f, p)
	n, err := s.Store.CountCodesSince(ctx, f.Realm, dest, lane, now.Add(-time.Hour))
	if err != nil {
		return Issued{}, err
	}
	if n >= s.Policy.cap(lane) {
		return Issued{}, ninsho.E(ninsho.CodeResendLimitReached).WithParam("retry_after_s", 3600)
	}
	digits := s.digits()
	c := &Code{
		ID:          ninsho.NewID(s.Clock, s.Random),
		Realm:       f.Realm,
		FlowID:      f.ID,
		AccountID:   accountID,
		Purpose:     p,
		Channel:     ch,
		Destination: dest,
		Lane:        lane,
		Hash:        s.Hasher.Hash("code", f.ID, string(p), digits),
		CreatedAt:   now,
		ExpiresAt:   now.Add(life),
	}
	if err := s.Store.InsertCode(ctx, c); err != nil {
		return Issued{}, err
	}
	f.Sends++
	f.LastSentAt = now
	f.Channel = string(ch)
	f.Destination = dest
	return Issued{Digits: digits, Lane: lane, LaneFull: n+1 == s.Policy.cap(lane), Lifetime: life}, nil
}

// Check compares input with the flow's latest code of purpose p and consumes
// it on a match. Input is normalised first (full-width digits, spaces and
// hyphens are accepted). A wrong answer counts against f.Attempts and the
// Guard, and fails with ninsho.CodeCodeIncorrect (param attempts_left), or
// with ninsho.CodeCodeAttemptsExceeded on the last one; an expired or used
// code fails with ninsho.CodeCodeExpired; a key the Guard has paused fails
// with ninsho.CodeAccountLocked (kind "codes") without using an attempt.
func (s *Service) Check(ctx context.Context, f *flow.Flow, p Purpose, input string) (*Code, error) {
	if s.AttemptsLeft(f) == 0 {
		return nil, ninsho.FieldError(ninsho.CodeCodeAttemptsExceeded, "code")
	}
	if NormalizeInput(input) == "" {
		// Nothing typed is not a guess: no attempt is used.
		return nil, ninsho.FieldError(ninsho.CodeFieldRequired, "code")
	}
	guarded, err := s.Guard.Allow(ctx, f)
	if err != nil {
		return nil, err
	}
	c, err := s.Store.LatestCode(ctx, f.ID)
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	if c.ConsumedAt != nil || !now.Before(c.ExpiresAt) {
		return nil, ninsho.FieldError(ninsho.CodeCodeExpired, "code")
	}
	digits := NormalizeInput(input)
	if c.Purpose != p || !secret.Equal(c.Hash, s.Hasher.Hash("code", f.ID, string(p), digits)) {
		if err := s.Guard.Fail(ctx, f); err != nil {
			return nil, err
		}
		f.Attempts++
		left := s.AttemptsLeft(f)
		if left == 0 {
			return nil, ninsho.FieldError(ninsho.CodeCodeAttemptsExceeded, "code")
		}
		return nil, ninsho.FieldError(ninsho.CodeCodeIncorrect, "code").WithParam("attempts_left", left)
	}
	ok, err := s.Store.ConsumeCode(ctx, c.ID, now)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ninsho.FieldError(ninsho.CodeCodeExpired, "code")
	}
	if f.AccountID != "" {
		if err := s.Guard.Succeed(ctx, f, guarded); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// NormalizeInput turns what a person typed into plain ASCII digits: NFKC maps
// full-width digits, and spaces and hyphens are dropped. Anything else is kept
// so that it cannot match.
func NormalizeInput(s string) string {
	s = norm.NFKC.String(s)
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == '-' {
			return -1
		}
		return r
	}, s)
}

// digits returns Policy.Digits uniformly random decimal digits.
func (s *Service) digits() string {
	n := s.Policy.Digits
	if n <= 0 || n > 18 {
		n = 6
	}
	limit := uint64(1)
	for i := 0; i < n; i++ {
		limit *= 10
	}
	// Rejection sampling keeps the distribution uniform.
	max := ^uint64(0) - (^uint64(0) % limit)
	var b [8]byte
	for {
		ninsho.ReadRandom(s.Random, b[:])
		v := binary.BigEndian.Uint64(b[:])
		if v < max {
			v %= limit
			out := make([]byte, n)
			for i := n - 1; i >= 0; i-- {
				out[i] = byte('0' + v%10)
				v /= 10
			}
			return string(out)
		}
	}
}

// LinkTokenBytes is the entropy of a link token ("this wasn't me"): 128
// random bits, 22 characters, so that the link fits in a text message; a
// token is single-use, lives days, and only its keyed hash is stored.
const LinkTokenBytes = 16

// IssueLink creates a single-use link token of purpose p for the account,
// valid for ttl, and returns it for the message. Only its keyed hash is
// stored. Links are not subject to the resend cool-down and use no hourly
// budget (LaneLink); they are sent by the server (alerts), not on request.
func (s *Service) IssueLink(ctx context.Context, realm, accountID, flowID string, p Purpose, dest string, ttl time.Duration) (string, error) {
	now := s.Clock.Now()
	token := ninsho.Token(s.Random, LinkTokenBytes)
	c := &Code{
		ID:          ninsho.NewID(s.Clock, s.Random),
		Realm:       realm,
		FlowID:      flowID,
		AccountID:   accountID,
		Purpose:     p,
		Channel:     ChannelEmail,
		Destination: dest,
		Lane:        LaneLink,
		Hash:        s.Hasher.Hash("link", string(p), token),
		CreatedAt:   now,
		ExpiresAt:   now.Add(ttl),
	}
	if err := s.Store.InsertCode(ctx, c); err != nil {
		return "", err
	}
	return token, nil
}

// LinkUsable reports whether a link token of purpose p in realm could be
// used now (known, of this realm, not used, not expired), without using it:
// a page can say at once that a link is spent instead of offering a button
// that cannot work.
func (s *Service) LinkUsable(ctx context.Context, realm string, p Purpose, token string) (bool, error) {
	c, err := s.UsableLink(ctx, realm, p, token)
	return c != nil, err
}

// UsableLink returns the code row of the link token of purpose p in realm
// when it can still be followed (unused, unexpired), else nil; it uses
// nothing. Callers that show what a link would do read it once here.
func (s *Service) UsableLink(ctx context.Context, realm string, p Purpose, token string) (*Code, error) {
	if token == "" || len(token) > 128 {
		return nil, nil
	}
	c, err := s.Store.CodeByHash(ctx, s.Hasher.Hash("link", string(p), token))
	if ninsho.IsCode(err, ninsho.CodeNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if c.Realm != realm || c.Purpose != p || c.ConsumedAt != nil || !s.Clock.Now().Before(c.ExpiresAt) {
		return nil, nil
	}
	return c, nil
}

// ConsumeLink uses a link token of purpose p in realm: it returns the code
// record once; an unknown, expired, used or malformed token, or one of
// another realm, is ninsho.CodeNotFound.
func (s *Service) ConsumeLink(ctx context.Context, realm string, p Purpose, token string) (*Code, error) {
	if token == "" || len(token) > 128 {
		return nil, ninsho.E(ninsho.CodeNotFound)
	}
	c, err := s.Store.CodeByHash(ctx, s.Hasher.Hash("link", string(p), token))
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	if c.Realm != realm || c.Purpose != p || c.ConsumedAt != nil || !now.Before(c.ExpiresAt) {
		return nil, ninsho.E(ninsho.CodeNotFound)
	}
	ok, err := s.Store.ConsumeCode(ctx, c.ID, now)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ninsho.E(ninsho.CodeNotFound)
	}
	return c, nil
}
