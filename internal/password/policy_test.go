package password

import (
	"strings"
	"testing"

	"github.com/ninsho/ninsho/internal/ninsho"
)

func TestCommonList(t *testing.T) {
	if got, want := len(commonSet()), 10000; got < want {
		t.Errorf("common list has %d entries, want at least %d", got, want)
	}
	for _, pw := range []string{"password", "12345678", "qwertyui", "PASSWORD", "Password", "ｐａｓｓｗｏｒｄ", "iloveyou", "password1"} {
		if !IsCommon(pw) {
			t.Errorf("IsCommon(%q) = false, want true", pw)
		}
	}
	for _, pw := range []string{"", "correct horse battery staple", "夏は夜。月のころはさらなり"} {
		if IsCommon(pw) {
			t.Errorf("IsCommon(%q) = true, want false", pw)
		}
	}
}

func TestPolicyCheck(t *testing.T) {
	taro := Personal{Email: "taro.yamada@example.com", Phone: "+819012345678", Name: "Taro Yamada"}
	tests := []struct {
		name  string
		pol   Policy
		plain string
		who   Personal
		code  ninsho.Code
		param string
		value int
	}{
		{"good", DefaultPolicy(), "correct horse battery staple", taro, "", "", 0},
		{"good japanese", DefaultPolicy(), "夏は夜。月のころはさらなり", taro, "", "", 0},
		{"good exactly 8", DefaultPolicy(), "tq8#vm2z", Personal{}, "", "", 0},
		{"too short", DefaultPolicy(), "tq8#vm2", Personal{}, ninsho.CodePasswordTooShort, "min", 8},
		{"empty", DefaultPolicy(), "", Personal{}, ninsho.CodePasswordTooShort, "min", 8},
		// Counted in runes: eight kanji are eight characters, 24 bytes.
		{"japanese 7 runes", DefaultPolicy(), "春はあけぼの。", Personal{}, ninsho.CodePasswordTooShort, "min", 8},
		{"japanese 8 runes", DefaultPolicy(), "春はあけぼの。や", Personal{}, "", "", 0},
		// NFKC first: the ligature ﬀ becomes ff, so seven code points make eight characters.
		{"nfkc expands", DefaultPolicy(), "ﬀqz#v2m", Personal{}, "", "", 0},
		{"too long", DefaultPolicy(), strings.Repeat("z", 129), Personal{}, ninsho.CodePasswordTooLong, "max", 128},
		{"max length", DefaultPolicy(), strings.Repeat("zq8#", 32), Personal{}, "", "", 0},
		{"custom lengths", Policy{MinLength: 12, MaxLength: 64}, "tq8#vm2zq8#", Personal{}, ninsho.CodePasswordTooShort, "min", 12},
		{"custom max", Policy{MinLength: 12, MaxLength: 64}, strings.Repeat("z", 65), Personal{}, ninsho.CodePasswordTooLong, "max", 64},
		{"zero policy is default", Policy{}, "tq8#vm2", Personal{}, ninsho.CodePasswordTooShort, "min", 8},

		{"common", DefaultPolicy(), "password", Personal{}, ninsho.CodePasswordTooCommon, "", 0},
		{"common digits", DefaultPolicy(), "12345678", Personal{}, ninsho.CodePasswordTooCommon, "", 0},
		{"common keyboard", DefaultPolicy(), "qwertyui", Personal{}, ninsho.CodePasswordTooCommon, "", 0},
		{"common any case", DefaultPolicy(), "PassWord", Personal{}, ninsho.CodePasswordTooCommon, "", 0},
		{"common full-width", DefaultPolicy(), "１２３４５６７８", Personal{}, ninsho.CodePasswordTooCommon, "", 0},

		{"email local part", DefaultPolicy(), "my-taro.yamada-pw", taro, ninsho.CodePasswordContainsPersonal, "", 0},
		{"email local part any case", DefaultPolicy(), "TARO.YAMADA!!", taro, ninsho.CodePasswordContainsPersonal, "", 0},
		{"short email local part ignored", DefaultPolicy(), "ab-xq8#vm2z", Personal{Email: "ab@example.com"}, "", "", 0},
		{"phone digits", DefaultPolicy(), "pw09012345678", taro, ninsho.CodePasswordContainsPersonal, "", 0},
		{"phone last 8 digits", DefaultPolicy(), "x12345678x", taro, ninsho.CodePasswordContainsPersonal, "", 0},
		{"phone with separators", DefaultPolicy(), "090-1234-5678", taro, ninsho.CodePasswordContainsPersonal, "", 0},
		{"phone full-width", DefaultPolicy(), "ｐｗ１２３４５６７８", taro, ninsho.CodePasswordContainsPersonal, "", 0},
		{"phone digits split by letters", DefaultPolicy(), "1234abc5678", taro, "", "", 0},
		{"phone national form", DefaultPolicy(), "tel 5678 horse", Personal{Phone: "090-1234-5678"}, "", "", 0},
		{"name token", DefaultPolicy(), "yamadasan2024", taro, ninsho.CodePasswordContainsPersonal, "", 0},
		{"name token any case", DefaultPolicy(), "TaroTaro!!", taro, ninsho.CodePasswordContainsPersonal, "", 0},
		{"short name token ignored", DefaultPolicy(), "li-xq8#vm2z", Personal{Name: "Li Na"}, "", "", 0},
		{"japanese name", DefaultPolicy(), "山田太郎です。よろしく", Personal{Name: "山田太郎"}, ninsho.CodePasswordContainsPersonal, "", 0},
		{"japanese name two-character words ignored", DefaultPolicy(), "山田の夏休み二〇二四", Personal{Name: "山田 太郎"}, "", "", 0},

		// What cannot be typed or seen (an outside attacker's sign-ups).
		{"NUL bytes", DefaultPolicy(), strings.Repeat("\x00", 8), Personal{}, ninsho.CodePasswordCharsInvalid, "", 0},
		{"invalid UTF-8", DefaultPolicy(), strings.Repeat("\xff", 8), Personal{}, ninsho.CodePasswordCharsInvalid, "", 0},
		{"invalid UTF-8 inside", DefaultPolicy(), "correct\xffhorse", Personal{}, ninsho.CodePasswordCharsInvalid, "", 0},
		{"NUL inside", DefaultPolicy(), "correct\x00horse", Personal{}, ninsho.CodePasswordCharsInvalid, "", 0},
		{"tab inside", DefaultPolicy(), "correct\thorse", Personal{}, ninsho.CodePasswordCharsInvalid, "", 0},
		{"newline at the end", DefaultPolicy(), "correct horse\n", Personal{}, ninsho.CodePasswordCharsInvalid, "", 0},
		{"DEL", DefaultPolicy(), "correct\x7fhorse", Personal{}, ninsho.CodePasswordCharsInvalid, "", 0},
		{"C1 control", DefaultPolicy(), "correct\u0085horse", Personal{}, ninsho.CodePasswordCharsInvalid, "", 0},
		{"control before length", DefaultPolicy(), "\x00", Personal{}, ninsho.CodePasswordCharsInvalid, "", 0},
		{"eight spaces", DefaultPolicy(), strings.Repeat(" ", 8), Personal{}, ninsho.CodePasswordTooSimple, "", 0},
		{"ideographic spaces", DefaultPolicy(), strings.Repeat("\u3000", 8), Personal{}, ninsho.CodePasswordTooSimple, "", 0},
		{"zero-width spaces", DefaultPolicy(), strings.Repeat("\u200b", 8), Personal{}, ninsho.CodePasswordTooSimple, "", 0},
		{"invisible mix", DefaultPolicy(), " \u200b\u200d\ufeff\u00a0\u3164\u2800\u00ad ", Personal{}, ninsho.CodePasswordTooSimple, "", 0},
		{"one character repeated", DefaultPolicy(), "aaaaaaaa", Personal{}, ninsho.CodePasswordTooSimple, "", 0},
		{"one character repeated any case", DefaultPolicy(), "aAaAaAaAaA", Personal{}, ninsho.CodePasswordTooSimple, "", 0},
		{"one kanji repeated", DefaultPolicy(), "森森森森森森森森", Personal{}, ninsho.CodePasswordTooSimple, "", 0},
		{"two alternating", DefaultPolicy(), "xyxyxyxyxy", Personal{}, ninsho.CodePasswordTooSimple, "", 0},
		{"letters up", DefaultPolicy(), "bcdefghij", Personal{}, ninsho.CodePasswordTooSimple, "", 0},
		{"digits down through zero", DefaultPolicy(), "987654321098", Personal{}, ninsho.CodePasswordTooSimple, "", 0},
		{"digits up through zero", DefaultPolicy(), "7890123456", Personal{}, ninsho.CodePasswordTooSimple, "", 0},
		{"full-width letters down", DefaultPolicy(), "ｚｙｘｗｖｕｔｓ", Personal{}, ninsho.CodePasswordTooSimple, "", 0},
		{"spaces inside", DefaultPolicy(), "correct horse  battery", Personal{}, "", "", 0},
		{"leading and trailing spaces", DefaultPolicy(), "  tq8#vm2z  ", Personal{}, "", "", 0},
		{"zero-width space inside", DefaultPolicy(), "tq8#\u200bvm2z", Personal{}, "", "", 0},
		{"three characters repeating", DefaultPolicy(), "xyzxyzxyz", Personal{}, ninsho.CodePasswordTooSimple, "", 0},
		// What shows little or nothing does not make a weak password strong:
		// the weakness rules judge what is left without spaces, invisible
		// characters and combining marks.
		{"one letter padded with zero-width spaces", DefaultPolicy(), strings.Repeat("\u200b", 7) + "a", Personal{}, ninsho.CodePasswordTooSimple, "", 0},
		{"one letter padded with soft hyphens", DefaultPolicy(), strings.Repeat("\u00ad", 8) + "x", Personal{}, ninsho.CodePasswordTooSimple, "", 0},
		{"one letter padded with spaces", DefaultPolicy(), strings.Repeat(" ", 7) + "a", Personal{}, ninsho.CodePasswordTooSimple, "", 0},
		{"one letter padded with ideographic spaces", DefaultPolicy(), strings.Repeat("\u3000", 7) + "a", Personal{}, ninsho.CodePasswordTooSimple, "", 0},
		{"two letters padded", DefaultPolicy(), strings.Repeat("\u200b", 6) + "ab", Personal{}, ninsho.CodePasswordTooSimple, "", 0},
		{"one letter and combining marks", DefaultPolicy(), "a\u0300\u0301\u0302\u0303\u0304\u0305\u0306\u0307", Personal{}, ninsho.CodePasswordTooSimple, "", 0},
		{"common split by a zero-width space", DefaultPolicy(), "pass\u200bword1", Personal{}, ninsho.CodePasswordTooCommon, "", 0},
		{"common split by a soft hyphen", DefaultPolicy(), "passw\u00adord1", Personal{}, ninsho.CodePasswordTooCommon, "", 0},
		{"common split by a space", DefaultPolicy(), "pass word1", Personal{}, ninsho.CodePasswordTooCommon, "", 0},
		{"common digits split", DefaultPolicy(), "1234\u200b5678", Personal{}, ninsho.CodePasswordTooCommon, "", 0},
		{"letters spaced out", DefaultPolicy(), "a b c d e f g h", Personal{}, ninsho.CodePasswordTooSimple, "", 0},
		{"one letter and another", DefaultPolicy(), "aaaaaaab", Personal{}, ninsho.CodePasswordTooSimple, "", 0},
		{"letters two apart", DefaultPolicy(), "acegikmo", Personal{}, ninsho.CodePasswordTooSimple, "", 0},
		{"emoji family repeated", DefaultPolicy(), strings.Repeat("\U0001F468\u200d\U0001F469\u200d\U0001F467", 3), Personal{}, ninsho.CodePasswordTooSimple, "", 0},
		{"line separator", DefaultPolicy(), "abc\u2028defghij", Personal{}, ninsho.CodePasswordCharsInvalid, "", 0},
		{"right-to-left override", DefaultPolicy(), "tq8\u202e#vm2zq8", Personal{}, ninsho.CodePasswordCharsInvalid, "", 0},
		{"replacement character (a broken sequence)", DefaultPolicy(), "tq8\ufffd#vm2zq8", Personal{}, ninsho.CodePasswordCharsInvalid, "", 0},
		{"a passphrase with spaces", DefaultPolicy(), "correct horse battery staple", Personal{}, "", "", 0},
		{"japanese passphrase with a space", DefaultPolicy(), "さくら もち 大好き 2026", Personal{}, "", "", 0},
		{"accented words", DefaultPolicy(), "Hélène garçon 99", Personal{}, "", "", 0},
		{"thai with combining marks", DefaultPolicy(), "รักษาความปลอดภัย", Personal{}, "", "", 0},
		{"sequence broken", DefaultPolicy(), "bcdefghiz", Personal{}, "", "", 0},
		{"japanese sentence with repeats", DefaultPolicy(), "ここここにいます", Personal{}, "", "", 0},

		// Rules are checked in order: length first.
		{"short and common", DefaultPolicy(), "123456", Personal{}, ninsho.CodePasswordTooShort, "min", 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.pol.Check(tt.plain, tt.who)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("Check(%q) = %v, want nil", tt.plain, err)
				}
				return
			}
			e := ninsho.ErrorOf(err)
			if e == nil || e.Code != tt.code || e.Field != "password" {
				t.Fatalf("Check(%q) = %v, want %s on field password", tt.plain, err, tt.code)
			}
			if tt.param != "" && e.Params[tt.param] != tt.value {
				t.Errorf("Check(%q) param %s = %v, want %d", tt.plain, tt.param, e.Params[tt.param], tt.value)
			}
		})
	}
}
