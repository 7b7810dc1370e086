package theme

import (
	"os"
	"path/filepath"
)

// An operator's theme directory holds, each optional:
//
//	theme.css          served after the built-in stylesheet (/brand/custom.css)
//	logo.svg|png|jpg|webp  the logo, when branding.logo is not set
//	pages/<name>.html  a page template replacing the built-in one of that name
//	messages/<ja|en>/<template>.<channel>.<ext>  a message template
const (
	CustomCSSFile = "theme.css"
	PagesDir      = "pages"
	MessagesDir   = "messages"
)

// LogoFiles are the logo names looked for in a theme directory, in order.
var LogoFiles = []string{"logo.svg", "logo.png", "logo.jpg", "logo.webp"}

// FindLogo returns the path of the first of LogoFiles that is a regular file
// in dir, or "" (also for dir "").
func FindLogo(dir string) string {
	if dir == "" {
		return ""
	}
	for _, name := range LogoFiles {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p
		}
	}
	return ""
}
