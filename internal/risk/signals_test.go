package risk_test

import (
	"net/netip"
	"testing"

	"github.com/ninsho/ninsho/internal/risk"
)

var prefixCases = []struct{ in, want string }{
	{"192.0.2.1", "192.0.2.0/24"},
	{"192.0.2.255", "192.0.2.0/24"},
	{"0.0.0.0", "0.0.0.0/24"},
	{"::ffff:192.0.2.1", "192.0.2.0/24"},
	{"::ffff:c000:201", "192.0.2.0/24"},
	{"2001:db8:1234:5678::1", "2001:db8:1234::/48"},
	{"2001:DB8:1234:ffff:ffff:ffff:ffff:ffff", "2001:db8:1234::/48"},
	{"fe80::1%eth0", "fe80::/48"},
	{"::", "::/48"},
	{"::1", "::/48"},
	{"", ""},
	{"not an address", ""},
	{"192.0.2", ""},
	{"192.0.2.256", ""},
	{"01.2.3.4", ""},
	{"192.0.2.1:443", ""},
	{"[2001:db8::1]:443", ""},
	{"[2001:db8::1]", ""},
	{"192.0.2.0/24", ""},
	{" 192.0.2.1", ""},
}

func TestPrefix(t *testing.T) {
	for _, c := range prefixCases {
		if got := risk.Prefix(c.in); got != c.want {
			t.Errorf("Prefix(%q): got %q, want %q", c.in, got, c.want)
		}
	}
}

// FuzzPrefix checks that Prefix never panics and that whatever it returns is
// a masked /24 or /48 that holds the address. The cases of TestPrefix are the
// seed corpus, run by a plain go test.
func FuzzPrefix(f *testing.F) {
	for _, c := range prefixCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := risk.Prefix(in)
		a, err := netip.ParseAddr(in)
		if err != nil {
			if got != "" {
				t.Fatalf("Prefix(%q): got %q, want \"\" for an invalid address", in, got)
			}
			return
		}
		a = a.Unmap().WithZone("")
		p, err := netip.ParsePrefix(got)
		if err != nil {
			t.Fatalf("Prefix(%q): got %q, not a prefix: %v", in, got, err)
		}
		want := 48
		if a.Is4() {
			want = 24
		}
		if p.Bits() != want || p != p.Masked() || !p.Contains(a) {
			t.Fatalf("Prefix(%q): got %q, want the masked /%d holding %v", in, got, want, a)
		}
		if again := risk.Prefix(p.Addr().String()); again != got {
			t.Fatalf("Prefix(%q): got %q, want %q as for %q", p.Addr(), again, got, in)
		}
	})
}

func TestIsAutomationUserAgent(t *testing.T) {
	cases := []struct {
		ua   string
		want bool
	}{
		{"", false},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", false},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1", false},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 14.1; rv:120.0) Gecko/20100101 Firefox/120.0", false},
		{"Mozilla/5.0 (Linux; Android 14; Pixel 8; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.0.0 Mobile Safari/537.36", false},
		{"okhttp/4.12.0", false},
		{"Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8 Build/UD1A.230803.041)", false},
		{"ShopApp/3.2 CFNetwork/1485 Darwin/23.1.0", false},
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36", true},
		{"Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1", true},
		{"HEADLESS", true},
		{"python-requests/2.31.0", true},
		{"Python-urllib/3.12", true},
		{"curl/8.4.0", true},
		{"Wget/1.21.4", true},
		{"Go-http-client/1.1", true},
		{"Go-http-client/2.0", true},
		{"libwww-perl/6.72", true},
		{"Scrapy/2.11 (+https://scrapy.org)", true},
		{"axios/1.6.2", true},
		{"node-fetch/1.0 (+https://github.com/bitinn/node-fetch)", true},
		{"Apache-HttpClient/4.5.14 (Java/17.0.9)", true},
		{"Java/17.0.9", true},
	}
	for _, c := range cases {
		if got := risk.IsAutomationUserAgent(c.ua); got != c.want {
			t.Errorf("IsAutomationUserAgent(%q): got %v, want %v", c.ua, got, c.want)
		}
	}
}
