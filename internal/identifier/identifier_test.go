package identifier

import (
	"strings"
	"testing"
	"unicode"

	"github.com/ninsho/ninsho/internal/ninsho"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name   string
		raw    string
		region string
		want   Identifier
	}{
		// E-mail.
		{"email plain", "taro@example.com", "JP", Identifier{KindEmail, "taro@example.com"}},
		{"email capitalised", "Taro@Example.COM", "JP", Identifier{KindEmail, "taro@example.com"}},
		{"email spaces around", "  taro@example.com \t\n", "JP", Identifier{KindEmail, "taro@example.com"}},
		{"email ideographic space", "\u3000taro@example.com\u3000", "JP", Identifier{KindEmail, "taro@example.com"}},
		{"email zero-width and BOM", "\ufefftaro@example.com\u200b", "JP", Identifier{KindEmail, "taro@example.com"}},
		{"email full-width", "ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏｍ", "JP", Identifier{KindEmail, "taro@example.com"}},
		{"email ideographic full stop", "taro@example。co。jp", "JP", Identifier{KindEmail, "taro@example.co.jp"}},
		{"email long vowel mark as hyphen", "taro@my－shopーmail.jp", "JP", Identifier{KindEmail, "taro@my-shop-mail.jp"}},
		{"email plus tag", "taro+shop@example.com", "JP", Identifier{KindEmail, "taro+shop@example.com"}},
		{"email atext", "o'brien!#$%&*/=?^_`{|}~-@example.com", "US", Identifier{KindEmail, "o'brien!#$%&*/=?^_`{|}~-@example.com"}},
		{"email docomo consecutive dots", "taro..yamada.@docomo.ne.jp", "JP", Identifier{KindEmail, "taro..yamada.@docomo.ne.jp"}},
		{"email subdomains", "a@mail.example.co.jp", "JP", Identifier{KindEmail, "a@mail.example.co.jp"}},
		{"email local 64", strings.Repeat("a", 64) + "@example.com", "JP", Identifier{KindEmail, strings.Repeat("a", 64) + "@example.com"}},
		{"email no region", "taro@example.com", "", Identifier{KindEmail, "taro@example.com"}},
		{"email hyphens in third and fourth place", "taro@ab--cd.example.com", "JP", Identifier{KindEmail, "taro@ab--cd.example.com"}},

		// E-mail, internationalised domain: stored as A-labels, whichever
		// way it was typed.
		{"idn U-label", "user@例え.jp", "JP", Identifier{KindEmail, "user@xn--r8jz45g.jp"}},
		{"idn A-label", "user@xn--r8jz45g.jp", "JP", Identifier{KindEmail, "user@xn--r8jz45g.jp"}},
		{"idn A-label capitalised", "User@XN--R8JZ45G.JP", "JP", Identifier{KindEmail, "user@xn--r8jz45g.jp"}},
		{"idn A-label full-width", "ｕｓｅｒ＠ｘｎ－－ｒ８ｊｚ４５ｇ．ｊｐ", "JP", Identifier{KindEmail, "user@xn--r8jz45g.jp"}},
		{"idn full-width at and dot", "ｕｓｅｒ＠例え．ｊｐ", "JP", Identifier{KindEmail, "user@xn--r8jz45g.jp"}},
		{"idn ideographic full stop", "user@例え。jp", "JP", Identifier{KindEmail, "user@xn--r8jz45g.jp"}},
		{"idn half-width katakana", "user@ﾃｽﾄ.jp", "JP", Identifier{KindEmail, "user@xn--zckzah.jp"}},
		{"idn long vowel mark after kana", "user@ﾒｰﾙ.jp", "JP", Identifier{KindEmail, "user@xn--4dkua4c.jp"}},
		{"idn capital letters folded", "user@BÜCHER.example", "JP", Identifier{KindEmail, "user@xn--bcher-kva.example"}},
		{"idn subdomain and Japanese TLD", "user@メール.例え.テスト", "JP", Identifier{KindEmail, "user@xn--4dkua4c.xn--r8jz45g.xn--zckzah"}},

		// Phone, Japan.
		{"phone national", "090-1234-5678", "JP", Identifier{KindPhone, "+819012345678"}},
		{"phone national digits only", "09012345678", "JP", Identifier{KindPhone, "+819012345678"}},
		{"phone full-width", "０９０－１２３４－５６７８", "JP", Identifier{KindPhone, "+819012345678"}},
		{"phone full-width long vowel mark", "０９０ー１２３４ー５６７８", "JP", Identifier{KindPhone, "+819012345678"}},
		{"phone international spaces", "+81 90 1234 5678", "JP", Identifier{KindPhone, "+819012345678"}},
		{"phone full-width plus", "＋８１ ９０ １２３４ ５６７８", "JP", Identifier{KindPhone, "+819012345678"}},
		{"phone international national prefix", "+81 (0)90-1234-5678", "JP", Identifier{KindPhone, "+819012345678"}},
		{"phone parentheses", "(090) 1234 5678", "JP", Identifier{KindPhone, "+819012345678"}},
		{"phone country code without plus", "81-90-1234-5678", "JP", Identifier{KindPhone, "+819012345678"}},
		{"phone international prefix from Japan", "010-81-90-1234-5678", "JP", Identifier{KindPhone, "+819012345678"}},
		{"phone ideographic space", "\u3000090 1234 5678\u3000", "JP", Identifier{KindPhone, "+819012345678"}},
		{"phone fixed line", "03-1234-5678", "JP", Identifier{KindPhone, "+81312345678"}},
		{"phone lowercase region", "090-1234-5678", "jp", Identifier{KindPhone, "+819012345678"}},
		{"phone E.164 any region", "+819012345678", "US", Identifier{KindPhone, "+819012345678"}},
		{"phone E.164 no region", "+819012345678", "", Identifier{KindPhone, "+819012345678"}},

		// Phone, United States.
		{"phone us national", "(201) 555-0123", "US", Identifier{KindPhone, "+12015550123"}},
		{"phone us dots", "201.555.0123", "US", Identifier{KindPhone, "+12015550123"}},
		{"phone us with 1", "1-201-555-0123", "US", Identifier{KindPhone, "+12015550123"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.raw, tt.region)
			if err != nil {
				t.Fatalf("Parse(%q, %q) error = %v, want %+v", tt.raw, tt.region, err, tt.want)
			}
			if got != tt.want {
				t.Errorf("Parse(%q, %q) = %+v, want %+v", tt.raw, tt.region, got, tt.want)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name   string
		raw    string
		region string
	}{
		{"empty", "", "JP"},
		{"only spaces", " \u3000\t", "JP"},
		{"invalid utf-8", "taro\xff@example.com", "JP"},
		{"too long", strings.Repeat("a", 300) + "@example.com", "JP"},
		{"too long before normalisation", strings.Repeat(" ", MaxInputBytes) + "a@example.com", "JP"},

		{"email internal space", "taro @example.com", "JP"},
		{"email internal ideographic space", "taro\u3000yamada@example.com", "JP"},
		{"email two at", "taro@yamada@example.com", "JP"},
		{"email no local", "@example.com", "JP"},
		{"email no domain", "taro@", "JP"},
		{"email no dot in domain", "taro@localhost", "JP"},
		{"email local too long", strings.Repeat("a", 65) + "@example.com", "JP"},
		{"email total too long", strings.Repeat("a", 60) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 63) + ".com", "JP"},
		{"email label too long", "a@" + strings.Repeat("b", 64) + ".com", "JP"},
		{"email leading dot", ".taro@example.com", "JP"},
		{"email empty label", "taro@example..com", "JP"},
		{"email trailing dot domain", "taro@example.com.", "JP"},
		{"email hyphen label", "taro@-example.com", "JP"},
		{"email hyphen label end", "taro@example-.com", "JP"},
		{"email underscore domain", "taro@ex_ample.com", "JP"},
		{"email numeric tld", "taro@192.168.0.1", "JP"},
		{"email address literal", "taro@[192.168.0.1]", "JP"},
		{"email display name", "Taro Yamada <taro@example.com>", "JP"},
		{"email display name no space", "<taro@example.com>", "JP"},
		{"email quoted local", `"taro yamada"@example.com`, "JP"},
		{"email comment", "taro(comment)@example.com", "JP"},
		{"email non-ascii local", "太郎@example.com", "JP"},
		{"idn disallowed mark", "taro@a\u200eb.example", "JP"},
		{"idn private use", "taro@a\ue000b.example", "JP"},
		{"idn bad punycode", "taro@xn--zz.example", "JP"},
		{"idn A-label of a disallowed character", "taro@xn--a.example", "JP"},
		{"idn bidi mixed", "taro@aא.example", "JP"},
		{"idn joiner without context", "taro@a\u200db.example", "JP"},
		{"idn label too long as A-label", "taro@" + distinctHan(30) + ".jp", "JP"},
		{"idn total too long as A-labels", strings.Repeat("a", 64) + "@" + strings.Repeat(distinctHan(11)+".", 7) + "jp", "JP"},
		{"email zero-width inside", "ta\u200bro@example.com", "JP"},

		{"phone letters", "taro", "JP"},
		{"phone vanity", "0120-FLOWERS", "JP"},
		{"phone junk before", "tel 090-1234-5678", "JP"},
		{"phone too short", "12", "JP"},
		{"phone invalid", "090-1234", "JP"},
		{"phone too many digits", "090123456789012345678", "JP"},
		{"phone extension", "03-1234-5678 ext 12", "JP"},
		{"phone extension hash", "03-1234-5678#12", "JP"},
		{"phone national without region", "090-1234-5678", ""},
		{"phone plus in middle", "090+1234+5678", "JP"},
		{"phone unknown region", "090-1234-5678", "XX"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.raw, tt.region)
			if err == nil {
				t.Fatalf("Parse(%q, %q) = %+v, want error", tt.raw, tt.region, got)
			}
			if got != (Identifier{}) {
				t.Errorf("Parse(%q, %q) returned %+v with the error, want zero Identifier", tt.raw, tt.region, got)
			}
			assertFieldError(t, err, ninsho.CodeIdentifierInvalid)
		})
	}
}

// distinctHan returns n different kanji: a label that stays short in
// Unicode but not as an A-label.
func distinctHan(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteRune(rune(0x4E00 + i*37))
	}
	return b.String()
}

func assertFieldError(tb testing.TB, err error, code ninsho.Code) {
	tb.Helper()
	e := ninsho.ErrorOf(err)
	if e == nil || e.Code != code || e.Field != "identifier" {
		tb.Errorf("error = %v, want code %q on field identifier", err, code)
	}
}

func TestParsePhoneForSMS(t *testing.T) {
	tests := []struct {
		raw    string
		region string
		want   string      // Value on success
		code   ninsho.Code // error code, "" for success
	}{
		{"090-1234-5678", "JP", "+819012345678", ""},
		{"080-1234-5678", "JP", "+818012345678", ""},
		{"070-1234-5678", "JP", "+817012345678", ""},
		{"+44 7911 123456", "JP", "+447911123456", ""},
		{"(201) 555-0123", "US", "+12015550123", ""}, // FIXED_LINE_OR_MOBILE
		{"03-1234-5678", "JP", "", ninsho.CodePhoneNotMobile},
		{"050-1234-5678", "JP", "", ninsho.CodePhoneNotMobile},    // VoIP
		{"0120-123-456", "JP", "", ninsho.CodePhoneNotMobile},     // toll-free
		{"+44 20 7946 0958", "JP", "", ninsho.CodePhoneNotMobile}, // London fixed line
		{"taro@example.com", "JP", "", ninsho.CodeIdentifierInvalid},
		{"abc", "JP", "", ninsho.CodeIdentifierInvalid},
	}
	for _, tt := range tests {
		got, err := ParsePhoneForSMS(tt.raw, tt.region)
		if tt.code == "" {
			if err != nil || got != (Identifier{KindPhone, tt.want}) {
				t.Errorf("ParsePhoneForSMS(%q, %q) = %+v, %v; want %s, nil", tt.raw, tt.region, got, err, tt.want)
			}
			continue
		}
		if err == nil {
			t.Errorf("ParsePhoneForSMS(%q, %q) = %+v, want error %s", tt.raw, tt.region, got, tt.code)
			continue
		}
		assertFieldError(t, err, tt.code)
	}
}

func TestRequireMobileOnHandMadeIdentifiers(t *testing.T) {
	tests := []struct {
		id   Identifier
		code ninsho.Code
	}{
		{Identifier{KindPhone, "+819012345678"}, ""},
		{Identifier{KindPhone, "+81312345678"}, ninsho.CodePhoneNotMobile},
		{Identifier{KindPhone, "+881612345678"}, ninsho.CodePhoneNotMobile}, // Iridium: no country's phone
		{Identifier{KindPhone, "+870773123456"}, ninsho.CodePhoneNotMobile}, // Inmarsat
		{Identifier{KindPhone, "not a number"}, ninsho.CodeIdentifierInvalid},
		{Identifier{KindPhone, "+8190"}, ninsho.CodeIdentifierInvalid},
		{Identifier{KindEmail, "taro@example.com"}, ninsho.CodeIdentifierInvalid},
		{Identifier{}, ninsho.CodeIdentifierInvalid},
	}
	for _, tt := range tests {
		err := RequireMobile(tt.id)
		if got := ninsho.CodeOf(err); got != tt.code {
			t.Errorf("RequireMobile(%+v) code = %q, want %q", tt.id, got, tt.code)
		}
	}
}

func TestDisplay(t *testing.T) {
	tests := []struct {
		id     Identifier
		region string
		want   string
	}{
		{Identifier{KindEmail, "taro@example.com"}, "JP", "taro@example.com"},
		{Identifier{KindEmail, "user@xn--r8jz45g.jp"}, "JP", "user@例え.jp"},
		{Identifier{KindEmail, "user@xn--4dkua4c.xn--r8jz45g.xn--zckzah"}, "US", "user@メール.例え.テスト"},
		{Identifier{KindEmail, "taro@ab--cd.example.com"}, "JP", "taro@ab--cd.example.com"},
		{Identifier{KindPhone, "+819098765432"}, "JP", "090-9876-5432"},
		{Identifier{KindPhone, "+818098765432"}, "jp", "080-9876-5432"},
		{Identifier{KindPhone, "+81312345678"}, "JP", "03-1234-5678"},
		{Identifier{KindPhone, "+819098765432"}, "US", "+81 90-9876-5432"},
		{Identifier{KindPhone, "+18765550199"}, "US", "+1 876-555-0199"}, // Jamaica shares +1 with the US
		{Identifier{KindPhone, "+12015550123"}, "US", "(201) 555-0123"},
		{Identifier{KindPhone, "+819098765432"}, "", "+81 90-9876-5432"},
		{Identifier{KindPhone, "+12015550123"}, "US", "(201) 555-0123"},
		{Identifier{KindPhone, "+12015550123"}, "JP", "+1 201-555-0123"},
		// Values that do not parse are shown as they are.
		{Identifier{KindEmail, "taro@xn--zz.example"}, "JP", "taro@xn--zz.example"},
		{Identifier{KindPhone, "not a number"}, "JP", "not a number"},
	}
	for _, tt := range tests {
		got := Display(tt.id, tt.region)
		if got != tt.want {
			t.Errorf("Display(%+v, %q) = %q, want %q", tt.id, tt.region, got, tt.want)
		}
		if again, err := Parse(got, tt.region); err == nil && again != tt.id {
			t.Errorf("Parse(Display(%+v, %q)) = %+v, want the identifier again", tt.id, tt.region, again)
		}
	}
}

func TestMask(t *testing.T) {
	tests := []struct {
		id     Identifier
		region string
		want   string
	}{
		{Identifier{KindEmail, "test@example.com"}, "JP", "t***@e******.com"},
		{Identifier{KindEmail, "taro@mail.example.co.jp"}, "JP", "t***@m***.e******.c*.jp"},
		{Identifier{KindEmail, "a@b.jp"}, "JP", "a@b.jp"},
		{Identifier{KindEmail, "taro.yamada@docomo.ne.jp"}, "JP", "t**********@d*****.n*.jp"},
		{Identifier{KindEmail, "user@xn--r8jz45g.jp"}, "JP", "u***@例*.jp"},
		{Identifier{KindEmail, "user@xn--4dkua4c.xn--r8jz45g.xn--zckzah"}, "JP", "u***@メ**.例*.テスト"},
		{Identifier{KindPhone, "+818098765432"}, "JP", "080-****-5432"},
		{Identifier{KindPhone, "+819012345678"}, "JP", "090-****-5678"},
		{Identifier{KindPhone, "+18765550199"}, "US", "+1 ***-***-0199"}, // Jamaica: abroad from the US
		{Identifier{KindPhone, "+12015550123"}, "US", "(***) ***-0123"},
		{Identifier{KindPhone, "+81312345678"}, "JP", "03-****-5678"},
		{Identifier{KindPhone, "+819012345678"}, "US", "+81 **-****-5678"},
		{Identifier{KindPhone, "+819012345678"}, "", "+81 **-****-5678"},
		{Identifier{KindPhone, "+12015550123"}, "US", "(***) ***-0123"},
		{Identifier{KindPhone, "+12015550123"}, "JP", "+1 ***-***-0123"},
		{Identifier{KindPhone, "+447911123456"}, "JP", "+44 **** **3456"},
		{Identifier{KindPhone, "+447911123456"}, "GB", "***** **3456"},
		// Values that do not parse are still hidden.
		{Identifier{KindPhone, "+0000"}, "JP", "+**00"},
		{Identifier{KindEmail, "no-at-sign"}, "JP", "**********"},
		{Identifier{KindEmail, "@"}, "JP", "@"},
		{Identifier{Kind: "other", Value: "secret"}, "JP", "******"},
		{Identifier{}, "JP", ""},
	}
	for _, tt := range tests {
		if got := Mask(tt.id, tt.region); got != tt.want {
			t.Errorf("Mask(%+v, %q) = %q, want %q", tt.id, tt.region, got, tt.want)
		}
	}
}

// TestMaskHidesEnough: every masked number hides at least minHidden digits
// (or all but two), whatever its length and region.
func TestMaskHidesEnough(t *testing.T) {
	for _, v := range []string{"+819012345678", "+81312345678", "+12015550123", "+447911123456", "+6421234567", "+85221234567", "+3912345"} {
		for _, region := range []string{"JP", "US", "GB", "NZ", "HK", "IT", ""} {
			m := Mask(Identifier{KindPhone, v}, region)
			hidden, shown := strings.Count(m, "*"), 0
			for _, r := range m {
				if '0' <= r && r <= '9' {
					shown++
				}
			}
			if hidden < minHidden && shown > 2 {
				t.Errorf("Mask(%s, %q) = %q hides %d digits, want at least %d", v, region, m, hidden, minHidden)
			}
		}
	}
}

// checkParsed holds the invariants every successful Parse must meet.
func checkParsed(tb testing.TB, raw, region string, id Identifier) {
	tb.Helper()
	if id.Kind != KindEmail && id.Kind != KindPhone {
		tb.Fatalf("Parse(%q, %q).Kind = %q, want email or phone", raw, region, id.Kind)
	}
	for _, r := range id.Value {
		if unicode.IsSpace(r) || unicode.IsUpper(r) || r > unicode.MaxASCII {
			tb.Fatalf("Parse(%q, %q).Value = %q contains %q, want no spaces, uppercase or non-ASCII", raw, region, id.Value, r)
		}
	}
	if id.Kind == KindEmail && len(id.Value) > MaxEmailLength {
		tb.Fatalf("Parse(%q, %q).Value has %d bytes, want at most %d", raw, region, len(id.Value), MaxEmailLength)
	}
	again, err := Parse(id.Value, region)
	if err != nil || again != id {
		tb.Fatalf("Parse(Parse(%q, %q).Value) = %+v, %v; want %+v, nil (idempotent)", raw, region, again, err, id)
	}
	_ = Mask(id, region)
	if shown, err := Parse(Display(id, region), region); err != nil || shown != id {
		tb.Fatalf("Parse(Display(%+v, %q)) = %+v, %v; want the identifier again", id, region, shown, err)
	}
}

func FuzzParse(f *testing.F) {
	seeds := []string{
		"taro@example.com", " Taro@Example.COM\u3000", "ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏｍ",
		"taro..yamada.@docomo.ne.jp", "a@b.c", "a@b.123", "\"q\"@example.com",
		"090-1234-5678", "０９０－１２３４－５６７８", "+81 90 1234 5678", "(090) 1234 5678",
		"81-90-1234-5678", "010-81-90-1234-5678", "+1 (201) 555-0123", "03-1234-5678#1",
		"", "\xff", "@", "+", "\ufeff", "ﾟ@ﾟ.ﾟ", "①②③@example.com", "㈱@example.com",
		"\u3002@\u3002", "0120ー123ー456", "+0", "+999999999999999999",
		"user@例え.jp", "user@xn--r8jz45g.jp", "ｕｓｅｒ＠ﾒｰﾙ．例え．jp", "a@xn--a.example", "a@aא.example",
	}
	for _, s := range seeds {
		f.Add(s, "JP")
		f.Add(s, "US")
	}
	f.Add("+819012345678", "")
	f.Fuzz(func(t *testing.T, raw, region string) {
		id, err := Parse(raw, region)
		if err != nil {
			if ninsho.CodeOf(err) != ninsho.CodeIdentifierInvalid {
				t.Fatalf("Parse(%q, %q) error = %v, want identifier_invalid", raw, region, err)
			}
			return
		}
		checkParsed(t, raw, region, id)
		_ = RequireMobile(id)
	})
}

// TestParsePhoneForSMSRefusesServiceNumbers: phone identifiers (sign-up,
// sign-in by SMS) are mobile-only, so premium-rate, shared-cost, toll-free
// and pager numbers are already refused with phone_not_mobile (issue 11,
// toll fraud).
func TestParsePhoneForSMSRefusesServiceNumbers(t *testing.T) {
	for _, raw := range []string{"0990-12-3456", "0570-123-456", "0120-123-456", "0800-123-4567", "020-4123-4567", "+1 900 555 0100", "+44 70 1234 5678"} {
		_, err := ParsePhoneForSMS(raw, "JP")
		if !ninsho.IsCode(err, ninsho.CodePhoneNotMobile) {
			t.Errorf("ParsePhoneForSMS(%q) = %v, want phone_not_mobile", raw, err)
		}
	}
	if _, err := ParsePhoneForSMS("090-1234-5678", "JP"); err != nil {
		t.Errorf("mobile refused: %v", err)
	}
}
