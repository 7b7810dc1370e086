package throttle

import (
	"crypto/sha256"
	"encoding/base64"
)

// maxPart is the longest key part kept as written; longer parts are hashed.
const maxPart = 64

// Key returns the counter key of a family, a realm and a subject, as
// "family|realm|subject". The family names what is counted and over which
// subjects, e.g. "signin.fail.addr" (failed passwords per client address) or
// "signin.fail.ident" (per identifier); the realm keeps realms' counts apart;
// the subject is the address, the prefix ("203.0.113.0/24"), the identifier
// or the account or device id.
//
// A part is kept as written when it is at most 64 bytes of ASCII letters,
// digits and ". : / _ -" (addresses, prefixes, ids, names); any other part is
// replaced by "~" and the base64url SHA-256 of it. A key is therefore at most
// 194 bytes whatever the input, and identifiers — e-mail addresses hold "@"
// and phone numbers "+" — are always hashed, so the counter table holds
// neither.
func Key(family, realm, subject string) string {
	return part(family) + "|" + part(realm) + "|" + part(subject)
}

func part(s string) string {
	if len(s) <= maxPart && plain(s) {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return "~" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// plain reports whether s holds only bytes that Key keeps as written.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.', c == ':', c == '/', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}
