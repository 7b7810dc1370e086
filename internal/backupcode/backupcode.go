// Package backupcode holds the rules of backup codes: 10 single-use codes of
// 10 characters from an alphabet without look-alikes, shown once, stored only
// as keyed hashes bound to the account, and matched in constant time against
// every stored hash.
package backupcode

import (
	"crypto/subtle"
	"io"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/ninsho/ninsho/internal/secret"
)

const (
	// Count is how many codes one set holds.
	Count = 10
	// Length is how many characters one code has (about 44 bits).
	Length = 10
	// Alphabet is the 21 characters codes are drawn from: lower case, with
	// no two that look alike. Both of 0/o, 1/l/i, 2/z, 5/s, 8/b and u/v are
	// left out; of 6/g and 9/q only the digit stays.
	Alphabet = "acdefhjkmnprtwxy34679"
)

// purpose separates backup-code hashes from every other keyed hash.
const purpose = "backup_code"

// Generate returns Count distinct codes of Length characters, each character
// drawn uniformly from Alphabet with bytes from r (rejection sampling: a byte
// at or above the largest multiple of len(Alphabet) is thrown away, so no
// character is likelier than another).
func Generate(r io.Reader) ([]string, error) {
	const n = len(Alphabet)
	const limit = 256 - 256%n
	buf := make([]byte, 64)
	pos := len(buf)
	next := func() (byte, error) {
		for {
			if pos == len(buf) {
				if _, err := io.ReadFull(r, buf); err != nil {
					return 0, err
				}
				pos = 0
			}
			b := buf[pos]
			pos++
			if int(b) < limit {
				return Alphabet[int(b)%n], nil
			}
		}
	}
	codes := make([]string, 0, Count)
	seen := make(map[string]bool, Count)
	for len(codes) < Count {
		c := make([]byte, Length)
		for i := range c {
			b, err := next()
			if err != nil {
				return nil, err
			}
			c[i] = b
		}
		if !seen[string(c)] {
			seen[string(c)] = true
			codes = append(codes, string(c))
		}
	}
	return codes, nil
}

// Format returns a code as shown to people: two groups of five joined by a
// hyphen ("acdef-hjkmn"). Normalize drops the hyphen again.
func Format(code string) string {
	if len(code) != Length {
		return code
	}
	return code[:Length/2] + "-" + code[Length/2:]
}

// Normalize turns what a person typed into the form codes are hashed in:
// NFKC (full-width letters and digits become ASCII), lower case, and spaces
// and dashes dropped — the hyphen, the full-width hyphen, every Unicode dash
// and the long-vowel mark ー that a Japanese keyboard types for "-". Anything
// else is kept so that it cannot match.
func Normalize(typed string) string {
	s := strings.ToLower(norm.NFKC.String(typed))
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || unicode.Is(unicode.Pd, r) || r == 'ー' || r == '−' || r == 'ｰ' {
			return -1
		}
		return r
	}, s)
}

// Hash returns the keyed hash a code is stored as, bound to accountID so
// that a code (or a copied row) is worth nothing on another account.
func Hash(h *secret.Hasher, accountID, code string) []byte {
	return h.Hash(purpose, accountID, Normalize(code))
}

// Match hashes typed for accountID and compares it with every stored hash in
// constant time, without stopping at the first match, and returns the index
// of the matching one. Nothing typed never matches.
func Match(h *secret.Hasher, accountID, typed string, stored [][]byte) (index int, ok bool) {
	want := Hash(h, accountID, typed)
	index = -1
	found := 0
	for i, s := range stored {
		eq := subtle.ConstantTimeCompare(want, s)
		index = subtle.ConstantTimeSelect(eq&(found^1), i, index)
		found |= eq
	}
	if Normalize(typed) == "" {
		return -1, false
	}
	return index, found == 1
}
