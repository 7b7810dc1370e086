package captcha

import (
	"context"
	"crypto/subtle"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/secret"
)

// Defaults of Service.
const (
	DefaultTTL         = 10 * time.Minute
	DefaultLength      = 6
	DefaultMaxAttempts = 3
)

// maxAnswer bounds the answer that Check normalises, in bytes.
const maxAnswer = 256

// Service issues challenges and checks answers. The drawing of the image and
// the audio is left to the HTTP adapter (this package stays free of
// net/http, which the drawing library imports): it asks Digits for what to
// draw.
//
// "Another image" is a new challenge: the client asks the flow again, the
// flow calls New and holds the new id, and the old challenge is left to
// expire. Callers check the id their flow holds as its current challenge.
//
// A Service is safe for concurrent use. Its methods take part in the
// transaction carried by ctx.
type Service struct {
	Store  Store
	Box    *secret.Box // seals the digits, bound to the challenge id
	Clock  ninsho.Clock
	Random ninsho.Random
	// TTL is a challenge's life; 0 means DefaultTTL.
	TTL time.Duration
	// Length is the number of digits; 0 means DefaultLength.
	Length int
	// MaxAttempts is the number of answers a challenge takes; 0 means
	// DefaultMaxAttempts.
	MaxAttempts int
	// Observer, when set, is told of challenges issued and solved once
	// their transaction has committed (ninsho.AfterCommit).
	Observer Observer
}

// Observer counts CAPTCHAs. Its methods must be safe for concurrent use and
// must not block.
type Observer interface {
	// Shown counts a challenge issued in realm (each new image is one).
	Shown(realm string)
	// Solved counts a challenge answered right in realm.
	Solved(realm string)
}

func (s *Service) ttl() time.Duration {
	if s.TTL > 0 {
		return s.TTL
	}
	return DefaultTTL
}

func (s *Service) length() int {
	if s.Length > 0 {
		return s.Length
	}
	return DefaultLength
}

func (s *Service) maxAttempts() int {
	if s.MaxAttempts > 0 {
		return s.MaxAttempts
	}
	return DefaultMaxAttempts
}

// New issues a challenge of the flow in realm: random digits from Random,
// sealed under Box and bound to the new id, valid for TTL.
func (s *Service) New(ctx context.Context, realm, flowID string) (*Challenge, error) {
	now := s.Clock.Now()
	id := ninsho.NewID(s.Clock, s.Random)
	sealed, err := s.Box.Seal(randomDigits(s.Random, s.length()), sealAD(id))
	if err != nil {
		return nil, ninsho.Internal("captcha: seal digits: %w", err)
	}
	c := &Challenge{
		ID:           id,
		Realm:        realm,
		FlowID:       flowID,
		SealedDigits: sealed,
		CreatedAt:    now,
		ExpiresAt:    now.Add(s.ttl()),
	}
	if err := s.Store.CreateChallenge(ctx, c); err != nil {
		return nil, err
	}
	if s.Observer != nil {
		ninsho.AfterCommit(ctx, func() { s.Observer.Shown(realm) })
	}
	return c, nil
}

// Check checks answer to the challenge id of the flow. The answer is
// NFKC-normalised (full-width digits count) and its spaces removed. A right
// answer marks the challenge solved and returns nil. A wrong answer counts
// an attempt and fails with captcha_incorrect on the field "answer"; so does
// an answer to a challenge that is unknown, of another flow, expired,
// already solved or out of attempts, and an answer that lost the race
// against a concurrent one. After captcha_incorrect the caller issues a new
// challenge. An empty answer fails with field_required and counts nothing.
func (s *Service) Check(ctx context.Context, id, flowID, answer string) error {
	incorrect := ninsho.FieldError(ninsho.CodeCaptchaIncorrect, "answer")
	given, ok := normalize(answer)
	if ok && given == "" {
		return ninsho.FieldError(ninsho.CodeFieldRequired, "answer")
	}
	if !ninsho.ValidID(id) {
		return incorrect
	}
	now := s.Clock.Now()
	c, err := s.Store.Challenge(ctx, id)
	if ninsho.IsCode(err, ninsho.CodeNotFound) {
		return incorrect
	}
	if err != nil {
		return err
	}
	if c.FlowID != flowID || !s.live(c, now) {
		return incorrect
	}
	digits, err := s.open(c)
	if err != nil {
		return err
	}
	right := ok && subtle.ConstantTimeCompare([]byte(given), digits) == 1
	c.Attempts++
	if right {
		c.SolvedAt = &now
	}
	if err := s.Store.UpdateChallenge(ctx, c); err != nil {
		if ninsho.IsCode(err, ninsho.CodeConflict) || ninsho.IsCode(err, ninsho.CodeNotFound) {
			return incorrect
		}
		return err
	}
	if !right {
		return incorrect
	}
	if s.Observer != nil {
		ninsho.AfterCommit(ctx, func() { s.Observer.Solved(c.Realm) })
	}
	return nil
}

// Digits returns what to draw for the challenge id of realm: its digits,
// each 0–9. A challenge that is unknown, of another realm, expired, solved or
// out of attempts is ninsho.CodeNotFound.
func (s *Service) Digits(ctx context.Context, realm, id string) ([]byte, error) {
	c, digits, err := s.liveDigits(ctx, id)
	if err != nil {
		return nil, err
	}
	if c.Realm != realm {
		return nil, ninsho.E(ninsho.CodeNotFound)
	}
	for i := range digits {
		digits[i] -= '0'
	}
	return digits, nil
}

// Answer returns the answer to the challenge id, as text, so that tests
// can solve it. It is for the development-mode endpoint
// GET /dev/api/captcha/{id} only and must never be reachable otherwise. A
// challenge that is unknown, expired, solved or out of attempts is
// ninsho.CodeNotFound.
func (s *Service) Answer(ctx context.Context, id string) (string, error) {
	_, digits, err := s.liveDigits(ctx, id)
	if err != nil {
		return "", err
	}
	return string(digits), nil
}

// liveDigits returns the challenge id and its digits as ASCII, or
// ninsho.CodeNotFound when it cannot be answered any more.
func (s *Service) liveDigits(ctx context.Context, id string) (*Challenge, []byte, error) {
	if !ninsho.ValidID(id) {
		return nil, nil, ninsho.E(ninsho.CodeNotFound)
	}
	c, err := s.Store.Challenge(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if !s.live(c, s.Clock.Now()) {
		return nil, nil, ninsho.E(ninsho.CodeNotFound)
	}
	digits, err := s.open(c)
	if err != nil {
		return nil, nil, err
	}
	return c, digits, nil
}

// live reports whether c can still be answered at now.
func (s *Service) live(c *Challenge, now time.Time) bool {
	return c.SolvedAt == nil && now.Before(c.ExpiresAt) && c.Attempts < s.maxAttempts()
}

// open returns the digits of c as ASCII.
func (s *Service) open(c *Challenge) ([]byte, error) {
	digits, err := s.Box.Open(c.SealedDigits, sealAD(c.ID))
	if err != nil {
		return nil, ninsho.Internal("captcha: open digits of %s: %w", c.ID, err)
	}
	for _, d := range digits {
		if d < '0' || d > '9' {
			return nil, ninsho.Internal("captcha: digits of %s are not digits", c.ID)
		}
	}
	return digits, nil
}

// sealAD binds sealed digits to their challenge.
func sealAD(id string) []byte { return []byte("captcha:" + id) }

// randomDigits returns n uniformly random ASCII digits from r.
func randomDigits(r ninsho.Random, n int) []byte {
	out := make([]byte, 0, n)
	buf := make([]byte, n+4)
	for len(out) < n {
		ninsho.ReadRandom(r, buf)
		for _, b := range buf {
			if b < 250 && len(out) < n { // 250 = 25×10: no modulo bias
				out = append(out, '0'+b%10)
			}
		}
	}
	return out
}

// normalize returns answer in NFKC without spaces. ok is false for an
// answer too long to be right, which is not normalised.
func normalize(answer string) (s string, ok bool) {
	if len(answer) > maxAnswer {
		return "", false
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, norm.NFKC.String(answer)), true
}

// ImagePath returns the path of the challenge's PNG image in the JSON API
// (DESIGN §5), which pages use too.
func ImagePath(id string) string { return "/api/v1/captcha/" + id + ".png" }

// AudioPath returns the path of the challenge's WAV audio with the digits
// spoken in lang ("ja" or "en"; "" lets the server choose).
func AudioPath(id, lang string) string {
	p := "/api/v1/captcha/" + id + ".wav"
	if lang != "" {
		p += "?lang=" + lang
	}
	return p
}
