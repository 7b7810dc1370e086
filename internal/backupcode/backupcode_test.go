package backupcode

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/secret"
)

func TestAlphabetHasNoLookAlikes(t *testing.T) {
	if len(Alphabet) != 21 {
		t.Fatalf("alphabet has %d characters", len(Alphabet))
	}
	for _, c := range "0o1liI5sS2zZ8bBuvgq" {
		if strings.ContainsRune(Alphabet, c) {
			t.Errorf("alphabet holds the look-alike %q", c)
		}
	}
	seen := map[rune]bool{}
	for _, c := range Alphabet {
		if seen[c] || Normalize(string(c)) != string(c) {
			t.Errorf("alphabet character %q repeats or is not normal", c)
		}
		seen[c] = true
	}
}

func TestGenerateShape(t *testing.T) {
	codes, err := Generate(ninsho.NewSeededRandom(1))
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != Count {
		t.Fatalf("%d codes, want %d", len(codes), Count)
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if len(c) != Length || strings.Trim(c, Alphabet) != "" {
			t.Errorf("code %q: want %d characters of the alphabet", c, Length)
		}
		if seen[c] {
			t.Errorf("code %q repeats", c)
		}
		seen[c] = true
	}
	again, _ := Generate(ninsho.NewSeededRandom(1))
	if strings.Join(again, ",") != strings.Join(codes, ",") {
		t.Error("codes do not come from the injected randomness")
	}
	other, _ := Generate(ninsho.NewSeededRandom(2))
	if other[0] == codes[0] {
		t.Error("another seed gives the same code")
	}
}

// counting yields the bytes start, start+1, … wrapping at 256.
type counting struct{ b byte }

func (c *counting) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = c.b
		c.b++
	}
	return len(p), nil
}

func TestGenerateRejectsBytesAboveTheLastMultiple(t *testing.T) {
	codes, err := Generate(&counting{b: 240})
	if err != nil {
		t.Fatal(err)
	}
	// 252…255 (256 - 256%21 and above) are thrown away; every other byte
	// b gives Alphabet[b%21].
	var want []byte
	for b := 240; len(want) < Count*Length; b = (b + 1) % 256 {
		if b < 252 {
			want = append(want, Alphabet[b%21])
		}
	}
	if got := strings.Join(codes, ""); got != string(want) {
		t.Errorf("codes %s, want %s", got, want)
	}
}

func TestGenerateFailsWithItsSource(t *testing.T) {
	if _, err := Generate(io.LimitReader(ninsho.NewSeededRandom(1), 10)); !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		t.Errorf("a source that runs dry: err %v", err)
	}
}

// chiSquare returns the chi-square statistic of counts against uniform.
func chiSquare(counts map[byte]int, total int) float64 {
	exp := float64(total) / float64(len(Alphabet))
	x := 0.0
	for i := 0; i < len(Alphabet); i++ {
		d := float64(counts[Alphabet[i]]) - exp
		x += d * d / exp
	}
	return x
}

// chi2Bound is the 0.999 quantile of chi-square with 20 degrees of freedom:
// a uniform source exceeds it once in a thousand seeds.
const chi2Bound = 45.31

func TestGenerateIsUniform(t *testing.T) {
	r := ninsho.NewSeededRandom(42)
	counts := map[byte]int{}
	total := 0
	for i := 0; i < 2000; i++ {
		codes, err := Generate(r)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range codes {
			for j := 0; j < len(c); j++ {
				counts[c[j]]++
				total++
			}
		}
	}
	x := chiSquare(counts, total)
	t.Logf("chi-square %.1f over %d characters", x, total)
	if x > chi2Bound {
		t.Errorf("chi-square %.1f over %d characters exceeds %.2f", x, total, chi2Bound)
	}
	// The same test sees the bias of b%21 without rejection: the first
	// 256%21 = 4 characters come 13 times in 256 instead of 12.
	biased := map[byte]int{}
	b := make([]byte, total)
	ninsho.ReadRandom(ninsho.NewSeededRandom(42), b)
	for _, v := range b {
		biased[Alphabet[int(v)%21]]++
	}
	if x := chiSquare(biased, total); x <= chi2Bound {
		t.Errorf("the test does not see modulo bias (chi-square %.1f)", x)
	}
}

func TestFormatAndNormalize(t *testing.T) {
	if got := Format("acdefhjkmn"); got != "acdef-hjkmn" {
		t.Errorf("Format = %q", got)
	}
	for _, in := range []string{
		"acdef-hjkmn",
		"acdefhjkmn",
		"ACDEF-HJKMN",
		" acdef hjkmn ",
		"ａｃｄｅｆ－ｈｊｋｍｎ",
		"ＡＣＤＥＦ　ＨＪＫＭＮ",
		"acdefーhjkmn",
		"acdef\u2010hjkmn",
		"acd-ef-hj-kmn\t",
	} {
		if got := Normalize(in); got != "acdefhjkmn" {
			t.Errorf("Normalize(%q) = %q", in, got)
		}
	}
	if got := Normalize("acdef_hjkmn"); got == "acdefhjkmn" {
		t.Error("an underscore is dropped; only spaces and dashes should be")
	}
}

func hasher(t *testing.T) *secret.Hasher {
	h, err := secret.NewHasher(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestMatch(t *testing.T) {
	h := hasher(t)
	codes, _ := Generate(ninsho.NewSeededRandom(3))
	stored := make([][]byte, len(codes))
	for i, c := range codes {
		stored[i] = Hash(h, "acct-1", c)
	}
	for i, c := range codes {
		typed := strings.ToUpper(Format(c))
		if idx, ok := Match(h, "acct-1", typed, stored); !ok || idx != i {
			t.Errorf("Match(%q) = %d, %v; want %d", typed, idx, ok, i)
		}
		// Bound to the account: another account's hashes never match.
		if idx, ok := Match(h, "acct-2", c, stored); ok || idx != -1 {
			t.Errorf("code of acct-1 matched for acct-2 at %d", idx)
		}
	}
	if !bytes.Equal(Hash(h, "acct-1", codes[0]), Hash(h, "acct-1", Format(strings.ToUpper(codes[0])))) {
		t.Error("Hash does not normalise")
	}
	if bytes.Equal(Hash(h, "acct-1", codes[0]), Hash(h, "acct-2", codes[0])) {
		t.Error("Hash is not bound to the account")
	}
	other, _ := Generate(ninsho.NewSeededRandom(4))
	if _, ok := Match(h, "acct-1", other[0], stored); ok {
		t.Error("a code never issued matched")
	}
	for _, typed := range []string{"", " - "} {
		if _, ok := Match(h, "acct-1", typed, append(stored, Hash(h, "acct-1", ""))); ok {
			t.Errorf("blank input %q matched", typed)
		}
	}
	// A used code is removed (or its hash cleared) by the caller: with a
	// nil entry in its place, the rest still match at their index.
	stored[2] = nil
	if _, ok := Match(h, "acct-1", codes[2], stored); ok {
		t.Error("a removed code matched")
	}
	if idx, ok := Match(h, "acct-1", codes[9], stored); !ok || idx != 9 {
		t.Errorf("Match after removal = %d, %v", idx, ok)
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"acdef-hjkmn", "ＡＣＤＥＦ　ＨＪＫＭＮ", "acdefーhjkmn", "", "\u00a0", "ß", "ﬀ", "İ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		n := Normalize(in)
		if strings.ContainsAny(n, " -\t\n") || strings.ContainsRune(n, 'ー') {
			t.Fatalf("Normalize(%q) = %q keeps a space or dash", in, n)
		}
		if len(n) == Length && strings.Trim(n, Alphabet) == "" {
			// A code that normalises to a valid one formats and
			// normalises back to itself.
			if Normalize(Format(n)) != n || Normalize(strings.ToUpper(Format(n))) != n {
				t.Fatalf("Format/Normalize do not round-trip %q", n)
			}
		}
	})
}
