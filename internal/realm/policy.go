package realm

import (
	"slices"
	"time"

	"github.com/ninsho/ninsho/internal/i18n"
)

// Offers reports whether r offers locale (a catalogue locale such as "en"):
// one of r.Locales, or any supported language when r lists none. A nil
// realm offers every supported language.
func (r *Realm) Offers(locale string) bool {
	if !i18n.Supported(locale) {
		return false
	}
	return r == nil || len(r.Locales) == 0 || slices.Contains(r.Locales, locale)
}

// Offered returns the languages r offers, in the catalogue's order.
func (r *Realm) Offered() []string {
	var out []string
	for _, l := range i18n.Locales() {
		if r.Offers(l) {
			out = append(out, l)
		}
	}
	return out
}

// Language is the one rule of i18n.For within r: the language the person
// chose (asked), else the account's saved language (saved), else r's
// default locale, else i18n.Default — where asked and saved count only when
// r offers them (a tag such as "en-US" is its language). A nil realm offers
// every supported language and has no default.
func (r *Realm) Language(asked, saved string) string {
	def := ""
	if r != nil {
		def = r.DefaultLocale
	}
	return i18n.For(r.offered(asked), r.offered(saved), def)
}

// offered returns the catalogue locale of tag when r offers it, else "".
func (r *Realm) offered(tag string) string {
	if l := i18n.Canonical(tag); l != "" && r.Offers(l) {
		return l
	}
	return ""
}

// DefaultPasswordMinLength is the fewest characters of a new password when
// the realm does not say (realms[].password.min_length).
const DefaultPasswordMinLength = 8

// PasswordMin returns the fewest characters a new password of r may have.
func (r *Realm) PasswordMin() int {
	if r != nil && r.PasswordMinLength > 0 {
		return r.PasswordMinLength
	}
	return DefaultPasswordMinLength
}

// DefaultCodeLifetime is how long a verification code can be used when the
// realm does not say (realms[].codes.lifetime).
const DefaultCodeLifetime = 10 * time.Minute

// CodeLifetime returns how long a verification code of r can be used after
// it was sent.
func (r *Realm) CodeLifetime() time.Duration {
	if r != nil && r.CodeLifetimeFor > 0 {
		return r.CodeLifetimeFor
	}
	return DefaultCodeLifetime
}

// japanTime is Japan Standard Time (no daylight saving).
var japanTime = time.FixedZone("JST", 9*60*60)

// Location is the time zone the realm's answers state times in: Japan time
// for a realm whose default language is Japanese, UTC otherwise (docs/api.md,
// Conventions), whatever language an answer is in.
func (r *Realm) Location() *time.Location {
	if r != nil && r.DefaultLocale == "ja" {
		return japanTime
	}
	return time.UTC
}
