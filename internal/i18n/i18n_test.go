package i18n

import (
	"go/ast"
	"go/parser"
	"go/token"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"golang.org/x/text/feature/plural"

	"github.com/ninsho/ninsho/internal/ninsho"
)

// MustCodes returns every value of a `CodeX Code = "x"` constant declared in
// internal/ninsho/errors.go, read from the source so that a code added there
// later is checked here without anyone remembering to list it.
func MustCodes(tb testing.TB) []string {
	tb.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "../ninsho/errors.go", nil, 0)
	if err != nil {
		tb.Fatalf("parse errors.go: %v", err)
	}
	var codes []string
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			typ, ok := vs.Type.(*ast.Ident)
			if !ok || typ.Name != "Code" {
				continue
			}
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, "Code") || i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					tb.Fatalf("%s: value is not a string literal", name.Name)
				}
				v, err := strconv.Unquote(lit.Value)
				if err != nil {
					tb.Fatalf("%s: %v", name.Name, err)
				}
				codes = append(codes, v)
			}
		}
	}
	if len(codes) < 30 {
		tb.Fatalf("found %d codes in errors.go, want the whole catalogue (30 or more)", len(codes))
	}
	return codes
}

func TestEveryCodeHasMessages(t *testing.T) {
	for _, code := range MustCodes(t) {
		for _, l := range []string{"ja", "en"} {
			if _, ok := std.catalogs[l]["error."+code]; !ok {
				t.Errorf("catalog/%s.json has no \"error.%s\"", l, code)
			}
		}
	}
}

func TestCataloguesHaveTheSameKeysAndParams(t *testing.T) {
	en := std.catalogs["en"]
	for _, l := range std.locales {
		c := std.catalogs[l]
		for k, tmpl := range c {
			if base, form, ok := pluralOf(c, k); ok {
				// A plural form belongs to its own language: it needs a
				// base key, a form the language has, and no parameter the
				// base lacks.
				if !formExists(l, form) {
					t.Errorf("catalog/%s.json has %q, but %s has no plural form %q", l, k, l, form)
				}
				if extra := slices.DeleteFunc(sortedParams(tmpl), func(p string) bool { return slices.Contains(sortedParams(c[base]), p) }); len(extra) > 0 {
					t.Errorf("%s %q has params %v that %q lacks", l, k, extra, base)
				}
				continue
			}
			e, ok := en[k]
			if !ok {
				t.Errorf("%q is in catalog/%s.json but not in en.json", k, l)
				continue
			}
			got, want := sortedParams(tmpl), sortedParams(e)
			if !slices.Equal(got, want) {
				t.Errorf("%s %q has params %v, en has %v", l, k, got, want)
			}
		}
		for k := range en {
			if _, _, ok := pluralOf(en, k); ok {
				continue
			}
			if _, ok := c[k]; !ok {
				t.Errorf("%q is in en.json but not in catalog/%s.json", k, l)
			}
		}
	}
}

// pluralOf reports whether key is a plural form ("<base>.one") of a base
// key of catalogue c, and returns the base and the form's name.
func pluralOf(c map[string]*template, key string) (base, form string, ok bool) {
	for _, suffix := range PluralForms() {
		if b, found := strings.CutSuffix(key, suffix); found {
			if _, ok := c[b]; ok {
				return b, suffix[1:], true
			}
		}
	}
	return "", "", false
}

// formExists reports whether some count from 0 to 1000 falls in the named
// plural form in locale.
func formExists(locale, form string) bool {
	for n := 0; n <= 1000; n++ {
		if f := PluralForm(locale, n); f != plural.Other && pluralSuffixes[f] == "."+form {
			return true
		}
	}
	return false
}

func sortedParams(t *template) []string {
	p := t.params()
	slices.Sort(p)
	return slices.Compact(p)
}

func TestMessagesUseTheirParams(t *testing.T) {
	want := map[string][]string{
		"error.code_incorrect":        {"attempts_left"},
		"error.resend_too_soon":       {"seconds"},
		"error.account_locked":        {"until"},
		"error.password_too_short":    {"min"},
		"error.password_too_long":     {"max"},
		"error.rate_limited":          {"retry_after_min"},
		"error.overloaded":            {"retry_after_s"},
		"error.account_suspended":     {"reference"},
		"error.field_too_long":        {"max"},
		"page.error.reference":        {"reference"},
		"error.account_not_found":     nil,
		"error.password_incorrect":    nil,
		"error.identifier_invalid":    nil,
		"error.internal":              nil,
		"error.verification_required": nil,
	}
	for _, l := range []string{"ja", "en"} {
		for key, params := range want {
			tmpl, ok := std.catalogs[l][key]
			if !ok {
				t.Errorf("%s has no %q", l, key)
				continue
			}
			if got := sortedParams(tmpl); !slices.Equal(got, params) {
				t.Errorf("%s %q params = %v, want %v", l, key, got, params)
			}
		}
	}
}

// TestErrorMessagesReadWell holds a few habits of the texts: complete
// sentences, and in Japanese the polite です/ます form.
func TestErrorMessagesReadWell(t *testing.T) {
	for _, code := range MustCodes(t) {
		key := "error." + code
		ja := Message("ja", key, nil)
		if !strings.HasSuffix(ja, "。") {
			t.Errorf("ja %q = %q, want a sentence ending in 。", key, ja)
		}
		if !strings.Contains(ja, "です") && !strings.Contains(ja, "ます") && !strings.Contains(ja, "ください") {
			t.Errorf("ja %q = %q, want the polite form (です/ます/ください)", key, ja)
		}
		en := Message("en", key, nil)
		if !strings.HasSuffix(en, ".") || en[0] < 'A' || en[0] > 'Z' {
			t.Errorf("en %q = %q, want a capitalised sentence ending in a full stop", key, en)
		}
		if ja == en {
			t.Errorf("%q is not translated: %q", key, ja)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	tests := []struct {
		locale string
		code   ninsho.Code
		params map[string]any
		want   string
	}{
		{"ja", ninsho.CodeCodeIncorrect, map[string]any{"attempts_left": 3}, "確認コードが正しくありません。ご確認のうえ、もう一度入力してください（残り3回）。"},
		{"en", ninsho.CodeCodeIncorrect, map[string]any{"attempts_left": 3}, "The verification code is incorrect. Please check it and try again. Attempts left: 3."},
		{"ja", ninsho.CodeResendTooSoon, map[string]any{"seconds": 30}, "新しい確認コードをリクエストするには、30秒お待ちください。"},
		{"en", ninsho.CodeOverloaded, map[string]any{"retry_after_s": 2}, "We're very busy right now. Please try again in 2 seconds."},
		{"ja", ninsho.CodePasswordTooShort, map[string]any{"min": 8}, "パスワードは8文字以上で設定してください。"},
		{"en", ninsho.CodeAccountSuspended, map[string]any{"reference": "R-1234"}, "Your account has been suspended. Please contact customer service and quote reference number R-1234."},
		// Missing params render empty; they never panic.
		{"en", ninsho.CodeResendTooSoon, nil, "Please wait  seconds before asking for a new code."},
		// Locale tags, and unknown locales (Default: Japanese).
		{"ja-JP", ninsho.CodePasswordMismatch, nil, "パスワードが一致しません。両方の欄に同じパスワードを入力してください。"},
		{"en-GB", ninsho.CodePasswordMismatch, nil, "The passwords don't match. Please enter the same password in both fields."},
		{"fr", ninsho.CodePasswordMismatch, nil, "パスワードが一致しません。両方の欄に同じパスワードを入力してください。"},
		{"", ninsho.CodePasswordMismatch, nil, "パスワードが一致しません。両方の欄に同じパスワードを入力してください。"},
		// An unknown code falls back to its key.
		{"ja", ninsho.Code("no_such_code"), nil, "error.no_such_code"},
	}
	for _, tt := range tests {
		if got := ErrorMessage(tt.locale, tt.code, tt.params); got != tt.want {
			t.Errorf("ErrorMessage(%q, %q, %v) = %q, want %q", tt.locale, tt.code, tt.params, got, tt.want)
		}
	}
}

// TestMessageFallback: a text missing in a language, and a language without
// a catalogue, take the text of Default, the one fallback rule.
func TestMessageFallback(t *testing.T) {
	if Default != "ja" {
		t.Fatalf("Default = %q; docs/architecture.md and docs/glossary.md say ja", Default)
	}
	b, err := load(fstest.MapFS{
		"c/en.json":      {Data: []byte(`{"both": "en", "only.en": "English"}`)},
		"c/ja.json":      {Data: []byte(`{"only.ja": "日本語 {x}"}`)},
		"c/ja.more.json": {Data: []byte(`{"both": "日本語"}`)},
	}, "c")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ locale, key, want string }{
		{"ja", "both", "日本語"},
		{"en", "both", "en"},
		{"en", "only.ja", "日本語 1"},
		{"en", "only.en", "English"},
		{"ja", "only.en", "only.en"},
		{"ja", "missing", "missing"},
		{"xx", "both", "日本語"},
		{"", "both", "日本語"},
	}
	for _, tt := range tests {
		if got := b.message(tt.locale, tt.key, map[string]any{"x": 1}); got != tt.want {
			t.Errorf("message(%q, %q) = %q, want %q", tt.locale, tt.key, got, tt.want)
		}
	}
}

func TestLoadRejectsBadCatalogues(t *testing.T) {
	tests := map[string]fstest.MapFS{
		"no default":       {"c/en.json": {Data: []byte(`{}`)}},
		"bad json":         {"c/en.json": {Data: []byte(`{"a": `)}},
		"not strings":      {"c/en.json": {Data: []byte(`{"a": 1}`)}},
		"bad locale name":  {"c/ja.json": {Data: []byte(`{}`)}, "c/EN_us.json": {Data: []byte(`{}`)}},
		"key in two parts": {"c/ja.json": {Data: []byte(`{"a": "x"}`)}, "c/ja.more.json": {Data: []byte(`{"a": "y"}`)}},
		"bad part name":    {"c/ja.json": {Data: []byte(`{}`)}, "c/ja.Two-Step.json": {Data: []byte(`{}`)}},
	}
	for name, fsys := range tests {
		if _, err := load(fsys, "c"); err == nil {
			t.Errorf("%s: load succeeded, want error", name)
		}
	}
}

func TestTemplates(t *testing.T) {
	jst := time.FixedZone("JST", 9*60*60)
	until := time.Date(2026, 11, 25, 1, 2, 3, 0, time.UTC).In(jst)
	tests := []struct {
		locale, tmpl string
		params       map[string]any
		want         string
	}{
		{"en", "plain", nil, "plain"},
		{"en", "{a}", map[string]any{"a": "x"}, "x"},
		{"en", "{a}{b}", map[string]any{"a": 1, "b": int64(2)}, "12"},
		{"en", "x {a} y {a} z", map[string]any{"a": "!"}, "x ! y ! z"},
		{"en", "{missing} end", nil, " end"},
		{"en", "{a", map[string]any{"a": 1}, "{a"},
		{"en", "{} {a b} {{a}}", map[string]any{"a": 1}, "{} {a b} {1}"},
		{"en", "}{", nil, "}{"},
		{"en", "{nil}", map[string]any{"nil": nil}, ""},
		{"en", "{f}", map[string]any{"f": 1.5}, "1.5"},
		{"en", "{d}s", map[string]any{"d": 2500 * time.Millisecond}, "3s"},
		{"en", "{u}", map[string]any{"u": uint8(7)}, "7"},
		{"ja", "{t}", map[string]any{"t": until}, "2026年11月25日 10:03 (JST)"},
		{"en", "{t}", map[string]any{"t": until}, "November 25, 2026, 10:03 JST"},
		{"en", "{c}", map[string]any{"c": ninsho.CodeOverloaded}, "overloaded"},
	}
	for _, tt := range tests {
		if got := compile(tt.tmpl).render(tt.locale, tt.params); got != tt.want {
			t.Errorf("render(%q, %v) = %q, want %q", tt.tmpl, tt.params, got, tt.want)
		}
	}
}

func TestSupportedAndCanonical(t *testing.T) {
	for _, tt := range []struct {
		in        string
		supported bool
		canonical string
	}{
		{"ja", true, "ja"},
		{"en", true, "en"},
		{"ja-JP", false, "ja"},
		{"en-US", false, "en"},
		{"EN", false, "en"},
		{"ja_JP", false, "ja"},
		{" ja ", false, "ja"},
		{"fr", false, ""},
		{"", false, ""},
		{"*", false, ""},
		{"not a tag", false, ""},
		{strings.Repeat("a", 200), false, ""},
	} {
		if got := Supported(tt.in); got != tt.supported {
			t.Errorf("Supported(%q) = %v, want %v", tt.in, got, tt.supported)
		}
		if got := Canonical(tt.in); got != tt.canonical {
			t.Errorf("Canonical(%q) = %q, want %q", tt.in, got, tt.canonical)
		}
	}
	if got, want := Locales(), []string{"en", "ja"}; !slices.Equal(got, want) {
		t.Errorf("Locales() = %v, want %v", got, want)
	}
}

func TestNegotiate(t *testing.T) {
	tests := []struct {
		name                                  string
		explicit, cookie, accept, realmLocale string
		want                                  string
	}{
		{"explicit wins", "en", "ja", "ja", "ja", "en"},
		{"explicit tag", "ja-JP", "en", "en", "en", "ja"},
		{"bad explicit ignored", "fr", "ja", "en", "en", "ja"},
		{"cookie", "", "ja", "en-US,en;q=0.9", "en", "ja"},
		{"bad cookie ignored", "", "zz", "ja", "en", "ja"},
		{"accept english", "", "", "en-US,en;q=0.9,ja;q=0.8", "ja", "en"},
		{"accept japanese", "", "", "ja,en-US;q=0.9,en;q=0.8", "en", "ja"},
		{"accept q-values", "", "", "en;q=0.3, ja;q=0.7", "en", "ja"},
		{"accept q zero", "", "", "ja;q=0, en;q=0.1", "ja", "en"},
		{"accept unsupported first", "", "", "fr-FR,fr;q=0.9,ja;q=0.5", "en", "ja"},
		{"accept unknown language first", "", "", "xx;q=1, en;q=0.5", "ja", "en"},
		{"accept unknown language first, japanese next", "", "", "zz, ja;q=0.5", "en", "ja"},
		{"accept regional", "", "", "ja-JP", "en", "ja"},
		{"accept nothing supported", "", "", "fr-FR,de;q=0.5", "ja", "ja"},
		{"accept wildcard", "", "", "*", "ja", "ja"},
		{"accept garbage", "", "", ";;;===", "ja", "ja"},
		{"realm default", "", "", "", "ja", "ja"},
		{"realm default tag", "", "", "", "ja-JP", "ja"},
		{"nothing at all", "", "", "", "", Default},
		{"bad realm default", "", "", "", "fr", Default},
		{"english realm", "", "", "fr", "en", "en"},
	}
	for _, tt := range tests {
		if got := Negotiate(tt.explicit, tt.cookie, tt.accept, tt.realmLocale); got != tt.want {
			t.Errorf("%s: Negotiate(%q, %q, %q, %q) = %q, want %q", tt.name, tt.explicit, tt.cookie, tt.accept, tt.realmLocale, got, tt.want)
		}
	}
}

// TestChoose: flows and messages pick a person's language by the same rule
// as pages: the first supported candidate, then Default.
func TestChoose(t *testing.T) {
	tests := []struct {
		candidates []string
		want       string
	}{
		{[]string{"en", "ja", "ja"}, "en"},
		{[]string{"", "en-US", "ja"}, "en"},
		{[]string{"fr", "", "en"}, "en"},
		{[]string{"", "", "ja-JP"}, "ja"},
		{[]string{"fr", "de", "zz"}, Default},
		{[]string{"", "", ""}, Default},
		{nil, Default},
	}
	for _, tt := range tests {
		if got := Choose(tt.candidates...); got != tt.want {
			t.Errorf("Choose(%q) = %q, want %q", tt.candidates, got, tt.want)
		}
	}
	// The rule is the same as Negotiate's for a request that names nothing.
	if got := Negotiate("", "", "", ""); got != Choose() {
		t.Errorf("Negotiate with nothing = %q, Choose() = %q: two fallback rules", got, Choose())
	}
}

func BenchmarkErrorMessage(b *testing.B) {
	params := map[string]any{"attempts_left": 3}
	b.ReportAllocs()
	for b.Loop() {
		_ = ErrorMessage("ja", ninsho.CodeCodeIncorrect, params)
	}
}

func BenchmarkNegotiate(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = Negotiate("", "", "ja,en-US;q=0.9,en;q=0.8", "ja")
	}
}

func TestAcceptLanguageCache(t *testing.T) {
	b := mustLoad(catalogFS, "catalog")
	for range 2 {
		if got := b.matchAccept("ja,en;q=0.5"); got != "ja" {
			t.Errorf("matchAccept = %q, want ja", got)
		}
	}
	if got := b.acceptedSize.Load(); got != 1 {
		t.Errorf("cache size = %d, want 1", got)
	}
	// A full cache still answers, without growing.
	b.acceptedSize.Store(maxAcceptCache)
	if got := b.matchAccept("en-GB"); got != "en" {
		t.Errorf("matchAccept with a full cache = %q, want en", got)
	}
	if _, ok := b.accepted.Load("en-GB"); ok {
		t.Error("full cache grew")
	}
}

// TestEachLockKindSaysWhatIsTrue (issue 8, point 6): account_locked has a
// message per lock kind. A suspicious lock ("this wasn't me") names no time
// and does not send the owner to a familiar device, which that lock does not
// let in; an unfamiliar lock says until when; a pause of codes says so.
func TestEachLockKindSaysWhatIsTrue(t *testing.T) {
	until := time.Date(2026, 11, 25, 1, 15, 0, 0, time.UTC)
	for _, loc := range []string{"ja", "en"} {
		suspicious := ErrorMessage(loc, ninsho.CodeAccountLocked, map[string]any{"kind": "suspicious"})
		for _, bad := range []string{"{until}", "until .", "まで", "device you've used before", "以前に使用したことのあるデバイス", "以前にログインしたことのあるデバイス"} {
			if strings.Contains(suspicious, bad) {
				t.Errorf("%s suspicious lock message %q contains %q", loc, suspicious, bad)
			}
		}
		if suspicious == ErrorMessage(loc, ninsho.CodeAccountLocked, map[string]any{"until": until}) {
			t.Errorf("%s: the suspicious lock has the generic message", loc)
		}
		unfamiliar := ErrorMessage(loc, ninsho.CodeAccountLocked, map[string]any{"kind": "unfamiliar", "until": until})
		if !strings.Contains(unfamiliar, "10:15") && !strings.Contains(unfamiliar, "01:15") {
			t.Errorf("%s unfamiliar lock message %q names no time", loc, unfamiliar)
		}
		codes := ErrorMessage(loc, ninsho.CodeAccountLocked, map[string]any{"kind": "codes", "until": until})
		if codes == unfamiliar || (!strings.Contains(codes, "10:15") && !strings.Contains(codes, "01:15")) {
			t.Errorf("%s paused-codes message %q: want its own text with the time", loc, codes)
		}
		stopped := ErrorMessage(loc, ninsho.CodeAccountLocked, map[string]any{"kind": "codes_stopped"})
		if strings.Contains(stopped, "{until}") || stopped == codes {
			t.Errorf("%s stopped-codes message %q", loc, stopped)
		}
	}
}

// TestPluralForms: a message with a count takes the plural form of its
// language — English "1 second" and "2 seconds", Japanese one form for
// every count — in page texts and error messages alike.
func TestPluralForms(t *testing.T) {
	tests := []struct {
		locale, key string
		params      map[string]any
		want        string
	}{
		{"en", "error.resend_too_soon", map[string]any{"seconds": 1}, "Please wait 1 second before asking for a new code."},
		{"en", "error.resend_too_soon", map[string]any{"seconds": 2}, "Please wait 2 seconds before asking for a new code."},
		{"en", "error.resend_too_soon", map[string]any{"seconds": 0}, "Please wait 0 seconds before asking for a new code."},
		{"en", "hint.resend_after", map[string]any{"seconds": 1}, "You can ask for a new code in 1 second."},
		{"en", "hint.resend_after", map[string]any{"seconds": int64(21)}, "You can ask for a new code in 21 seconds."},
		{"en", "hint.resend_after", map[string]any{"seconds": 900 * time.Millisecond}, "You can ask for a new code in 1 second."},
		{"en", "signin.rate_limited_minutes", map[string]any{"minutes": 1}, "Too many sign-in attempts. Please wait a minute and try again."},
		{"en", "error.field_too_long", map[string]any{"max": 1}, "This is too long. Please enter no more than 1 character."},
		{"ja", "error.resend_too_soon", map[string]any{"seconds": 1}, "新しい確認コードをリクエストするには、1秒お待ちください。"},
		{"ja", "error.resend_too_soon", map[string]any{"seconds": 2}, "新しい確認コードをリクエストするには、2秒お待ちください。"},
		{"ja", "hint.resend_after", map[string]any{"seconds": 1}, "1秒後に確認コードを再送できます。"},
		// A locale without a catalogue falls back to the default, Japanese.
		{"fr", "hint.resend_after", map[string]any{"seconds": 1}, "1秒後に確認コードを再送できます。"},
	}
	for _, tt := range tests {
		if got := Message(tt.locale, tt.key, tt.params); got != tt.want {
			t.Errorf("Message(%s, %s, %v) = %q, want %q", tt.locale, tt.key, tt.params, got, tt.want)
		}
	}
	// Error messages: the count may come from retry_after_s.
	if got := ErrorMessage("en", ninsho.CodeRateLimited, map[string]any{"retry_after_s": 30}); got != "Too many attempts. Please wait about a minute and try again." {
		t.Errorf("rate_limited 30 s = %q", got)
	}
	if got := ErrorMessage("en", ninsho.CodeRateLimited, map[string]any{"retry_after_s": 120}); !strings.Contains(got, "about 2 minutes") {
		t.Errorf("rate_limited 120 s = %q", got)
	}
	if got := ErrorMessage("ja", ninsho.CodeRateLimited, map[string]any{"retry_after_s": 30}); !strings.Contains(got, "1分ほど") {
		t.Errorf("ja rate_limited 30 s = %q", got)
	}
	if got := ErrorMessage("en", ninsho.CodeOverloaded, map[string]any{"retry_after_s": 1}); !strings.Contains(got, "in 1 second.") {
		t.Errorf("overloaded 1 s = %q", got)
	}
	if PluralForm("ja", 1) != plural.Other || PluralForm("en", 1) != plural.One || PluralForm("en", 11) != plural.Other {
		t.Error("PluralForm does not follow CLDR (ja: other only; en: one for 1)")
	}
}

// TestNoEnglishCountReadsWrong renders every English message that has a
// parameter with each of its parameters set to 1 and looks for "1 <plural
// noun>": every message with a count has its "one" form.
func TestNoEnglishCountReadsWrong(t *testing.T) {
	wrong := regexp.MustCompile(`\b1 (seconds|minutes|hours|days|characters|attempts|codes|times)\b`)
	for key, tmpl := range std.catalogs["en"] {
		names := tmpl.params()
		if len(names) == 0 {
			continue
		}
		params := map[string]any{}
		for _, n := range names {
			params[n] = 1
		}
		if got := Message("en", key, params); wrong.MatchString(got) {
			t.Errorf("%q with a count of 1 reads %q: add %q", key, got, key+".one")
		}
	}
}

// TestFieldErrorMessage: a refusal about a field names the field when the
// catalogue has a text for it, in both languages.
func TestFieldErrorMessage(t *testing.T) {
	for _, l := range []string{"ja", "en"} {
		generic := ErrorMessage(l, ninsho.CodeFieldRequired, nil)
		seen := map[string]bool{}
		for _, f := range []string{"identifier", "name", "password", "password_confirmation", "code", "answer"} {
			got := FieldErrorMessage(l, ninsho.FieldError(ninsho.CodeFieldRequired, f))
			if got == generic || got == "" || seen[got] {
				t.Errorf("%s field_required %s = %q: want its own text", l, f, got)
			}
			seen[got] = true
		}
		if got := FieldErrorMessage(l, ninsho.FieldError(ninsho.CodeFieldRequired, "channel")); got != generic {
			t.Errorf("%s field_required for a field without its own text = %q, want %q", l, got, generic)
		}
		// An e-mail-only realm asks for the address alone.
		if got, want := FieldErrorMessage(l, ninsho.FieldError(ninsho.CodeFieldRequired, "identifier").WithParam("kind", "email")), Message(l, "error.field_required.email", nil); got != want {
			t.Errorf("%s field_required identifier of kind email = %q, want %q", l, got, want)
		}
		// A kind's text comes before a field's.
		locked := ninsho.FieldError(ninsho.CodeAccountLocked, "code").WithParam("kind", "codes")
		if got, want := FieldErrorMessage(l, locked), Message(l, "error.account_locked.codes", locked.Params); got != want {
			t.Errorf("%s locked codes = %q, want %q", l, got, want)
		}
	}
	if FieldErrorMessage("en", nil) != "" {
		t.Error("FieldErrorMessage(nil) != \"\"")
	}
}

// TestRequiredFieldErrorsUseTheLabel: the error for an empty field names
// the field with its label's word (「氏名」 on the form, 「氏名を入力してく
// ださい。」 in the error; "Your name" and "Please enter your name.").
func TestRequiredFieldErrorsUseTheLabel(t *testing.T) {
	for _, loc := range []string{"ja", "en"} {
		for _, f := range []string{"name", "identifier", "identifier_email", "email", "password", "code", "captcha_answer"} {
			key := "error.field_required." + strings.TrimPrefix(strings.TrimPrefix(f, "captcha_"), "identifier_")
			if f == "captcha_answer" {
				key = "error.field_required.answer"
			}
			label, msg := Message(loc, "field."+f, nil), Message(loc, key, nil)
			if msg == key || label == "field."+f {
				t.Errorf("%s: %s or field.%s is missing", loc, key, f)
				continue
			}
			word := strings.ToLower(strings.TrimPrefix(label, "Your "))
			if loc == "en" {
				word = strings.TrimSuffix(word, " in the image") // "Digits in the image" / "digits shown in the image"
			}
			if !strings.Contains(strings.ToLower(msg), word) {
				t.Errorf("%s: %s = %q does not name the field as its label %q does", loc, key, msg, label)
			}
		}
	}
}

// FuzzAsked feeds any language inputs to the request language rule: it never
// panics and answers a catalogue locale or "".
func FuzzAsked(f *testing.F) {
	for _, s := range []string{"", "ja", "en-US,en;q=0.9", "xx;q=1, en;q=0.5", "*;q=0", ";;;===", "zz, ja;q=0.5", "ja;q=abc"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, explicit, accept string) {
		switch l := Asked(explicit, "", accept); l {
		case "", "ja", "en":
		default:
			t.Fatalf("Asked(%q, %q) = %q, not a catalogue locale", explicit, accept, l)
		}
	})
}
