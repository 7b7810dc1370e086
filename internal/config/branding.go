package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/ninsho/ninsho/internal/realm"
)

var hexColor = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// LogoIsURL reports whether a branding logo is a URL rather than a file.
func LogoIsURL(logo string) bool {
	return strings.HasPrefix(logo, "https://") || strings.HasPrefix(logo, "http://")
}

// brandingProblems checks a realm's branding, theme and return_to list; each
// problem names its setting relative to the realm.
func (r Realm) brandingProblems() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	b := r.Branding
	if b.Logo != "" {
		if LogoIsURL(b.Logo) {
			if u, err := url.Parse(b.Logo); err != nil || u.Scheme != "https" || u.Host == "" {
				bad("branding.logo: an https URL or a file path, not %q", b.Logo)
			}
		} else if st, err := os.Stat(b.Logo); err != nil || st.IsDir() {
			bad("branding.logo: %q is not a readable file", b.Logo)
		}
	}
	if b.PrimaryColor != "" && !hexColor.MatchString(b.PrimaryColor) {
		bad("branding.primary_color: a colour written \"#rrggbb\", not %q", b.PrimaryColor)
	}
	for _, f := range []struct{ name, v string }{
		{"support_url", b.SupportURL}, {"terms_url", b.TermsURL}, {"privacy_url", b.PrivacyURL},
	} {
		if f.v == "" {
			continue
		}
		if u, err := url.Parse(f.v); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad("branding.%s: an absolute http(s) URL, not %q", f.name, f.v)
		}
	}
	if strings.ContainsAny(b.SupportContact, "\r\n") || len(b.SupportContact) > 200 {
		bad("branding.support_contact: one line of at most 200 bytes")
	}
	if r.Theme != "" {
		if st, err := os.Stat(r.Theme); err != nil || !st.IsDir() {
			bad("theme: %q is not a directory", r.Theme)
		}
	}
	for j, v := range r.ReturnTo {
		if err := checkReturnTo(v); err != nil {
			bad("return_to[%d]: %v", j, err)
		}
	}
	return errs
}

// checkReturnTo checks one return_to allow-list entry: an absolute http(s)
// origin, or an origin followed by a path prefix; no user, query or fragment.
func checkReturnTo(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("%q: an origin such as \"https://shop.example.jp\" or a path prefix such as \"https://shop.example.jp/mypage/\"", v)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return errors.New("no user, query or fragment: an origin or an origin and a path prefix")
	}
	if !realm.ValidAllowEntry(v) {
		return fmt.Errorf("%q would never match: write the host in ASCII letters, digits, dots and hyphens (or an IP address), and the path without spaces, backslashes, \"..\" segments or encoded slashes", v)
	}
	return nil
}
