package theme

import (
	"fmt"
	"reflect"
	"strings"
)

// DefaultPrimary is the brand colour of a realm that configures none.
var DefaultPrimary = MustHex("#1a5fb4")

// Palette is the colours of one mode (light or dark) of the page theme.
// Every colour is used against the backgrounds that Pairs lists, and
// NewPalettes makes every such pair pass WCAG 2.2 AA.
type Palette struct {
	Bg         RGB // the page behind the card
	Surface    RGB // the card
	InputBg    RGB // text fields
	Text       RGB // body text
	Muted      RGB // hints, reference numbers, the footer
	Border     RGB // the boundary of text fields and secondary buttons
	Primary    RGB // primary buttons
	OnPrimary  RGB // the label of a primary button
	PrimaryHov RGB // a primary button under the pointer
	Link       RGB // links and secondary buttons' labels
	Focus      RGB // the focus ring
	Error      RGB // error text and the border of a refused field
	ErrorBg    RGB // the error summary
	NoticeBg   RGB // a notice ("a new code was sent")
	Success    RGB // "verified"
	Warn       RGB // Caps Lock and full-width warnings, "not verified"
}

// Palettes is the light and the dark palette of a realm.
type Palettes struct{ Light, Dark Palette }

// Pair is one foreground used on one background, and the contrast it needs.
type Pair struct {
	FG, BG string  // Palette field names
	Min    float64 // AAText or AANonText
}

// Pairs lists every foreground/background combination the stylesheet uses.
var Pairs = []Pair{
	{"Text", "Bg", AAText}, {"Text", "Surface", AAText}, {"Text", "InputBg", AAText},
	{"Text", "ErrorBg", AAText}, {"Text", "NoticeBg", AAText},
	{"Muted", "Bg", AAText}, {"Muted", "Surface", AAText}, {"Muted", "ErrorBg", AAText},
	{"Link", "Bg", AAText}, {"Link", "Surface", AAText}, {"Link", "ErrorBg", AAText}, {"Link", "NoticeBg", AAText},
	{"OnPrimary", "Primary", AAText}, {"OnPrimary", "PrimaryHov", AAText},
	{"Primary", "Surface", AANonText}, {"Primary", "Bg", AANonText},
	{"PrimaryHov", "Surface", AANonText}, {"PrimaryHov", "Bg", AANonText},
	{"Border", "Surface", AANonText}, {"Border", "Bg", AANonText}, {"Border", "InputBg", AANonText},
	{"Focus", "Surface", AANonText}, {"Focus", "Bg", AANonText}, {"Focus", "InputBg", AANonText},
	{"Focus", "ErrorBg", AANonText},
	{"Error", "Surface", AAText}, {"Error", "Bg", AAText}, {"Error", "ErrorBg", AAText}, {"Error", "InputBg", AAText},
	{"Success", "Surface", AAText}, {"Warn", "Surface", AAText}, {"Warn", "InputBg", AAText},
}

// Color returns the palette's colour with the field name, or false.
func (p Palette) Color(name string) (RGB, bool) {
	f := reflect.ValueOf(p).FieldByName(name)
	if !f.IsValid() {
		return RGB{}, false
	}
	c, ok := f.Interface().(RGB)
	return c, ok
}

// NewPalettes builds the light and dark palettes from a brand colour
// ("#rrggbb", or "" for DefaultPrimary). A brand colour that would fail a
// pair is darkened (light mode) or lightened (dark mode) just enough; its hue
// is kept. It fails only on a malformed colour.
func NewPalettes(brand string) (Palettes, error) {
	c := DefaultPrimary
	if brand != "" {
		var err error
		if c, err = ParseHex(brand); err != nil {
			return Palettes{}, err
		}
	}
	light := base{
		bg: MustHex("#f3f4f6"), surface: White, input: White,
		text: MustHex("#1b1e23"), muted: MustHex("#5a606a"), border: MustHex("#80868f"),
		err: MustHex("#b3261e"), errBg: MustHex("#fdeeec"),
		success: MustHex("#1b7332"), warn: MustHex("#8a5000"),
	}
	dark := base{
		bg: MustHex("#0f1114"), surface: MustHex("#1a1d22"), input: MustHex("#121418"),
		text: MustHex("#e7e9ec"), muted: MustHex("#a6acb5"), border: MustHex("#737a85"),
		err: MustHex("#ff968c"), errBg: MustHex("#3a1f1f"),
		success: MustHex("#7fd493"), warn: MustHex("#f2b661"),
	}
	return Palettes{Light: light.palette(c), Dark: dark.palette(c)}, nil
}

// base is a mode's neutral colours before the brand colour is applied.
type base struct {
	bg, surface, input, text, muted, border, err, errBg, success, warn RGB
}

func (b base) palette(brand RGB) Palette {
	p := Palette{Bg: b.bg, Surface: b.surface, InputBg: b.input, ErrorBg: b.errBg}
	grounds := []RGB{b.bg, b.surface, b.input}
	p.Link = ensureAll(brand, AAText, append(grounds, b.errBg)...)
	p.NoticeBg = Mix(p.Link, b.surface, 0.88)
	p.Link = ensureAll(p.Link, AAText, p.NoticeBg)
	p.Text = ensureAll(b.text, AAText, append(grounds, b.errBg, p.NoticeBg)...)
	p.Muted = ensureAll(b.muted, AAText, append(grounds, b.errBg)...)
	p.Border = ensureAll(b.border, AANonText, grounds...)
	p.Focus = ensureAll(p.Link, AANonText, append(grounds, b.errBg)...)
	p.Error = ensureAll(b.err, AAText, append(grounds, b.errBg)...)
	p.Success = ensureAll(b.success, AAText, grounds...)
	p.Warn = ensureAll(b.warn, AAText, grounds...)

	// The button keeps the brand colour where it stands out from the card
	// and the page (3:1). Its label is white when a little darkening (up to
	// a quarter of the way to black) makes white readable, as shops'
	// buttons usually are; otherwise whichever of white and black reads
	// better, and one of them always reaches 4.5:1.
	p.Primary = ensureAll(brand, AANonText, b.bg, b.surface)
	p.OnPrimary = White
	if Contrast(p.Primary, Black) > Contrast(p.Primary, White) {
		p.OnPrimary = Black
		for i := 1; i <= 25; i++ {
			c := Mix(p.Primary, Black, float64(i)/100)
			if Contrast(c, White) >= AAText && Contrast(c, b.bg) >= AANonText && Contrast(c, b.surface) >= AANonText {
				p.Primary, p.OnPrimary = c, White
				break
			}
		}
	}
	p.PrimaryHov = p.Primary
	for _, to := range []RGB{Black, White} {
		h := Mix(p.Primary, to, 0.15)
		if Contrast(p.OnPrimary, h) >= AAText && Contrast(h, b.bg) >= AANonText && Contrast(h, b.surface) >= AANonText {
			p.PrimaryHov = h
			// Prefer the step away from the label: it reads better.
			if (to == Black) == (p.OnPrimary == White) {
				break
			}
		}
	}
	return p
}

// ensureAll is Ensure against every background (all of one mode, so the
// steps go the same way).
func ensureAll(c RGB, min float64, grounds ...RGB) RGB {
	for range 3 {
		done := true
		for _, g := range grounds {
			if Contrast(c, g) < min {
				c, done = Ensure(c, g, min), false
			}
		}
		if done {
			break
		}
	}
	return c
}

// cssNames are the custom properties of the stylesheet, by Palette field.
var cssNames = []struct{ field, prop string }{
	{"Bg", "--bg"}, {"Surface", "--surface"}, {"InputBg", "--input-bg"},
	{"Text", "--text"}, {"Muted", "--muted"}, {"Border", "--border"},
	{"Primary", "--primary"}, {"OnPrimary", "--on-primary"}, {"PrimaryHov", "--primary-hover"},
	{"Link", "--link"}, {"Focus", "--focus"}, {"Error", "--error"}, {"ErrorBg", "--error-bg"},
	{"NoticeBg", "--notice-bg"}, {"Success", "--success"}, {"Warn", "--warn"},
}

// CSS writes the palettes as the custom properties the built-in stylesheet
// uses: the light ones on :root, the dark ones under
// prefers-color-scheme: dark.
func (ps Palettes) CSS() string {
	var b strings.Builder
	b.WriteString("/* Colours of this realm's pages (generated from branding.primary_color). */\n")
	write := func(indent string, p Palette) {
		for _, n := range cssNames {
			c, _ := p.Color(n.field)
			fmt.Fprintf(&b, "%s%s: %s;\n", indent, n.prop, c.Hex())
		}
	}
	b.WriteString(":root {\n")
	write("  ", ps.Light)
	b.WriteString("}\n@media (prefers-color-scheme: dark) {\n  :root {\n")
	write("    ", ps.Dark)
	b.WriteString("  }\n}\n")
	return b.String()
}
