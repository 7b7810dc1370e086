package signup_test

import (
	"strings"
	"testing"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/signup"
)

func TestCleanNameRefusesDisguiseAndLinks(t *testing.T) {
	bad := map[string]string{
		"left-to-right mark":          "山田\u200e花子",
		"right-to-left mark":          "Hanako\u200f",
		"right-to-left override":      "Hanako \u202egpj.exe",
		"left-to-right embedding":     "\u202aHanako",
		"pop directional formatting":  "Hanako\u202c",
		"first strong isolate":        "Hanako\u2068x\u2069",
		"right-to-left isolate":       "\u2067Hanako",
		"arabic letter mark":          "Hanako\u061c",
		"byte order mark":             "Ha\ufeffnako",
		"zero width space":            "Ha\u200bnako",
		"soft hyphen":                 "Ha\u00adnako",
		"line separator":              "Hanako\u2028Yamada",
		"paragraph separator":         "Hanako\u2029Yamada",
		"replacement character":       "Hanako\ufffd",
		"scheme":                      "see hxxp://x",
		"www":                         "www.example",
		"http":                        "http spam",
		"host .com":                   "Buy at shop.example.com now",
		"host .jp":                    "spam.jp",
		"bit.ly":                      "bit.ly/abc",
		"x.com":                       "X.COM",
		"host .click":                 "win.click",
		"host .co.jp":                 "山田 example.co.jp",
		"full-width dot":              "spam．com", // NFKC makes it a dot
		"ideographic full stop":       "evil。com",
		"half-width ideographic stop": "evil｡com", // NFKC makes it 。
		"ideographic stop www":        "www。example",
		"host then Japanese":          "至急 secure-sakura-login.comで再認証",
		"host then へ":                 "evil.comへ",
		"Japanese then host":          "詳細はevil.jpへ",
		"hangul choseong filler":      "\u115f",
		"hangul jungseong filler":     "Hanako\u1160",
		"hangul filler":               "\u3164",
		"half-width hangul filler":    "山田\uffa0花子",
		"combining grapheme joiner":   "Ha\u034fnako",
		"braille blank":               "\u2800Hanako",
		"zalgo (4 marks)":             "Ha\u0301\u0300\u0302\u0303nako",
		"zalgo on ệ (e and 4 marks)":  "Nguy\u1ec7\u0301\u0300n",
		"zalgo (many)":                "Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334algo",
	}
	for what, name := range bad {
		if _, err := signup.CleanName(name); !ninsho.IsCode(err, ninsho.CodeNameInvalid) {
			t.Errorf("%s: CleanName(%q) = %v, want name_invalid", what, name, err)
		}
	}
	good := []string{"J.R.R. Tolkien", "Mr.Smith", "山田 花子", "👩‍👩‍👧 Family", "👍🏽", "St. John", "Acme Co.", "O'Brien-Smith", "Dr.Who",
		"José", "Zoë", "Nguyễn Thị Ánh", "Trần Thị Ngọc Ẩn", "モーニング娘。", "김민준", "สมศักดิ์", "ศรีสุข"}
	for _, name := range good {
		if got, err := signup.CleanName(name); err != nil || got != name {
			t.Errorf("CleanName(%q) = %q, %v; want the name kept", name, got, err)
		}
	}
	// Decomposed letters keep their name (NFKC composes them): up to 3
	// marks in a row on one letter are accepted as written.
	for _, name := range []string{"Jose\u0301", "Nguye\u0302\u0303n", "a\u0323\u0302\u0301b", "\u0e01\u0e34\u0e4c\u0e48"} {
		if _, err := signup.CleanName(name); err != nil {
			t.Errorf("CleanName(%q) = %v; want accepted", name, err)
		}
	}
}

func TestCleanNameOneLimit(t *testing.T) {
	_, err := signup.CleanName(strings.Repeat("あ", signup.MaxNameLength+1))
	e := ninsho.ErrorOf(err)
	if e == nil || e.Code != ninsho.CodeFieldTooLong || e.Params["max"] != signup.MaxNameLength {
		t.Fatalf("101 characters: %v, want field_too_long max %d", err, signup.MaxNameLength)
	}
	if _, err := signup.CleanName(strings.Repeat("あ", signup.MaxNameLength)); err != nil {
		t.Fatalf("100 characters: %v", err)
	}
}
