package password

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/ninsho/ninsho/internal/ninsho"
)

// Policy is what a new password must meet, following NIST SP 800-63B §5.1.1.2:
// a minimum and maximum length, not a commonly used password, nothing taken
// from the account's own details — and no composition rules (no "must
// contain a digit and a symbol"). Lengths are counted in characters (runes)
// after NFKC. A zero field takes its DefaultPolicy value.
type Policy struct {
	MinLength int
	MaxLength int
}

// DefaultPolicy returns the policy of 8 to 128 characters.
func DefaultPolicy() Policy { return Policy{MinLength: 8, MaxLength: 128} }

// Personal holds the account's details a password must not contain. Any may
// be empty. Email and Phone are normalised identifiers (lowercase address,
// E.164 number) but other forms work too.
type Personal struct {
	Email string
	Phone string
	Name  string
}

// Minimum lengths of the personal details that Check looks for: shorter
// ones would refuse too many good passwords by coincidence.
const (
	minPersonalToken = 3
	minPhoneDigits   = 8
)

// passwordField is the input field that policy errors are about.
const passwordField = "password"

// Check returns nil if plain may be used as a new password, or the first rule
// it breaks, as ninsho.FieldError(code, "password"):
//   - ninsho.CodePasswordCharsInvalid when it is not valid UTF-8 or contains
//     a control character (C0 including NUL and tab, DEL, C1), a line or
//     paragraph separator, a bidirectional control or U+FFFD: nothing a
//     person types on a keyboard, and what would be hashed is not what they
//     see. Spaces, also inside, are allowed;
//   - ninsho.CodePasswordTooShort with the parameter min,
//   - ninsho.CodePasswordTooLong with the parameter max,
//   - ninsho.CodePasswordTooCommon when it is on the bundled list of common
//     passwords (ignoring case), as typed or once the spaces, invisible
//     characters and combining marks are taken out ("pass word1",
//     "1234\u200b5678"),
//   - ninsho.CodePasswordTooSimple when what is left once the spaces,
//     invisible characters (zero-width space, other format characters,
//     fillers) and combining marks are taken out is nothing, at most two
//     different characters ("aaaaaaab", "abababab", " "×7+"a"), a group of
//     up to three characters repeated ("abcabcabc"), or a run of characters
//     one or two code points apart up or down ("abcdefgh", "acegikmo",
//     "98765432", "ｆｅｄｃｂａ", digits running on through 0 as in
//     "78901234"): the "repetitive or sequential characters" of NIST SP
//     800-63B §5.1.1.2,
//   - ninsho.CodePasswordContainsPersonal when it contains, ignoring case, the
//     local part of who.Email (3 characters or more), the last 8 digits of
//     who.Phone (with or without separators such as '-' or spaces) or a word of
//     who.Name (3 characters or more).
//
// The policy is for new passwords only: signing in with an existing one
// never consults it. Check is safe for concurrent use.
func (p Policy) Check(plain string, who Personal) error {
	minLen, maxLen := p.MinLength, p.MaxLength
	if minLen <= 0 {
		minLen = DefaultPolicy().MinLength
	}
	if maxLen <= 0 {
		maxLen = DefaultPolicy().MaxLength
	}
	if !typable(plain) {
		return ninsho.FieldError(ninsho.CodePasswordCharsInvalid, passwordField)
	}
	n := Normalize(plain)
	switch count := utf8.RuneCountInString(n); {
	case count < minLen:
		return ninsho.FieldError(ninsho.CodePasswordTooShort, passwordField).WithParam("min", minLen)
	case count > maxLen:
		return ninsho.FieldError(ninsho.CodePasswordTooLong, passwordField).WithParam("max", maxLen)
	}
	lower := strings.ToLower(n)
	core := visibleCore(lower)
	if isCommonLower(lower) || isCommonLower(core) {
		return ninsho.FieldError(ninsho.CodePasswordTooCommon, passwordField)
	}
	if tooSimple(core) {
		return ninsho.FieldError(ninsho.CodePasswordTooSimple, passwordField)
	}
	if containsPersonal(lower, who) {
		return ninsho.FieldError(ninsho.CodePasswordContainsPersonal, passwordField)
	}
	return nil
}

// typable reports whether s is valid UTF-8 without control characters
// (Unicode category Cc: U+0000–U+001F, U+007F–U+009F), line or paragraph
// separators (U+2028, U+2029), bidirectional controls (U+202A–U+202E,
// U+2066–U+2069, which make what is shown differ from what was typed) or
// the replacement character U+FFFD, which is what a decoder makes of a
// broken sequence.
func typable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp) || unicode.Is(unicode.Bidi_Control, r) || r == utf8.RuneError {
			return false
		}
	}
	return true
}

// visibleCore returns lower without spaces, invisible characters and
// combining marks: what the weakness rules judge, so that padding or
// splitting a weak password with characters that show little or nothing
// does not make it acceptable.
func visibleCore(lower string) string {
	return strings.Map(func(r rune) rune {
		if invisible(r) || unicode.In(r, unicode.Mn, unicode.Me) {
			return -1
		}
		return r
	}, lower)
}

// tooSimple reports whether core, the visible core of a normalised
// lowercase password (visibleCore), shows nothing or repeats or counts:
// empty, at most two different characters, a group of up to three
// characters repeated, or characters one or two code points apart all the
// way up or down.
func tooSimple(core string) bool {
	rs := []rune(core)
	distinct := map[rune]bool{}
	for _, r := range rs {
		distinct[r] = true
	}
	if len(distinct) <= 2 {
		return true
	}
	for unit := 1; unit <= 3; unit++ {
		if len(rs) >= 2*unit && repeats(rs, unit) {
			return true
		}
	}
	step := next(rs[0], rs[1])
	if step == 0 || step < -2 || step > 2 {
		return false
	}
	for i := 2; i < len(rs); i++ {
		if next(rs[i-1], rs[i]) != step {
			return false
		}
	}
	return true
}

// repeats reports whether rs is its first unit characters over and over
// (the last repetition may be cut short).
func repeats(rs []rune, unit int) bool {
	for i := unit; i < len(rs); i++ {
		if rs[i] != rs[i-unit] {
			return false
		}
	}
	return true
}

// next is how far b follows a: the difference of their code points, with
// the digits counted round ("…8901…" and "…1098…" run on).
func next(a, b rune) rune {
	d := b - a
	if '0' <= a && a <= '9' && '0' <= b && b <= '9' {
		switch d {
		case -9:
			return 1
		case 9:
			return -1
		}
	}
	return d
}

// invisible reports whether r shows nothing: white space, a format
// character (zero-width space and joiners, soft hyphen, byte order mark,
// bidirectional marks) or one of the characters drawn as blank (fillers,
// the blank braille pattern, variation selectors).
func invisible(r rune) bool {
	switch {
	case unicode.IsSpace(r), unicode.In(r, unicode.Zs, unicode.Cf):
		return true
	case unicode.Is(unicode.Variation_Selector, r):
		return true
	}
	switch r {
	case '\u115f', '\u1160', '\u3164', '\uffa0', '\u2800', '\u034f', '\u180e':
		return true
	}
	return false
}

// containsPersonal reports whether lower, a normalised lowercase password,
// contains any of who's details.
func containsPersonal(lower string, who Personal) bool {
	if who.Email != "" {
		local := who.Email
		if at := strings.LastIndexByte(local, '@'); at >= 0 {
			local = local[:at]
		}
		local = strings.ToLower(Normalize(local))
		if utf8.RuneCountInString(local) >= minPersonalToken && strings.Contains(lower, local) {
			return true
		}
	}
	if phone := digitsOnly(who.Phone); len(phone) >= minPhoneDigits {
		if strings.Contains(withoutSeparators(lower), phone[len(phone)-minPhoneDigits:]) {
			return true
		}
	}
	if who.Name != "" {
		words := strings.FieldsFunc(strings.ToLower(Normalize(who.Name)), func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.Is(unicode.Mn, r)
		})
		for _, w := range words {
			if utf8.RuneCountInString(w) >= minPersonalToken && strings.Contains(lower, w) {
				return true
			}
		}
	}
	return false
}

func digitsOnly(s string) string {
	var b strings.Builder
	for _, r := range Normalize(s) {
		if '0' <= r && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// withoutSeparators drops the characters people put between the groups of a
// phone number, so that 090-1234-5678 and 090 1234 5678 are found too.
func withoutSeparators(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '-', ' ', '.', '(', ')', '/', '+':
			return -1
		}
		return r
	}, s)
}

// The common-password list: see data/NOTICE.md for its source and licence.
//
//go:embed data/common-passwords.txt.gz
var commonGzip []byte

// commonSet returns the list as a set of lowercase passwords, decompressed on
// first use (about 30,000 entries).
var commonSet = sync.OnceValue(func() map[string]struct{} {
	zr, err := gzip.NewReader(bytes.NewReader(commonGzip))
	if err != nil {
		panic("password: embedded common-password list: " + err.Error())
	}
	set := make(map[string]struct{}, 30000)
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		if w := strings.TrimSpace(sc.Text()); w != "" {
			set[strings.ToLower(Normalize(w))] = struct{}{}
		}
	}
	if err := sc.Err(); err != nil {
		panic("password: embedded common-password list: " + err.Error())
	}
	return set
})

// IsCommon reports whether plain, after NFKC and ignoring case, is on the
// bundled list of common passwords.
func IsCommon(plain string) bool { return isCommonLower(strings.ToLower(Normalize(plain))) }

func isCommonLower(lower string) bool {
	_, ok := commonSet()[lower]
	return ok
}
