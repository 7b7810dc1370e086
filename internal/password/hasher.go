// Package password hashes and verifies passwords and checks new ones against
// the password policy.
//
// Hashes are argon2id PHC strings ($argon2id$v=19$m=19456,t=2,p=1$salt$key).
// Hashes imported from other systems — argon2i, bcrypt ($2a$, $2b$, $2y$),
// PBKDF2 ($pbkdf2-sha256$, $pbkdf2-sha512$, $pbkdf2$ with HMAC-SHA1, and
// Django's pbkdf2_sha256$), scrypt
// ($scrypt$) and Firebase's modified scrypt ($firebase-scrypt$, see
// Imported) — are verified too and reported as needing a rehash, so they
// become argon2id at the next successful sign-in.
//
// # Normalisation
//
// Passwords are normalised with Unicode NFKC before they are hashed, verified
// or checked against the policy, as NIST SP 800-63B §5.1.1.2 recommends. A
// password typed in full-width characters (ｐａｓｓｗｏｒｄ１２３, which a
// Japanese input method produces easily) therefore equals the same password
// typed in half-width characters, and a password set on a phone matches the
// one typed on a PC. NFKC does not change case or remove spaces.
//
// For a hash that is not argon2id with the current Params (an imported one,
// or one from before a change of Params), Verify also tries the password
// exactly as typed when NFKC changes it, so that hashes from systems that did
// not normalise keep working; a match that way is rehashed in NFKC form.
// For hashes written here this accepts nothing new: they are of NFKC text,
// which NFKC leaves unchanged.
//
// All hashing runs through a Limiter so that the server refuses excess load
// instead of exhausting CPU and memory.
package password

import (
	"context"
	"crypto/subtle"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ninsho/ninsho/internal/password/argon2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/text/unicode/norm"

	"github.com/ninsho/ninsho/internal/ninsho"
)

// Normalize returns plain in the form that is hashed and measured: NFKC.
func Normalize(plain string) string { return norm.NFKC.String(plain) }

// Same reports whether two typings of a password are the same password once
// normalised ("password" and "password confirmation" fields: one typed in
// full-width characters matches the other typed half-width).
func Same(a, b string) bool { return a == b || Normalize(a) == Normalize(b) }

// Hasher hashes and verifies passwords. Set Params (DefaultParams in
// production), Limiter (nil runs hashing unbounded, for tests and tools) and
// Random (nil means ninsho.SecureRandom), then use it by pointer; do not change
// the fields once it is in use. A Hasher is safe for concurrent use.
type Hasher struct {
	Params  Params
	Limiter *Limiter
	Random  ninsho.Random

	mu    sync.Mutex
	dummy dummyHash

	// current is a moving estimate (observeCurrent) of one derivation with
	// the current Params, in nanoseconds: what a wrong password against
	// a cheaper imported hash is padded to (Verify).
	current atomic.Int64
}

// dummyHash is an encoded hash with the Params it was made for.
type dummyHash struct {
	params  Params
	encoded string
}

// Hash returns the argon2id PHC string of Normalize(plain) with h.Params and
// a fresh random salt. Errors: ninsho.CodeOverloaded from the Limiter;
// ninsho.CodeInternal for invalid Params, a failing random source or ctx
// ending while waiting.
func (h *Hasher) Hash(ctx context.Context, plain string) (string, error) {
	p := h.Params
	if err := p.Validate(); err != nil {
		return "", ninsho.Internal("%w", err)
	}
	salt := make([]byte, p.SaltLen)
	if _, err := io.ReadFull(h.random(), salt); err != nil {
		return "", ninsho.Internal("password: random source: %w", err)
	}
	n := Normalize(plain)
	var key []byte
	if err := h.run(ctx, func() {
		key = argon2.IDKey([]byte(n), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	}); err != nil {
		return "", err
	}
	return encodeArgon2id(p, salt, key), nil
}

// Verify reports whether plain matches encoded, a hash made by Hash or
// imported (argon2id, argon2i, bcrypt, PBKDF2-SHA256, Django's PBKDF2,
// scrypt, Firebase's scrypt: Imported). needsRehash is true
// when plain matched and encoded should be replaced by Hash(plain): it is not
// argon2id, or its parameters or salt or key lengths differ from h.Params, or
// only the un-normalised plain matched. Keys are compared in constant time.
//
// A mismatch is ok == false with a nil error. Errors: ninsho.CodeOverloaded
// from the Limiter; ninsho.CodeInternal for a malformed or unsupported
// encoded hash (Verify never panics on one) and for ctx ending while waiting.
func (h *Hasher) Verify(ctx context.Context, plain, encoded string) (ok, needsRehash bool, err error) {
	check, rehash, err := h.verifier(encoded)
	if err != nil {
		return false, false, ninsho.Internal("%w", err)
	}
	n := Normalize(plain)
	var matched, rawMatched bool
	var took time.Duration
	err = h.run(ctx, func() {
		start := time.Now()
		matched = check(n)
		// Only a hash written elsewhere or with other Params can be of
		// un-normalised text; skipping the second try for current hashes
		// keeps a failed attempt at one derivation.
		if !matched && rehash && n != plain {
			rawMatched = check(plain)
		}
		took = time.Since(start)
	})
	if err != nil {
		return false, false, err
	}
	if !rehash {
		h.observeCurrent(took)
	}
	if !matched && !rawMatched {
		if rehash {
			if err := h.padToCurrent(ctx, n, took); err != nil {
				return false, false, err
			}
		}
		return false, false, nil
	}
	return true, rehash || rawMatched, nil
}

// observeCurrent folds the time of one derivation with the current Params
// into h.current: down by half the difference, up by an eighth, so that it
// follows the quicker derivations (a cold first one, with its memory still
// to fault in, or one slowed by a busy moment does not hold it up: padding
// past what an unknown identifier costs would tell imported accounts apart
// as surely as answering sooner — found from outside, 73–93 ms against 58).
func (h *Hasher) observeCurrent(d time.Duration) {
	for {
		old := h.current.Load()
		next := int64(d)
		switch {
		case old == 0:
		case next < old:
			next = old + (next-old)/2
		default:
			next = old + (next-old)/8
		}
		if h.current.CompareAndSwap(old, next) {
			return
		}
	}
}

// padToCurrent makes a wrong password against an imported hash that took
// took answer no sooner than one against the current argon2id, which is what
// an unknown identifier costs (VerifyDummy). A hash written elsewhere may be
// far cheaper than ours (PBKDF2 with few iterations, bcrypt cost 4), and the
// difference would tell an attacker which identifiers exist. It waits out
// the difference to the measured time of a current derivation, after the
// hashing slot is given back (waiting costs no CPU and holds no slot); before
// any current derivation was measured it derives one. A costlier imported
// hash is not padded: it answers later, until its first sign-in upgrades it.
func (h *Hasher) padToCurrent(ctx context.Context, n string, took time.Duration) error {
	target := time.Duration(h.current.Load())
	if target == 0 {
		_, _, err := h.Verify(ctx, n, h.dummyHash()) // measures it
		return err
	}
	if took >= target {
		return nil
	}
	t := time.NewTimer(target - took)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ninsho.Internal("password: %w", ctx.Err())
	}
}

// VerifyDummy spends the time and memory of a Verify of plain against a hash
// with the current Params, and always fails. Call it when the identifier is
// unknown, so that unknown and known identifiers cost the same (enumeration
// safety) and go through the same Limiter. It returns only the Limiter's
// errors, which the caller reports as it would for a real account.
func (h *Hasher) VerifyDummy(ctx context.Context, plain string) error {
	_, _, err := h.Verify(ctx, plain, h.dummyHash())
	return err
}

// dummyHash returns an argon2id hash with the current Params whose key
// nobody knows. Making it costs no hashing: salt and key are random bytes.
func (h *Hasher) dummyHash() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.Params
	if h.dummy.encoded == "" || h.dummy.params != p {
		salt := make([]byte, min(max(p.SaltLen, minSaltLen), maxSaltLen))
		key := make([]byte, min(max(p.KeyLen, minKeyLen), maxKeyLen))
		// A failing random source leaves zero bytes: still a hash of
		// the right cost that no password matches in practice.
		_, _ = io.ReadFull(h.random(), salt)
		_, _ = io.ReadFull(h.random(), key)
		h.dummy = dummyHash{params: p, encoded: encodeArgon2id(p, salt, key)}
	}
	return h.dummy.encoded
}

// verifier decodes encoded and returns a function that reports whether a
// password matches it, and whether a match should be rehashed.
func (h *Hasher) verifier(encoded string) (check func(string) bool, rehash bool, err error) {
	switch {
	case strings.HasPrefix(encoded, "$argon2"):
		a, err := decodeArgon2(encoded)
		if err != nil {
			return nil, false, err
		}
		rehash = a.variant != "argon2id" || a.params != h.Params
		return func(plain string) bool {
			return subtle.ConstantTimeCompare(a.derive(plain), a.key) == 1
		}, rehash, nil

	case strings.HasPrefix(encoded, "$2a$"), strings.HasPrefix(encoded, "$2b$"), strings.HasPrefix(encoded, "$2y$"):
		hash := []byte(encoded)
		cost, err := bcrypt.Cost(hash)
		if err != nil {
			return nil, false, errors.New("password: malformed bcrypt hash")
		}
		if cost > maxBcryptCost {
			return nil, false, errors.New("password: bcrypt cost out of range")
		}
		// bcrypt reads at most 72 bytes of the password, as the systems
		// that wrote these hashes did.
		return func(plain string) bool {
			return bcrypt.CompareHashAndPassword(hash, []byte(plain)) == nil
		}, true, nil
	}
	check, err = importedVerifier(encoded)
	return check, err == nil, err
}

// run calls fn through the Limiter, if there is one.
func (h *Hasher) run(ctx context.Context, fn func()) error {
	if h.Limiter == nil {
		if err := ctx.Err(); err != nil {
			return ninsho.Internal("password: %w", err)
		}
		fn()
		return nil
	}
	return h.Limiter.Do(ctx, fn)
}

func (h *Hasher) random() ninsho.Random {
	if h.Random == nil {
		return ninsho.SecureRandom
	}
	return h.Random
}
