package config

import (
	"strings"
	"testing"
)

// TestReturnToEntries: the realm's return_to allow-list takes origins and
// origin + path prefixes, and refuses at start an entry the matcher would
// never match.
func TestReturnToEntries(t *testing.T) {
	for _, ok := range []string{
		"https://shop.example.jp",
		"https://shop.example.jp/mypage/",
		"https://Shop.Example.JP:443/club",
		"http://localhost:3000",
	} {
		c := Default()
		c.Realms[0].ReturnTo = []string{ok}
		if err := c.Validate(); err != nil {
			t.Errorf("return_to %q: Validate() = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{
		"shop.example.jp",
		"//shop.example.jp",
		"javascript:alert(1)",
		"https://user@shop.example.jp",
		"https://shop.example.jp/?next=1",
		"https://shop.example.jp/#top",
		"https://shop%2eexample.jp",
		"https://shop.example.jp/a/../b",
		"https://shop.example.jp/my page/",
		"https://ショップ.example.jp",
	} {
		c := Default()
		c.Realms[0].ReturnTo = []string{bad}
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "return_to[0]") {
			t.Errorf("return_to %q: Validate() = %v, want an error naming return_to[0]", bad, err)
		}
	}
}
