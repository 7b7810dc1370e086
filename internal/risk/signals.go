package risk

import (
	"net/netip"
	"strings"
)

// Prefix returns the network an address belongs to, as a familiar network is
// remembered: the /24 of an IPv4 address ("192.0.2.0/24") and the /48 of an
// IPv6 one ("2001:db8:1::/48"). An IPv4-mapped IPv6 address is taken as the
// IPv4 address and an IPv6 zone is dropped. It returns "" for anything that
// is not a bare address, including "host:port" and CIDR notation.
func Prefix(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	a = a.Unmap().WithZone("")
	bits := 48
	if a.Is4() {
		bits = 24
	}
	return netip.PrefixFrom(a, bits).Masked().String()
}

// automationMarkers are lowercase substrings of the user agents of headless
// browsers and HTTP libraries. Native apps of the platforms (okhttp, Dalvik,
// CFNetwork) are not on the list: real people sign in through them.
var automationMarkers = []string{
	"headless", // HeadlessChrome, Firefox --headless builds, "Headless" in bots
	"phantomjs",
	"slimerjs",
	"selenium",
	"webdriver",
	"python-requests",
	"python-urllib",
	"python-httpx",
	"aiohttp",
	"scrapy",
	"curl/",
	"wget/",
	"go-http-client",
	"libwww-perl",
	"node-fetch",
	"axios/",
	"apache-httpclient",
	"java/",
}

// IsAutomationUserAgent reports whether ua names a headless browser or an
// HTTP library (case-insensitive). It reports false for an empty user agent,
// which BeforePassword weighs on its own.
func IsAutomationUserAgent(ua string) bool {
	ua = strings.ToLower(ua)
	for _, m := range automationMarkers {
		if strings.Contains(ua, m) {
			return true
		}
	}
	return false
}
