package theme

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// TestPalettesPassAA computes the contrast of every colour pair the
// stylesheet uses, in light and dark mode, for the default colour and for
// brand colours that fail as they are (a light yellow, a light pink, a dark
// navy, pure white and pure black), and asserts WCAG 2.2 AA.
func TestPalettesPassAA(t *testing.T) {
	for _, brand := range []string{"", "#ffeb3b", "#f8bbd0", "#0b1f3a", "#ffffff", "#000000", "#d63384", "#1d3557", "#00a0e9", "#7fff00"} {
		ps, err := NewPalettes(brand)
		if err != nil {
			t.Fatalf("NewPalettes(%q): %v", brand, err)
		}
		for _, m := range []struct {
			name string
			p    Palette
		}{{"light", ps.Light}, {"dark", ps.Dark}} {
			lowest, at := 99.0, ""
			for _, pr := range Pairs {
				fg, ok1 := m.p.Color(pr.FG)
				bg, ok2 := m.p.Color(pr.BG)
				if !ok1 || !ok2 {
					t.Fatalf("pair %s/%s names no colour", pr.FG, pr.BG)
				}
				got := Contrast(fg, bg)
				if got < pr.Min {
					t.Errorf("brand %q %s: %s %s on %s %s = %.2f:1, want ≥ %.1f",
						brand, m.name, pr.FG, fg.Hex(), pr.BG, bg.Hex(), got, pr.Min)
				}
				if margin := got / pr.Min; margin < lowest {
					lowest, at = margin, fmt.Sprintf("%s on %s %.2f:1 (needs %.1f)", pr.FG, pr.BG, got, pr.Min)
				}
			}
			t.Logf("brand %-9q %-5s primary %s, %d pairs, closest to the limit: %s", brand, m.name, m.p.Primary.Hex(), len(Pairs), at)
		}
	}
}

// TestPairsCoverEveryColour makes sure no colour of the palette escapes the
// contrast test: each field is used in at least one pair, as foreground or
// background, and each stylesheet property names a field.
func TestPairsCoverEveryColour(t *testing.T) {
	used := map[string]bool{}
	for _, pr := range Pairs {
		used[pr.FG], used[pr.BG] = true, true
	}
	props := map[string]bool{}
	for _, n := range cssNames {
		props[n.field] = true
	}
	typ := reflect.TypeFor[Palette]()
	for i := range typ.NumField() {
		name := typ.Field(i).Name
		if !used[name] {
			t.Errorf("Palette.%s is in no contrast pair", name)
		}
		if !props[name] {
			t.Errorf("Palette.%s has no CSS custom property", name)
		}
	}
	if len(cssNames) != typ.NumField() {
		t.Errorf("%d CSS properties for %d colours", len(cssNames), typ.NumField())
	}
}

func TestBrandColourKeptWhenItPasses(t *testing.T) {
	ps, err := NewPalettes("#0b1f3a") // dark navy: fine on white
	if err != nil {
		t.Fatal(err)
	}
	if got := ps.Light.Primary.Hex(); got != "#0b1f3a" {
		t.Errorf("light primary = %s, want the brand colour as is", got)
	}
	if got := ps.Light.OnPrimary; got != White {
		t.Errorf("label on navy = %s, want white", got.Hex())
	}
	if ps.Dark.Link.Luminance() <= MustHex("#0b1f3a").Luminance() {
		t.Errorf("dark-mode link %s must be lighter than the navy", ps.Dark.Link.Hex())
	}
	y, err := NewPalettes("#ffeb3b")
	if err != nil {
		t.Fatal(err)
	}
	if y.Light.Link == MustHex("#ffeb3b") || y.Light.Link.Luminance() >= MustHex("#ffeb3b").Luminance() {
		t.Errorf("yellow link on white = %s, want it darkened", y.Light.Link.Hex())
	}
	if _, err := NewPalettes("red"); err == nil {
		t.Error("a malformed colour was accepted")
	}
}

func TestPalettesCSS(t *testing.T) {
	ps, err := NewPalettes("#d63384")
	if err != nil {
		t.Fatal(err)
	}
	css := ps.CSS()
	for _, want := range []string{":root {", "--primary: " + ps.Light.Primary.Hex() + ";", "@media (prefers-color-scheme: dark)", "--primary: " + ps.Dark.Primary.Hex() + ";"} {
		if !strings.Contains(css, want) {
			t.Errorf("CSS lacks %q:\n%s", want, css)
		}
	}
	if strings.Count(css, "--link:") != 2 {
		t.Errorf("want --link in both modes:\n%s", css)
	}
}

func TestButtonLabelIsWhiteWhenALittleDarkeningAllowsIt(t *testing.T) {
	for _, tt := range []struct {
		brand string
		dark  bool
		label RGB
	}{
		{"#d63384", false, White}, // 3.9:1 with white as is: darkened a little
		{"#1d3557", false, White},
		{"#ffeb3b", true, Black}, // far too light for white: a black label
	} {
		ps, err := NewPalettes(tt.brand)
		if err != nil {
			t.Fatal(err)
		}
		p := ps.Light
		if tt.dark {
			p = ps.Dark
		}
		if p.OnPrimary != tt.label {
			t.Errorf("%s dark=%v: label %s, want %s (button %s)", tt.brand, tt.dark, p.OnPrimary.Hex(), tt.label.Hex(), p.Primary.Hex())
		}
	}
	if ps, _ := NewPalettes("#d63384"); ps.Light.Primary == MustHex("#d63384") || Contrast(ps.Light.Primary, MustHex("#d63384")) > 1.3 {
		t.Errorf("#d63384: button %s, want the pink darkened a little", ps.Light.Primary.Hex())
	}
}
