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
// an internationalised domain (例え.jp) is stored as its A-labels
// (xn--r8jz45g.jp); see parseEmail for the exact rules. Phone numbers are
// parsed with the realm's default region and stored in E.164 form
// (+819012345678).
//
// Display and Mask turn a stored value back into what people read: the
// domain's U-labels, and a phone number in the realm's national format
// (090-1234-5678) when it belongs to the realm's country.
//
// The package is pure: it does no I/O and is safe for concurrent use.
package identifier

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/net/idna"
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

// Identifier is a normalised e-mail address (lowercase, domain in A-labels:
// "taro@xn--r8jz45g.jp") or phone number (E.164, "+819012345678").
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
// (fixed line, VoIP, toll-free, pager …, and every non-geographic number:
// NonGeographic) and ninsho.CodeIdentifierInvalid for
// anything that is not a phone number.
func RequireMobile(id Identifier) error {
	if id.Kind != KindPhone {
		return invalid("not a phone number")
	}
	num, err := phonenumbers.Parse(id.Value, "")
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return invalid("not a valid phone number")
	}
	if NonGeographic(num) {
		return ninsho.FieldError(ninsho.CodePhoneNotMobile, field)
	}
	switch phonenumbers.GetNumberType(num) {
	case phonenumbers.MOBILE, phonenumbers.FIXED_LINE_OR_MOBILE:
		return nil
	}
	return ninsho.FieldError(ninsho.CodePhoneNotMobile, field)
}

// NonGeographic reports whether num belongs to no country but to a global
// service (region "001": satellite phones +881 and Inmarsat +870,
// international networks +882/+883, global freephone and premium numbers):
// such numbers are expensive to reach and a favourite of SMS pumping, and no
// customer's phone of a shop's country is one, so codes never go to them.
func NonGeographic(num *phonenumbers.PhoneNumber) bool {
	return phonenumbers.GetRegionCodeForNumber(num) == phonenumbers.UNKNOWN_REGION ||
		phonenumbers.GetRegionCodeForNumber(num) == "001"
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

// imeMap maps the characters a Japanese input method produces when a person
// means '.' or '-' but NFKC leaves alone: the ideographic full stop (U+3002;
// NFKC already maps the half-width U+FF61 to it), the Unicode dashes and
// minus signs, and the long vowel mark ー (U+30FC; NFKC maps the half-width
// U+FF70 to it) where it follows an ASCII character or starts the input —
// after kana it is the mark itself, as in the domain メール.jp.
func imeMap(s string) string {
	if !strings.ContainsFunc(s, isIMEMark) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	prev := rune(0)
	for _, r := range s {
		switch {
		case r == '\u3002':
			b.WriteByte('.')
		case r == '\u30fc' && prev >= utf8.RuneSelf:
			b.WriteRune(r)
		case isIMEMark(r):
			b.WriteByte('-')
		default:
			b.WriteRune(r)
		}
		prev = r
	}
	return b.String()
}

// isIMEMark reports whether imeMap may replace r.
func isIMEMark(r rune) bool {
	switch r {
	case '\u3002', '\u30fc', '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2015', '\u2212', '\uff70':
		return true
	}
	return false
}

// domainProfile converts the domain of an e-mail address, typed in Unicode
// (例え.jp) or as A-labels (xn--r8jz45g.jp), to A-labels and back. It is
// idna.Lookup (UTS #46 non-transitional mapping of case and width, IDNA2008
// validity, the Bidi and ContextJ rules, A-labels decoded and checked)
// without the check of hyphens in the third and fourth place of a label:
// browsers drop it too (labels like r3---sn-abc exist), and without it no
// ASCII domain accepted before is refused now.
var domainProfile = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.Transitional(false), idna.CheckHyphens(false))

// parseEmail checks and normalises an e-mail address. The rules are those of
// addresses people really have, not all of RFC 5322:
//
//   - exactly one '@', no spaces, no display name ("Taro <t@example.com>"),
//     no quoted local part, no comments, no address literal ([192.0.2.1]);
//   - the local part ASCII only after NFKC and the input-method mapping
//     above: an internationalised local part (RFC 6531) is refused rather
//     than risk an address most mail providers cannot deliver to;
//   - local part of 1–64 characters from the RFC 5322 atext set and '.',
//     not starting with '.'; consecutive dots and a dot just before '@' are
//     accepted because older Japanese mobile carriers (docomo, au) issued such
//     addresses and their owners still use them;
//   - the domain may be internationalised: it is converted to A-labels by
//     domainProfile (a domain it refuses is refused), so 例え.jp,
//     ＸＮ--Ｒ８ＪＺ４５Ｇ.jp and xn--r8jz45g.jp are one domain;
//   - the A-label domain of at most 253 characters with at least two labels;
//     each label 1–63 letters, digits or hyphens, not starting or ending with
//     a hyphen; the top-level label not all digits;
//   - at most 254 characters in total, counted with the A-labels.
//
// The whole address is lowercased: the local part is case-sensitive in
// theory only, and treating Taro@ and taro@ as two accounts strands people.
func parseEmail(s string) (string, error) {
	s = imeMap(s)
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
	if domain == "" || len(domain) > MaxInputBytes {
		return "", invalid("domain empty or too long")
	}
	ascii, err := domainProfile.ToASCII(domain)
	if err != nil {
		return "", invalid("domain is not a valid domain name")
	}
	if err := checkDomain(ascii); err != nil {
		return "", err
	}
	v := toLowerASCII(local) + "@" + ascii
	if len(v) > MaxEmailLength {
		return "", invalid("e-mail address too long")
	}
	return v, nil
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
	s = imeMap(s)
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

// Display returns id as people read it: an e-mail address with its domain
// in Unicode (taro@例え.jp for taro@xn--r8jz45g.jp), a phone number in the
// national format of region when it has region's country code
// (090-1234-5678 in "JP") and in the international format otherwise
// (+1 201-555-0123). Parse(Display(id, region), region) gives id again. A
// value that does not parse is returned as it is.
func Display(id Identifier, region string) string {
	switch id.Kind {
	case KindEmail:
		return displayEmail(id.Value)
	case KindPhone:
		num, err := phonenumbers.Parse(id.Value, "")
		if err != nil {
			return id.Value
		}
		return displayPhone(num, region)
	}
	return id.Value
}

func displayEmail(v string) string {
	at := strings.LastIndexByte(v, '@')
	if at < 0 {
		return v
	}
	u, err := domainProfile.ToUnicode(v[at+1:])
	if err != nil {
		return v
	}
	return v[:at+1] + u
}

// displayPhone formats num nationally when it is dialled as a national
// number from region — the region's calling code, except that in the North
// American plan (+1) only the region's own numbers are (+1 876 is Jamaica,
// an international call from the United States), while the United
// Kingdom's plan includes Guernsey and Jersey —, internationally otherwise.
func displayPhone(num *phonenumbers.PhoneNumber, region string) string {
	region = strings.ToUpper(region)
	cc := num.GetCountryCode()
	if region != "" && cc == int32(phonenumbers.GetCountryCodeForRegion(region)) &&
		(cc != 1 || phonenumbers.GetRegionCodeForNumber(num) == region) {
		return phonenumbers.Format(num, phonenumbers.NATIONAL)
	}
	return phonenumbers.Format(num, phonenumbers.INTERNATIONAL)
}

// Mask returns id as Display shows it with most characters hidden, for
// showing where a code was sent so that a mistyped address is noticed
// without disclosing it:
//
//	taro@example.com        -> t***@e******.com
//	taro@mail.example.co.jp -> t***@m***.e******.c*.jp
//	taro@xn--r8jz45g.jp     -> t***@例*.jp
//	+819098765432 in "JP"   -> 090-****-5432
//	+12015550123 in "JP"    -> +1 ***-***-0123
//	+12015550123 in "US"    -> (***) ***-0123
//
// E-mail: the first character of the local part and of each domain label
// stays, the rest become '*', and the top-level domain is kept. Phone: the
// separators of the displayed format stay, and so do the last four digits
// and the first group (the country code, or the national prefix such as
// 090) as long as at least four digits are hidden; else only the last four,
// or only the last two. A value that does not parse is masked character by
// character, so Mask never returns it in the clear.
func Mask(id Identifier, region string) string {
	switch id.Kind {
	case KindEmail:
		return maskEmail(displayEmail(id.Value))
	case KindPhone:
		return maskPhone(id.Value, region)
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

// minHidden is the fewest digits a masked phone number hides.
const minHidden = 4

func maskPhone(v, region string) string {
	num, err := phonenumbers.Parse(v, "")
	if err != nil {
		return maskTail(v, 2)
	}
	rs := []rune(displayPhone(num, region))
	var digits []int // positions of the digits in rs
	first := -1      // digits in the first group
	for i, r := range rs {
		switch {
		case '0' <= r && r <= '9':
			digits = append(digits, i)
		case first < 0 && len(digits) > 0:
			first = len(digits)
		}
	}
	if first < 0 {
		first = len(digits)
	}
	lead, tail := first, 4
	switch n := len(digits); {
	case n-lead-tail >= minHidden:
	case n-tail >= minHidden:
		lead = 0
	default:
		lead, tail = 0, 2
	}
	for k, i := range digits {
		if k >= lead && k < len(digits)-tail {
			rs[i] = '*'
		}
	}
	return string(rs)
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
