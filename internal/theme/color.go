// Package theme is the look of the pages and e-mails: colours that keep WCAG
// 2.2 AA contrast whatever brand colour a realm configures, and the
// operator's theme directories that override the built-in theme.
package theme

import (
	"fmt"
	"math"
	"strconv"
)

// RGB is an sRGB colour with 8-bit channels.
type RGB struct{ R, G, B uint8 }

// Common colours.
var (
	White = RGB{255, 255, 255}
	Black = RGB{0, 0, 0}
)

// ParseHex reads a colour written "#rrggbb".
func ParseHex(s string) (RGB, error) {
	if len(s) != 7 || s[0] != '#' {
		return RGB{}, fmt.Errorf("theme: colour %q is not #rrggbb", s)
	}
	v, err := strconv.ParseUint(s[1:], 16, 32)
	if err != nil {
		return RGB{}, fmt.Errorf("theme: colour %q is not #rrggbb", s)
	}
	return RGB{uint8(v >> 16), uint8(v >> 8), uint8(v)}, nil
}

// MustHex is ParseHex for constants; it panics on a malformed colour.
func MustHex(s string) RGB {
	c, err := ParseHex(s)
	if err != nil {
		panic(err)
	}
	return c
}

// Hex writes the colour as "#rrggbb".
func (c RGB) Hex() string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// Luminance is the WCAG relative luminance of the colour (0 black … 1 white).
func (c RGB) Luminance() float64 {
	lin := func(v uint8) float64 {
		s := float64(v) / 255
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(c.R) + 0.7152*lin(c.G) + 0.0722*lin(c.B)
}

// Contrast is the WCAG contrast ratio of two colours (1 … 21).
func Contrast(a, b RGB) float64 {
	la, lb := a.Luminance(), b.Luminance()
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// Mix returns c moved the fraction t (0 … 1) of the way towards to.
func Mix(c, to RGB, t float64) RGB {
	m := func(a, b uint8) uint8 { return uint8(math.Round(float64(a) + (float64(b)-float64(a))*t)) }
	return RGB{m(c.R, to.R), m(c.G, to.G), m(c.B, to.B)}
}

// Ensure returns c, or c darkened (on a light against) or lightened (on a
// dark against) by the smallest step that gives at least the contrast min
// against the colour against. The hue is kept as far as the contrast allows.
func Ensure(c, against RGB, min float64) RGB {
	if Contrast(c, against) >= min {
		return c
	}
	to := Black
	if against.Luminance() < 0.18 {
		to = White
	}
	for i := 1; i <= 100; i++ {
		m := Mix(c, to, float64(i)/100)
		if Contrast(m, against) >= min {
			return m
		}
	}
	return to
}

// AA contrast minimums (WCAG 2.2, 1.4.3 and 1.4.11).
const (
	AAText    = 4.5 // normal text
	AANonText = 3.0 // focus rings, borders of controls, large text
)
