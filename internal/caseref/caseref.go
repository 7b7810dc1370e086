// Package caseref makes and reads the reference numbers people quote to
// support: a one-letter kind, then eight characters from an Alphabet without
// look-alikes in two groups of four ("R-7KP4-MX3C"). The kind letter says what
// the number refers to, so staff can route it before looking it up.
//
// A reference number is not a secret and proves nothing: it only finds a case.
package caseref

import (
	"strings"

	"golang.org/x/text/unicode/norm"

	"github.com/ninsho/ninsho/internal/ninsho"
)

// Kinds of reference numbers.
const (
	KindRecovery   byte = 'R' // a document recovery case (internal/recovery)
	KindHelp       byte = 'H' // a "help me sign in" request
	KindSuspension byte = 'S' // an account suspension
)

// Alphabet is the 20 characters the eight random characters are drawn from:
// upper case and digits without 0/O, 1/I/L, 2/Z, 5/S, 8/B, U/V, 6/G and 9/Q.
const Alphabet = "ACDEFHJKMNPRTWXY3479"

// New returns a fresh reference number of the given kind, the eight
// characters drawn uniformly from the Alphabet with bytes from r (about 34
// bits: unique enough to find a case, with the store's unique key as the
// guard).
func New(kind byte, r ninsho.Random) string {
	const n = len(Alphabet)
	const limit = 256 - 256%n
	out := make([]byte, 0, 11)
	out = append(out, kind, '-')
	buf := make([]byte, 16)
	pos := len(buf)
	for count := 0; count < 8; {
		if pos == len(buf) {
			ninsho.ReadRandom(r, buf)
			pos = 0
		}
		b := buf[pos]
		pos++
		if int(b) >= limit {
			continue
		}
		if count == 4 {
			out = append(out, '-')
		}
		out = append(out, Alphabet[int(b)%n])
		count++
	}
	return string(out)
}

// Parse reads what a person typed — full-width characters, lower case,
// spaces or no hyphens — and returns the reference number in its one
// written form and its kind. ok is false when it cannot be one.
func Parse(s string) (ref string, kind byte, ok bool) {
	s = strings.ToUpper(norm.NFKC.String(s))
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '-' || r == ' ' || r == '\u30fc' || r == '\u2010' || r == '\u2212':
			continue
		case r < 128:
			b.WriteRune(r)
		default:
			return "", 0, false
		}
	}
	c := b.String()
	if len(c) != 9 {
		return "", 0, false
	}
	kind = c[0]
	switch kind {
	case KindRecovery, KindHelp, KindSuspension:
	default:
		return "", 0, false
	}
	for i := 1; i < 9; i++ {
		if !strings.ContainsRune(Alphabet, rune(c[i])) {
			return "", 0, false
		}
	}
	return string(kind) + "-" + c[1:5] + "-" + c[5:9], kind, true
}
