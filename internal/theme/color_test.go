package theme

import "testing"

func TestContrastKnownValues(t *testing.T) {
	if got := Contrast(White, Black); got < 20.99 || got > 21.01 {
		t.Fatalf("white/black = %.3f, want 21", got)
	}
	// #767676 on white is the well-known 4.54:1 grey.
	if got := Contrast(MustHex("#767676"), White); got < 4.53 || got > 4.55 {
		t.Fatalf("#767676/white = %.3f, want 4.54", got)
	}
}

func TestEnsureDarkensOrLightensOnlyWhenNeeded(t *testing.T) {
	yellow := MustHex("#ffeb3b")
	if Contrast(yellow, White) >= AAText {
		t.Fatal("test colour must fail on white")
	}
	d := Ensure(yellow, White, AAText)
	if Contrast(d, White) < AAText || d == yellow {
		t.Fatalf("Ensure(yellow on white) = %s, contrast %.2f", d.Hex(), Contrast(d, White))
	}
	navy := MustHex("#1d3557")
	if Ensure(navy, White, AAText) != navy {
		t.Fatal("a passing colour must be kept")
	}
	dark := MustHex("#121212")
	l := Ensure(navy, dark, AAText)
	if Contrast(l, dark) < AAText || l.Luminance() <= navy.Luminance() {
		t.Fatalf("Ensure(navy on dark) = %s must be lighter and pass", l.Hex())
	}
}

func TestParseHex(t *testing.T) {
	for _, bad := range []string{"", "#fff", "d63384", "#gg0000", "#12345678"} {
		if _, err := ParseHex(bad); err == nil {
			t.Errorf("ParseHex(%q) accepted", bad)
		}
	}
	c, err := ParseHex("#D63384")
	if err != nil || c.Hex() != "#d63384" {
		t.Fatalf("ParseHex = %v %v", c, err)
	}
}
