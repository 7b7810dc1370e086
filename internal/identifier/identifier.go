// Package identifier turns what people type into the sign-in box — an e-mail
// address or a phone number, often with full-width characters, stray spaces,
// a capitalised first letter or the national dialling format — into one
// normalised value that the store can look up.
//
// Normalisation, in order:
//
//  1. Input longer than MaxInputBytes or not valid UTF-8 is refused.
//  2. NFKC (full-width ＡＢＣ１２３＠ becomes ABC123@; the ideographic space
//     U+3000 becomes a space).
//  3. Leading and trailing white space and invisible format characters
//     (zero-width space, BOM) are trimmed.
//  4. Input that contains '@' is an e-mail address, anything else a phone
//     number.
//
// E-mail addresses are lowercased as a whole and checked for a sane shape;
// see parseEmail for the exact rules. Phone numbers are parsed with the
// realm's default region and stored in E.164 form (+819012345678).
//
// The package is pure: it does no I/O and is safe for concurrent use.
package identifier

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/unicode/norm"

	"github.com/ninsho/ninsho/internal/ninsho"
)

// Kind says whether an identifier is an e-mail address or a phone number.
// Its string values are stable and may be stored.
type Kind string

const (
	KindEmail Kind = "email"
	KindPhone Kind = "phone"
)

// Identifier is a normalised e-mail address (lowercase) or phone number
// (E.164, "+819012345678").
type Identifier struct {
	Kind  Kind
	Value string
}

// String returns the normalised value.
func (id Identifier) String() string { return id.Value }

// Normalized rebuilds the Identifier of a value that Parse returned before
// (and that was stored): an e-mail address when it holds "@", else a phone
// number. It does not validate.
func Normalized(v string) Identifier {
	if strings.Contains(v, "@") {
		return Identifier{Kind: KindEmail, Value: v}
	}
	return Identifier{Kind: KindPhone, Value: v}
}

// Limits on input and on e-mail addresses (RFC 5321 §4.5.3.1 and its errata:
// a deliverable address has at most 254 octets).
const (
	MaxInputBytes   = 320
	MaxEmailLength  = 254
	MaxLocalLength  = 64
	MaxDomainLength = 253
	maxLabelLength  = 63
)

// field is the input field that identifier errors are about.
const field = "identifier"

// invalid returns the catalogue error for an unusable identifier. The reason
// is the logged cause; people see only the catalogue message.
func invalid(reason string) error {
	return ninsho.FieldError(ninsho.CodeIdentifierInvalid, field).Wrap(errors.New("identifier: " + reason))
}

// Parse normalises raw, an e-mail address or a phone number as typed, and
// reports which it is. region is the realm's default region for phone numbers
// typed without a country code, as an ISO 3166-1 alpha-2 code such as "JP" or
// "US" ("" accepts only numbers written with +country code).
//
// Parse never panics. Every failure is
// ninsho.FieldError(ninsho.CodeIdentifierInvalid, "identifier") with the
// reason as its logged cause. Parse of a returned Value gives the same
// Identifier again.
func Parse(raw, region string) (Identifier, error) {
	s, err := clean(raw)
	if err != nil {
		return Identifier{}, err
	}
	if strings.ContainsRune(s, '@') {
		v, err := parseEmail(s)
		if err != nil {
			return Identifier{}, err
		}
		return Identifier{Kind: KindEmail, Value: v}, nil
	}
	num, err := parsePhone(s, region)
	if err != nil {
		return Identifier{}, err
	}
	return Identifier{Kind: KindPhone, Value: phonenumbers.Format(num, phonenumbers.E164)}, nil
}

// ParsePhoneForSMS parses raw like Parse but accepts only a phone number that
// can receive text messages: a number typed as an e-mail address is
// ninsho.CodeIdentifierInvalid and a number that is not a mobile number is
// ninsho.CodePhoneNotMobile (both about the field "identifier").
func ParsePhoneForSMS(raw, region string) (Identifier, error) {
	id, err := Parse(raw, region)
	if err != nil {
		return Identifier{}, err
	}
	if err := RequireMobile(id); err != nil {
		return Identifier{}, err
	}
	return id, nil
}

// RequireMobile reports whether id, as returned by Parse, can receive text
// messages. It returns nil for mobile numbers and for numbers whose type the
// numbering plan cannot tell from a fixed line (FIXED_LINE_OR_MOBILE, as in
// the United States), ninsho.CodePhoneNotMobile for every other phone number
// (fixed line, VoIP, toll-free, pager …) and ninsho.CodeIdentifierInvalid for
// anything that is not a phone number.
func RequireMobile(id Identifier) error {
	if id.Kind != KindPhone {
		return invalid("not a phone number")
	}
	num, err := phonenumbers.Parse(id.Value, "")
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return invalid("not a valid phone number")
	}
	switch phonenumbers.GetNumberType(num) {
	case phonenumbers.MOBILE, phonenumbers.FIXED_LINE_OR_MOBILE:
		return nil
	}
	return ninsho.FieldError(ninsho.CodePhoneNotMobile, field)
}

// clean applies the steps common to both kinds: size and encoding checks,
// NFKC and trimming.
func clean(raw string) (string, error) {
	if len(raw) > MaxInputBytes {
		return "", invalid("input too long")
	}
	if !utf8.ValidString(raw) {
		return "", invalid("input is not valid UTF-8")
	}
	s := strings.TrimFunc(norm.NFKC.String(raw), isBlank)
	if s == "" {
		return "", invalid("empty")
	}
	return s, nil
}

// isBlank reports whether r is white space (including U+3000, the
// ideographic space) or an invisible character that copy and paste drags
// along: zero-width space, joiners, word joiner and the byte order mark.
func isBlank(r rune) bool {
	switch r {
	case '\u200b', '\u200c', '\u200d', '\u2060', '\ufeff':
		return true
	}
	return unicode.IsSpace(r)
}

// imeReplacer maps the characters a Japanese input method produces when a
// person means '.' or '-' but NFKC leaves alone: the ideographic full stop
// (U+3002; NFKC already maps the half-width U+FF61 to it), the long vowel mark
// ー (U+30FC) and the Unicode dashes and minus signs.
var imeReplacer = strings.NewReplacer(
	"\u3002", ".",
	"\u30fc", "-", "\u2010", "-", "\u2011", "-", "\u2012", "-", "\u2013", "-",
	"\u2014", "-", "\u2015", "-", "\u2212", "-", "\uff70", "-",
)

// parseEmail checks and normalises an e-mail address. The rules are those of
// addresses people really have, not all of RFC 5322:
//
//   - exactly one '@', no spaces, no display name ("Taro <t@example.com>"),
//     no quoted local part, no comments, no address literal ([192.0.2.1]);
//   - ASCII only after NFKC and the input-method mapping above: an
//     internationalised address (RFC 6531) is refused rather than risk a
//     look-alike or an address most mail providers cannot deliver to;
//   - local part of 1–64 characters from the RFC 5322 atext set and '.',
//     not starting with '.'; consecutive dots and a dot just before '@' are
//     accepted because older Japanese mobile carriers (docomo, au) issued such
//     addresses and their owners still use them;
//   - domain of at most 253 characters with at least two labels; each label
//     1–63 letters, digits or hyphens, not starting or ending with a hyphen;
//     the top-level label not all digits;
//   - at most 254 characters in total.
//
// The whole address is lowercased: the local part is case-sensitive in
// theory only, and treating Taro@ and taro@ as two accounts strands people.
func parseEmail(s string) (string, error) {
	s = imeReplacer.Replace(s)
	if len(s) > MaxEmailLength {
		return "", invalid("e-mail address too long")
	}
	at := strings.IndexByte(s, '@')
	if at != strings.LastIndexByte(s, '@') {
		return "", invalid("more than one @")
	}
	local, domain := s[:at], s[at+1:]
	if local == "" || len(local) > MaxLocalLength {
		return "", invalid("local part empty or too long")
	}
	if local[0] == '.' {
		return "", invalid("local part starts with a dot")
	}
	for i := 0; i < len(local); i++ {
		if !isAtext(local[i]) && local[i] != '.' {
			return "", invalid("character not allowed in local part")
		}
	}
	if err := checkDomain(domain); err != nil {
		return "", err
	}
	return toLowerASCII(s), nil
}

func checkDomain(d string) error {
	if d == "" || len(d) > MaxDomainLength {
		return invalid("domain empty or too long")
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return invalid("domain has no dot")
	}
	for _, l := range labels {
		if l == "" || len(l) > maxLabelLength {
			return invalid("domain label empty or too long")
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return invalid("domain label starts or ends with a hyphen")
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(isAlnum(c) || c == '-') {
				return invalid("character not allowed in domain")
			}
		}
	}
	tld := labels[len(labels)-1]
	if strings.Trim(tld, "0123456789") == "" {
		return invalid("numeric top-level domain")
	}
	return nil
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// isAtext reports whether c is in the RFC 5322 atext set.
func isAtext(c byte) bool {
	if isAlnum(c) {
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

func toLowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// parsePhone parses s, which holds no '@', as a phone number. Only digits,
// '+', spaces and the usual separators - ( ) . / are accepted: phonenumbers
// itself would also read letters ("0120-FLOWERS") and skip leading junk,
// which for a sign-in identifier means a typo, not a number. Extensions are
// refused, and the number must be valid (not merely possible) for its region.
func parsePhone(s, region string) (*phonenumbers.PhoneNumber, error) {
	s = imeReplacer.Replace(s)
	digits := 0
	for i, r := range s {
		switch {
		case '0' <= r && r <= '9':
			digits++
		case r == '+' && i == 0:
		case r == '-', r == '(', r == ')', r == '.', r == '/', unicode.IsSpace(r):
		default:
			return nil, invalid("character not allowed in phone number")
		}
	}
	// E.164 allows 15 digits; a few more leave room for a trunk or
	// international prefix typed in front of them.
	if digits < 3 || digits > 20 {
		return nil, invalid("phone number too short or too long")
	}
	num, err := phonenumbers.Parse(s, strings.ToUpper(region))
	if err != nil {
		return nil, invalid("not a phone number")
	}
	if num.GetExtension() != "" {
		return nil, invalid("phone number has an extension")
	}
	if !phonenumbers.IsValidNumber(num) {
		return nil, invalid("not a valid phone number")
	}
	return num, nil
}

// Mask returns id with most characters hidden, for showing where a code was
// sent so that a mistyped address is noticed without disclosing it:
//
//	taro@example.com       -> t***@e******.com
//	taro@mail.example.co.jp -> t***@m***.e******.c*.jp
//	+819012345678          -> +81 ** **** **78
//
// E-mail: the first character of the local part and of each domain label
// stays, the rest become '*', and the top-level domain is kept. Phone: the
// country code and the last two digits stay, grouped as in the international
// format. A value that does not parse is masked character by character, so
// Mask never returns it in the clear.
func Mask(id Identifier) string {
	switch id.Kind {
	case KindEmail:
		return maskEmail(id.Value)
	case KindPhone:
		return maskPhone(id.Value)
	}
	return maskTail(id.Value, 0)
}

func maskEmail(v string) string {
	at := strings.LastIndexByte(v, '@')
	if at < 0 {
		return maskTail(v, 0)
	}
	var b strings.Builder
	b.WriteString(keepFirst(v[:at]))
	b.WriteByte('@')
	labels := strings.Split(v[at+1:], ".")
	for i, l := range labels {
		if i > 0 {
			b.WriteByte('.')
		}
		if i == len(labels)-1 && i > 0 {
			b.WriteString(l)
		} else {
			b.WriteString(keepFirst(l))
		}
	}
	return b.String()
}

// keepFirst returns s with every character but the first replaced by '*'.
func keepFirst(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	if size == 0 {
		return ""
	}
	return string(r) + strings.Repeat("*", utf8.RuneCountInString(s[size:]))
}

func maskPhone(v string) string {
	num, err := phonenumbers.Parse(v, "")
	if err != nil {
		return maskTail(v, 2)
	}
	// "+81 90-1234-5678": keep the country code, turn separators into
	// spaces and hide all national digits but the last two.
	f := phonenumbers.Format(num, phonenumbers.INTERNATIONAL)
	sp := strings.IndexByte(f, ' ')
	if !strings.HasPrefix(f, "+") || sp < 0 {
		return maskTail(v, 2)
	}
	national := []byte(f[sp:])
	visible := 2
	for i := len(national) - 1; i >= 0; i-- {
		c := national[i]
		switch {
		case '0' <= c && c <= '9':
			if visible > 0 {
				visible--
			} else {
				national[i] = '*'
			}
		default:
			national[i] = ' '
		}
	}
	return f[:sp] + string(national)
}

// maskTail hides every character of s except the last keep ones and a
// leading '+'.
func maskTail(s string, keep int) string {
	rs := []rune(s)
	for i := range rs {
		if i < len(rs)-keep && !(i == 0 && rs[i] == '+') {
			rs[i] = '*'
		}
	}
	return string(rs)
}
