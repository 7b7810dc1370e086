package message

import (
	"strings"

	"github.com/ninsho/ninsho/internal/theme"
)

// Brand is how a realm presents itself in its messages. It is not stored
// with a message: the dispatcher looks it up by the message's realm when it
// renders, so a message shows the brand of the moment it is delivered.
type Brand struct {
	// Name is the realm's display name: the subject prefix, the greeting
	// and body, the footer and the e-mail sender's display name. Empty:
	// the realm's public host.
	Name string
	// LogoURL is the absolute URL of the logo in the HTML e-mail header
	// (its alt text is Name); empty shows Name instead.
	LogoURL string
	// Color is the brand colour "#rrggbb" of the header, buttons and links;
	// it is darkened where it would not reach WCAG AA (4.5:1) on white.
	// Empty or malformed: DefaultColor.
	Color string
	// SupportURL, SupportContact (one line), TermsURL and PrivacyURL are
	// shown in the e-mail footer when set.
	SupportURL     string
	SupportContact string
	TermsURL       string
	PrivacyURL     string
}

// DefaultColor is the colour of a realm without a brand colour.
const DefaultColor = "#1d4ed8"

// Brand variables, given to every template at render time besides the
// message's own variables:
//
//	brand_name       the realm's display name (never empty)
//	brand_logo       absolute logo URL, or ""
//	brand_color      "#rrggbb" with at least 4.5:1 contrast on white
//	support_url      the shop's help page, or ""
//	support_contact  a contact line such as a telephone number, or ""
//	terms_url        the terms of service, or ""
//	privacy_url      the privacy policy, or ""
func (b Brand) vars(host string) map[string]string {
	name := strings.TrimSpace(b.Name)
	if name == "" {
		name = host
	}
	return map[string]string{
		"brand_name":      name,
		"brand_logo":      b.LogoURL,
		"brand_color":     EmailColor(b.Color),
		"support_url":     b.SupportURL,
		"support_contact": b.SupportContact,
		"terms_url":       b.TermsURL,
		"privacy_url":     b.PrivacyURL,
	}
}

// EmailColor returns the colour an e-mail uses for a brand colour: the
// colour itself when it has AA contrast (4.5:1) against white, as text and as
// the background of white button text, else the nearest darker shade that
// does; DefaultColor for "" or a malformed colour.
func EmailColor(c string) string {
	rgb, err := theme.ParseHex(c)
	if err != nil {
		rgb = theme.MustHex(DefaultColor)
	}
	return theme.Ensure(rgb, theme.White, theme.AAText).Hex()
}
