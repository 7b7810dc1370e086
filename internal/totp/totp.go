// Package totp holds the rules of authenticator apps (RFC 6238): a secret of
// 20 random bytes, the otpauth:// URL and its QR code drawn locally, and the
// check of a typed code — SHA-1, 6 digits, 30-second steps, one step of clock
// drift either way, and a replay guard on the last accepted step, which
// github.com/pquerna/otp does not keep and the caller stores per account.
package totp

import (
	"bytes"
	"crypto/subtle"
	"encoding/base32"
	"image/png"
	"net/url"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"

	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// The parameters every authenticator app understands (Google Authenticator
// ignores any other).
const (
	Digits     = 6
	Period     = 30 // seconds
	SecretSize = 20 // bytes, the size of an SHA-1 block key (RFC 4226 §4)
	// Skew is how many steps before and after the current one are accepted:
	// a phone's clock a little off still works, ±2 does not.
	Skew = 1
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewSecret returns a new secret: SecretSize bytes from r in base32 without
// padding (32 characters). A broken random source panics, as everywhere.
func NewSecret(r ninsho.Random) string {
	b := make([]byte, SecretSize)
	ninsho.ReadRandom(r, b)
	return b32.EncodeToString(b)
}

// Grouped returns the secret in groups of four, for people who type it into
// their app: "ABCD EFGH IJKL …".
func Grouped(secret string) string {
	var sb strings.Builder
	for i := 0; i < len(secret); i += 4 {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(secret[i:min(i+4, len(secret))])
	}
	return sb.String()
}

// URL returns the otpauth:// URL of the key-URI format that authenticator
// apps read from the QR code: the label "issuer:account" (the realm's display
// name and the identifier as the person sees it) and the secret, issuer,
// algorithm, digits and period parameters. A colon in the issuer or account
// would split the label in the wrong place, so it becomes a space. Spaces are
// written %20, never "+", which some apps show as is.
func URL(issuer, account, secret string) string {
	issuer = strings.ReplaceAll(issuer, ":", " ")
	account = strings.ReplaceAll(account, ":", " ")
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + issuer + ":" + account}
	q := func(k, v string) string {
		return k + "=" + strings.ReplaceAll(url.QueryEscape(v), "+", "%20")
	}
	u.RawQuery = strings.Join([]string{
		q("secret", secret),
		q("issuer", issuer),
		q("algorithm", "SHA1"),
		q("digits", "6"),
		q("period", "30"),
	}, "&")
	return u.String()
}

// PNG draws the QR code of url as a size×size PNG image, locally.
func PNG(u string, size int) ([]byte, error) {
	key, err := otp.NewKeyFromURL(u)
	if err != nil {
		return nil, err
	}
	img, err := key.Image(size, size)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Step returns the 30-second step that t falls in (RFC 6238's T).
func Step(t time.Time) int64 {
	s := t.Unix()
	if s < 0 {
		return 0
	}
	return s / Period
}

// CodeAt returns the 6-digit code of secret at t, as the app shows it. Tests
// and the browser test compute codes with it.
func CodeAt(secret string, t time.Time) (string, error) {
	return generate(secret, Step(t), otp.DigitsSix)
}

func generate(secret string, step int64, digits otp.Digits) (string, error) {
	return hotp.GenerateCodeCustom(secret, uint64(step), hotp.ValidateOpts{
		Digits:    digits,
		Algorithm: otp.AlgorithmSHA1,
	})
}

// Verify checks the code typed at now against secret. lastStep is the step of
// the last code accepted for the account (0 when none): a code of that step
// or an earlier one is refused with ninsho.CodeTOTPReused, so a code seen
// over someone's shoulder cannot be used again. A code of the current step or
// of Skew steps either side is accepted, and its step is returned for the
// caller to store as the new lastStep. A wrong code fails with
// ninsho.CodeTOTPIncorrect (whose message tells to set the phone's clock to
// automatic); nothing typed fails with ninsho.CodeFieldRequired. Full-width
// digits, spaces and hyphens are accepted. Every candidate is computed and
// compared in constant time, whichever matches.
func Verify(secret, typed string, now time.Time, lastStep int64) (int64, error) {
	in, ok := parseCode(typed)
	if in == "" {
		return 0, ninsho.FieldError(ninsho.CodeFieldRequired, "code")
	}
	cur := Step(now)
	matched, fresh := int64(-1), int64(-1)
	for s := cur - Skew; s <= cur+Skew; s++ {
		if s < 0 {
			continue
		}
		want, err := generate(secret, s, otp.DigitsSix)
		if err != nil {
			return 0, ninsho.Internal("totp: secret cannot be decoded").Wrap(err)
		}
		eq := subtle.ConstantTimeCompare([]byte(want), []byte(in)) == 1 && ok
		if eq {
			matched = s
			if s > lastStep {
				fresh = s
			}
		}
	}
	switch {
	case fresh >= 0:
		return fresh, nil
	case matched >= 0:
		return 0, ninsho.FieldError(ninsho.CodeTOTPReused, "code")
	default:
		return 0, ninsho.FieldError(ninsho.CodeTOTPIncorrect, "code")
	}
}

// parseCode normalises what a person typed like every other verification
// code (code.NormalizeInput: full-width digits, spaces and hyphens) and says
// whether it is exactly Digits ASCII digits. The normalised text comes back
// either way, so that empty input can be told from a wrong one.
func parseCode(typed string) (string, bool) {
	s := code.NormalizeInput(typed)
	if len(s) != Digits {
		return s, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return s, false
		}
	}
	return s, true
}
