package caseref

import (
	"bytes"
	"math/rand"
	"regexp"
	"testing"
)

func TestNewHasTheWrittenForm(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	form := regexp.MustCompile(`^R-[` + Alphabet + `]{4}-[` + Alphabet + `]{4}$`)
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		ref := New(KindRecovery, r)
		if !form.MatchString(ref) {
			t.Fatalf("New = %q, not in the written form", ref)
		}
		seen[ref] = true
	}
	if len(seen) < 999 {
		t.Fatalf("1000 references gave only %d distinct", len(seen))
	}
}

func TestNewIsUniformOverTheAlphabet(t *testing.T) {
	// Bytes 0..255 once each: rejection sampling keeps 240 of them, 12 per
	// character, so every character must appear equally often.
	var all []byte
	for i := 0; i < 256; i++ {
		all = append(all, byte(i))
	}
	src := bytes.NewReader(bytes.Repeat(all, 10))
	counts := map[byte]int{}
	for i := 0; i < 30; i++ { // 240 characters
		ref := New(KindHelp, src)
		for _, c := range []byte(ref[2:6] + ref[7:11]) {
			counts[c]++
		}
	}
	for _, c := range []byte(Alphabet) {
		if counts[c] != 12 {
			t.Fatalf("character %q drawn %d times, want 12 (counts %v)", c, counts[c], counts)
		}
	}
}

func TestParse(t *testing.T) {
	for in, want := range map[string]string{
		"R-7KP4-MX3C":   "R-7KP4-MX3C",
		"r7kp4mx3c":     "R-7KP4-MX3C",
		"Ｈ－７ＫＰ４ＭＸ３Ｃ":    "H-7KP4-MX3C",
		" s 7kp4 mx3c ": "S-7KP4-MX3C",
		"H-7KP4ーMX3C":   "H-7KP4-MX3C",
	} {
		got, _, ok := Parse(in)
		if !ok || got != want {
			t.Errorf("Parse(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "R-7KP4-MX3", "X-7KP4-MX3C", "R-7KP4-MX3O", "R-7KP4-MX3C1", "R-7KP4-MX3あ", "R-0000-0000"} {
		if got, _, ok := Parse(in); ok {
			t.Errorf("Parse(%q) = %q, accepted", in, got)
		}
	}
	if _, kind, _ := Parse("S-7KP4-MX3C"); kind != KindSuspension {
		t.Errorf("kind = %q", kind)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("R-7KP4-MX3C")
	f.Add("ｒ７ｋｐ４")
	f.Fuzz(func(t *testing.T, s string) {
		ref, _, ok := Parse(s)
		if !ok {
			return
		}
		again, _, ok2 := Parse(ref)
		if !ok2 || again != ref {
			t.Fatalf("Parse(%q) = %q, which parses to %q, %v", s, ref, again, ok2)
		}
	})
}
