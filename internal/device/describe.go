package device

import (
	"strings"

	"github.com/ninsho/ninsho/internal/i18n"
)

// browsers and systems are what Describe looks for in a user agent, in
// order: the first match wins (Edge and Opera also say Chrome and Safari;
// Chrome also says Safari). The names are proper nouns, the same in every
// language.
var (
	browsers = []struct{ marker, name string }{
		{"Edg", "Edge"}, {"OPR/", "Opera"}, {"SamsungBrowser/", "Samsung Internet"},
		{"Firefox/", "Firefox"}, {"FxiOS/", "Firefox"}, {"CriOS/", "Chrome"},
		{"Chromium/", "Chromium"}, {"Chrome/", "Chrome"}, {"Safari/", "Safari"},
	}
	systems = []struct{ marker, name string }{
		{"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Android", "Android"}, {"CrOS", "ChromeOS"},
		{"Windows", "Windows"}, {"Mac OS X", "macOS"}, {"Macintosh", "macOS"}, {"Linux", "Linux"},
	}
)

// Describe puts a user agent into words a person recognises, in locale
// (the catalogue's "device.*" texts): "Chrome on Windows", 「Windows の
// Chrome」. A browser it does not recognise is "a browser" 「ブラウザー」, on
// its system when that is known. known reports whether the browser was
// recognised, so that a page can show an unknown agent (an app, a tool) as
// it is instead.
func Describe(locale, ua string) (text string, known bool) {
	var b, s string
	for _, m := range browsers {
		if strings.Contains(ua, m.marker) {
			b = m.name
			break
		}
	}
	for _, m := range systems {
		if strings.Contains(ua, m.marker) {
			s = m.name
			break
		}
	}
	switch {
	case b != "" && s != "":
		return i18n.Message(locale, "device.browser_on_system", map[string]any{"browser": b, "system": s}), true
	case b != "":
		return b, true
	case s != "":
		return i18n.Message(locale, "device.unknown_browser_on_system", map[string]any{"system": s}), false
	}
	return i18n.Message(locale, "device.unknown_browser", nil), false
}
