package config

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ninsho/ninsho/internal/i18n"
)

// RealmPassword is a realm's policy for new passwords (realms[].password).
// The common-password list, the weakness rules and "no personal data" are
// always on, and the maximum stays 128 characters.
type RealmPassword struct {
	// MinLength is the fewest characters a new password may have; 0 is the
	// default, 8; otherwise between MinPasswordMinLength and
	// MaxPasswordMinLength.
	MinLength int `json:"min_length,omitempty"`
}

// Bounds of realms[].password.min_length.
const (
	MinPasswordMinLength = 8
	MaxPasswordMinLength = 64
)

// RealmCodes is a realm's verification codes (realms[].codes).
type RealmCodes struct {
	// Lifetime is how long a verification code of the realm can be used
	// after it was sent; 0 is the default, 10 minutes; otherwise between
	// MinCodeLifetime and MaxCodeLifetime.
	Lifetime Duration `json:"lifetime,omitempty"`
}

// Bounds of realms[].codes.lifetime.
const (
	MinCodeLifetime = 2 * time.Minute
	MaxCodeLifetime = 30 * time.Minute
)

// Bounds of realms[].risk.lock_ladder: at most MaxLockRungs durations, each
// between MinLockRung and MaxLockRung.
const (
	MaxLockRungs = 10
	MinLockRung  = time.Minute
	MaxLockRung  = 24 * time.Hour
)

// policyProblems checks the realm's offered languages, password policy,
// code lifetime and lock ladder; each problem names its setting relative to
// the realm.
func (r Realm) policyProblems() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if r.Locales != nil {
		supported := strings.Join(i18n.Locales(), ", ")
		if len(r.Locales) == 0 {
			bad("locales: at least one language (%s); leave it out to offer them all", supported)
		}
		for j, l := range r.Locales {
			switch {
			case !i18n.Supported(l):
				bad("locales[%d]: %q is not a supported language (%s)", j, l, supported)
			case slices.Index(r.Locales, l) != j:
				bad("locales[%d]: %q is listed twice", j, l)
			}
		}
		if len(r.Locales) > 0 && i18n.Supported(r.DefaultLocale) && !slices.Contains(r.Locales, r.DefaultLocale) {
			bad("locales: must include default_locale %q", r.DefaultLocale)
		}
	}
	if m := r.Password.MinLength; m != 0 && (m < MinPasswordMinLength || m > MaxPasswordMinLength) {
		bad("password.min_length: must be 0 (the default, 8) or between %d and %d", MinPasswordMinLength, MaxPasswordMinLength)
	}
	life := time.Duration(r.Codes.Lifetime)
	if life != 0 && (life < MinCodeLifetime || life > MaxCodeLifetime) {
		bad("codes.lifetime: must be 0 (the default, 10m) or between %v and %v", MinCodeLifetime, MaxCodeLifetime)
	}
	if life%time.Minute != 0 {
		bad("codes.lifetime: whole minutes, such as \"5m\" (messages say how many minutes a code lasts)")
	}
	if life == 0 {
		life = 10 * time.Minute
	}
	if w := time.Duration(r.CodeDeliveryTimeout); w > life && w <= MaxCodeDeliveryTimeout {
		bad("code_delivery_timeout: must not be longer than the codes' lifetime (%v)", life)
	}
	if l := r.Risk.LockLadder; l != nil {
		if len(l) == 0 || len(l) > MaxLockRungs {
			bad("risk.lock_ladder: 1 to %d durations; leave it out for the default (1m, 5m, 30m, 2h, 24h)", MaxLockRungs)
		}
		for j, d := range l {
			switch d := time.Duration(d); {
			case d < MinLockRung || d > MaxLockRung:
				bad("risk.lock_ladder[%d]: must be between %v and %v", j, MinLockRung, MaxLockRung)
			case j > 0 && d < time.Duration(l[j-1]):
				bad("risk.lock_ladder[%d]: must not be shorter than the lock before it (a repeated lock never gets shorter)", j)
			}
		}
	}
	return errs
}
