package realm

import (
	"strings"
	"testing"
)

func TestReturnURL(t *testing.T) {
	rl := &Realm{ID: "jp", ReturnTo: []string{
		"https://shop.example.jp",              // the whole origin
		"https://my.example.jp/mypage/",        // a prefix ending in "/"
		"https://members.example.jp/club",      // a prefix without "/"
		"http://localhost:3000",                // a development shop
		"https://Pay.Example.JP:443/checkout/", // written with capitals and the default port
	}}
	long := "https://shop.example.jp/?q=" + strings.Repeat("a", MaxReturnToBytes)
	tests := []struct {
		name, raw, want string // want "" = refused
	}{
		// Allowed.
		{"origin", "https://shop.example.jp", "https://shop.example.jp/"},
		{"origin with path, query and fragment", "https://shop.example.jp/cart?item=42&q=%E3%81%82#top", "https://shop.example.jp/cart?item=42&q=%E3%81%82#top"},
		{"capital host and scheme", "HTTPS://SHOP.Example.JP/Cart", "https://shop.example.jp/Cart"},
		{"default port written", "https://shop.example.jp:443/x", "https://shop.example.jp/x"},
		{"prefix itself", "https://my.example.jp/mypage/", "https://my.example.jp/mypage/"},
		{"below the prefix", "https://my.example.jp/mypage/orders/7", "https://my.example.jp/mypage/orders/7"},
		{"prefix without slash, exact", "https://members.example.jp/club", "https://members.example.jp/club"},
		{"prefix without slash, below", "https://members.example.jp/club/news?x=1", "https://members.example.jp/club/news?x=1"},
		{"prefix without slash, query", "https://members.example.jp/club?x=1", "https://members.example.jp/club?x=1"},
		{"http with its port", "http://localhost:3000/back", "http://localhost:3000/back"},
		{"entry with capitals and default port", "https://pay.example.jp/checkout/done", "https://pay.example.jp/checkout/done"},
		{"semicolon and encoded percent in the query", "https://shop.example.jp/cart?a=1;b=%25", "https://shop.example.jp/cart?a=1;b=%25"},
		{"dots inside a segment", "https://shop.example.jp/v1.2/..x/a..", "https://shop.example.jp/v1.2/..x/a.."},

		// Refused.
		{"empty", "", ""},
		{"foreign origin", "https://evil.example/", ""},
		{"scheme-relative", "//evil.example/", ""},
		{"scheme-relative to an allowed host", "//shop.example.jp/", ""},
		{"backslash scheme-relative", "/\\evil.example", ""},
		{"relative path", "/account", ""},
		{"javascript", "javascript:alert(1)", ""},
		{"javascript with slashes", "javascript://shop.example.jp/%0aalert(1)", ""},
		{"data", "data:text/html,<script>alert(1)</script>", ""},
		{"ftp", "ftp://shop.example.jp/", ""},
		{"http for an https entry", "http://shop.example.jp/", ""},
		{"https for an http entry", "https://localhost:3000/", ""},
		{"another port", "https://shop.example.jp:8443/", ""},
		{"entry without the port", "http://localhost/", ""},
		{"suffix trick", "https://shop.example.jp.evil/", ""},
		{"suffix trick without path", "https://shop.example.jp.evil", ""},
		{"prefix trick", "https://evilshop.example.jp/", ""},
		{"subdomain", "https://a.shop.example.jp/", ""},
		{"userinfo trick", "https://shop.example.jp@evil.example/", ""},
		{"userinfo on the allowed host", "https://user:pw@shop.example.jp/", ""},
		{"encoded dot in host", "https://shop%2Eexample.jp/", ""},
		{"encoded at in host", "https://shop.example.jp%40evil.example/", ""},
		{"trailing dot", "https://shop.example.jp./", ""},
		{"backslash in path", "https://shop.example.jp\\@evil.example/", ""},
		{"backslash after host", "https://shop.example.jp/\\evil.example", ""},
		{"space", "https://shop.example.jp/a b", ""},
		{"leading space", " https://shop.example.jp/", ""},
		{"tab", "https://shop.example.jp/\tx", ""},
		{"newline", "https://shop.example.jp/\r\nLocation: https://evil.example", ""},
		{"NUL", "https://shop.example.jp\x00.evil.example/", ""},
		{"non-ASCII host", "https://shop.exаmple.jp/", ""}, // Cyrillic а
		{"full-width slash", "https://shop.example.jp／evil.example", ""},
		{"malformed escape", "https://shop.example.jp/%zz", ""},
		{"quote", "https://shop.example.jp/\"><script>", ""},
		{"path outside the prefix", "https://my.example.jp/other", ""},
		{"prefix continued without slash", "https://my.example.jp/mypageevil", ""},
		{"prefix without its slash", "https://my.example.jp/mypage", ""},
		{"entry prefix continued", "https://members.example.jp/clubevil", ""},
		{"dot segment out of the prefix", "https://my.example.jp/mypage/../admin", ""},
		{"encoded dot segment", "https://my.example.jp/mypage/%2e%2E/admin", ""},
		{"encoded slash", "https://my.example.jp/mypage%2f..%2fadmin", ""},
		{"single dot segment", "https://shop.example.jp/./x", ""},
		// An outside attacker's three, each of which a back end reads as
		// leaving /mypage/.
		{"dot segment with a parameter", "https://my.example.jp/mypage/..;/admin", ""},
		{"double-encoded dot segment", "https://my.example.jp/mypage/%252e%252e/admin", ""},
		{"empty segment", "https://my.example.jp/mypage//evil.com", ""},
		{"dot segment with an encoded parameter", "https://my.example.jp/mypage/..%3B/admin", ""},
		{"dot with a parameter", "https://my.example.jp/mypage/.;x/admin", ""},
		{"parameter elsewhere", "https://my.example.jp/mypage;jsessionid=1/x", ""},
		{"encoded CR LF", "https://my.example.jp/mypage/%0d%0aSet-Cookie:x=1", ""},
		{"encoded NUL", "https://my.example.jp/mypage/x%00", ""},
		{"encoded tab before dots", "https://my.example.jp/mypage/..%09/a", ""},
		{"encoded NUL between dots", "https://my.example.jp/mypage/.%00./a", ""},
		{"overlong UTF-8 dots", "https://my.example.jp/mypage/%c0%ae%c0%ae/", ""},
		{"encoded DEL", "https://my.example.jp/mypage/%7f", ""},
		{"encoded non-ASCII text", "https://my.example.jp/mypage/%e6%97%a5%e6%9c%ac", "https://my.example.jp/mypage/%e6%97%a5%e6%9c%ac"},
		{"encoded percent", "https://shop.example.jp/a%25b", ""},
		{"empty segment at the start", "https://shop.example.jp//evil.example/", ""},
		{"empty port", "https://shop.example.jp:/", ""},
		{"port out of range", "https://shop.example.jp:99999/", ""},
		{"opaque", "https:shop.example.jp", ""},
		{"one slash", "https:/shop.example.jp", ""},
		{"over-long", long, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := rl.ReturnURL(tt.raw)
			if ok != (tt.want != "") || got != tt.want {
				t.Errorf("ReturnURL(%q) = %q, %v; want %q", tt.raw, got, ok, tt.want)
			}
		})
	}
}

func TestReturnURLWithoutAllowList(t *testing.T) {
	for _, rl := range []*Realm{nil, {ID: "jp"}} {
		if got, ok := rl.ReturnURL("https://shop.example.jp/"); ok || got != "" {
			t.Errorf("a realm without an allow-list allowed %q", got)
		}
	}
}

func TestReturnURLIPLiterals(t *testing.T) {
	rl := &Realm{ReturnTo: []string{"http://127.0.0.1:8080", "http://[::1]:8080/app/"}}
	for raw, want := range map[string]string{
		"http://127.0.0.1:8080/x":       "http://127.0.0.1:8080/x",
		"http://[::1]:8080/app/a":       "http://[::1]:8080/app/a",
		"http://[::1]:8081/app/a":       "",
		"http://[::1%25eth0]:8080/app/": "",
		"http://127.0.0.2:8080/x":       "",
	} {
		got, ok := rl.ReturnURL(raw)
		if ok != (want != "") || got != want {
			t.Errorf("ReturnURL(%q) = %q, %v; want %q", raw, got, ok, want)
		}
	}
}
