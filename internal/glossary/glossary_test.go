package glossary

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// root returns the module root, found by walking up to go.mod, so that the
// test reads the files customers see by their paths in the repository.
func root(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// glob returns the files matching pattern under the module root and fails
// when there are fewer than min: a wrong path must not pass by checking
// nothing.
func glob(t *testing.T, pattern string, min int) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root(t), pattern))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < min {
		t.Fatalf("%s: %d files, want at least %d", pattern, len(files), min)
	}
	return files
}

func rel(t *testing.T, path string) string {
	r, err := filepath.Rel(root(t), path)
	if err != nil {
		return path
	}
	return r
}

// lineOf returns the 1-based line of the first occurrence of sub in text,
// or 0.
func lineOf(text, sub string) int {
	i := strings.Index(text, sub)
	if i < 0 {
		return 0
	}
	return strings.Count(text[:i], "\n") + 1
}

// checkFile checks a template file in lang and reports each violation with
// the file, its line and the offending text.
func checkFile(t *testing.T, path, lang string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, v := range Check(lang, text) {
		t.Errorf("%s:%d (%s): %s", rel(t, path), lineOf(text, v.Text), lang, v)
	}
	for _, v := range CheckSpacing(lang, text) {
		t.Errorf("%s:%d (%s): %s", rel(t, path), lineOf(text, v.Text), lang, v)
	}
}

// TestPageTemplates: the page templates serve both languages, so what they
// say themselves must break neither language's glossary: every word comes
// from the catalogue.
func TestPageTemplates(t *testing.T) {
	for _, f := range glob(t, "internal/web/templates/*.html", 10) {
		for _, lang := range []string{"ja", "en"} {
			checkFile(t, f, lang)
		}
	}
}

// TestMessageTemplates checks every e-mail, SMS and voice template in its
// language.
func TestMessageTemplates(t *testing.T) {
	for _, lang := range []string{"ja", "en"} {
		for _, f := range glob(t, "internal/message/templates/"+lang+"/*", 38) {
			checkFile(t, f, lang)
		}
	}
}

// catalogue returns lang's whole catalogue: catalog/<lang>.json and its
// parts, catalog/<lang>.<part>.json, merged.
func catalogue(t *testing.T, lang string) (string, map[string]string) {
	t.Helper()
	dir := filepath.Join(root(t), "internal/i18n/catalog")
	parts, err := filepath.Glob(filepath.Join(dir, lang+".*.json"))
	if err != nil {
		t.Fatal(err)
	}
	c := map[string]string{}
	for _, path := range append([]string{filepath.Join(dir, lang+".json")}, parts...) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var part map[string]string
		if err := json.Unmarshal(data, &part); err != nil {
			t.Fatal(err)
		}
		maps.Copy(c, part)
	}
	path := filepath.Join(dir, lang+".json")
	if len(c) < 150 {
		t.Fatalf("%s: %d entries, want the whole catalogue", rel(t, path), len(c))
	}
	return rel(t, path), c
}

// TestCatalogues checks every entry of every catalogue in its language.
func TestCatalogues(t *testing.T) {
	files := glob(t, "internal/i18n/catalog/*.json", 2)
	seen := map[string]bool{}
	for _, f := range files {
		lang, _, _ := strings.Cut(strings.TrimSuffix(filepath.Base(f), ".json"), ".")
		if seen[lang] {
			continue
		}
		seen[lang] = true
		if _, ok := avoid[lang]; !ok {
			t.Errorf("%s: the glossary has no terms for %q", rel(t, f), lang)
			continue
		}
		path, c := catalogue(t, lang)
		keys := make([]string, 0, len(c))
		for k := range c {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if slices.Contains(OwnLanguageKeys, k) {
				continue
			}
			for _, v := range Check(lang, c[k]) {
				t.Errorf("%s %q: %s", path, k, v)
			}
			for _, v := range CheckSpacing(lang, c[k]) {
				t.Errorf("%s %q: %s", path, k, v)
			}
		}
	}
}

// TestCaptchaAsksForDigits: every text that asks for the image check's
// answer asks for digits (数字), in both languages; every key about the
// check is decided.
func TestCaptchaAsksForDigits(t *testing.T) {
	for _, lang := range []string{"ja", "en"} {
		path, c := catalogue(t, lang)
		for k := range c {
			if strings.Contains(k, "captcha") && !slices.Contains(CaptchaAsking, k) && !slices.Contains(CaptchaOther, k) {
				t.Errorf("%s %q: add it to glossary.CaptchaAsking or CaptchaOther", path, k)
			}
		}
		for _, k := range CaptchaAsking {
			text, ok := c[k]
			if !ok {
				t.Errorf("%s has no %q (glossary.CaptchaAsking)", path, k)
				continue
			}
			for _, v := range CheckCaptcha(lang, text) {
				t.Errorf("%s %q: %s", path, k, v)
			}
		}
	}
}

// TestCheck shows that the rule catches what it should and lets pass what
// it should, so that the tests above can fail.
func TestCheck(t *testing.T) {
	tests := []struct {
		lang, text string
		want       []string // the offending texts, in order
	}{
		{"ja", "サインインしてください。", []string{"サインイン"}},
		{"ja", "新しい端末からサインアウトしました", []string{"サインアウト", "端末"}},
		{"ja", "Eメールアドレスまたは携帯電話番号", []string{"Eメール"}},
		{"ja", "このメールアドレスまたは電话番号", []string{"话"}},
		{"ja", "認証コードを入力", []string{"認証コード"}},
		{"ja", "二段階認証が有効です", []string{"二段階認証"}},
		{"ja", "ブラウザで開く", []string{"ブラウザで"}},
		{"ja", "ブラウザー", nil},
		{"ja", "端末：a browser", []string{"端末", "browser"}},
		{"ja", "他のサイトで使っていない", []string{"他の"}},
		{"ja", "他人に教えないでください", nil},
		{"ja", "Caps Lockがオンです。IPアドレス、SMS、Windows の Chrome", nil},
		{"ja", `<p style="font-family:'Hiragino Sans',Meiryo;">{{.name}} 様</p>`, nil},
		{"ja", "例: name@example.com または携帯電話番号（{destination}）", nil},
		{"ja", "{{.base_url}}/signin からログイン https://example.jp/x?y=z", nil},
		{"ja", "キャンセル Cancel", []string{"Cancel"}},
		{"en", "Log in to your account", []string{"Log in"}},
		{"en", "Login & security", []string{"Login"}},
		{"en", "You've logged out.", []string{"logged out"}},
		{"en", "Sign in, sign-in page, signed in, sign out", nil},
		{"en", "Enter the OTP or one-time code", []string{"OTP", "one-time code"}},
		{"en", "your e-mail address or E-mail", []string{"e-mail", "E-mail"}},
		{"en", "a new terminal", []string{"terminal"}},
		{"en", "We don't recognise it", []string{"recognise"}},
		{"en", "Two-factor authentication", []string{"Two-factor"}},
		{"en", "Password assistance", []string{"Password assistance"}},
		{"en", "Sign in at {{.base_url}}/signin or /login", nil},
		{"en", "日本語 is Japanese", []string{"日本語 is Japanese"}},
	}
	for _, tt := range tests {
		var got []string
		for _, v := range Check(tt.lang, tt.text) {
			got = append(got, v.Text)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("Check(%s, %q) = %q, want %q", tt.lang, tt.text, got, tt.want)
		}
	}
	spacing := []struct {
		text string
		want []string
	}{
		{"有効期限は10分です。7日間、1回だけ。残り4回、25秒後、{max}文字以内、{n}件", nil},
		{"有効期限は {{.minutes}} 分です", []string{"} 分"}},
		{"リンクの有効期限は 7 日間です", []string{"7 日"}},
		{"{max} 文字以内で、6 桁の確認コードを 3 回まで、25 秒後", []string{"} 文字", "6 桁", "3 回", "5 秒"}},
		{"Caps Lock がオンです。Windows の Chrome、SMS で受け取る、IPアドレス", nil},
		{"Caps Lockがオンです", []string{"kが"}},
		{"確認コードをSMSで受け取る", []string{"をS", "Sで"}},
		{"{{.brand_name}}でご利用の {system} のブラウザー", nil},
	}
	for _, tt := range spacing {
		var got []string
		for _, v := range CheckSpacing("ja", tt.text) {
			got = append(got, v.Text)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("CheckSpacing(ja, %q) = %q, want %q", tt.text, got, tt.want)
		}
	}
	if vs := CheckSpacing("en", "10 minutes, Caps Lock"); len(vs) != 0 {
		t.Errorf("CheckSpacing(en) = %v, want nothing (a Japanese rule)", vs)
	}
	captcha := []struct {
		lang, text string
		bad        bool
	}{
		{"ja", "画像に表示されている数字を入力してください。", false},
		{"ja", "画像に表示されている文字を入力してください。", true},
		{"en", "Please type the digits you see in the image.", false},
		{"en", "Please type the numbers you see in the image.", true},
		{"en", "Type the digits, not the characters.", true},
	}
	for _, tt := range captcha {
		if bad := len(CheckCaptcha(tt.lang, tt.text)) > 0; bad != tt.bad {
			t.Errorf("CheckCaptcha(%s, %q) reports %v, want %v", tt.lang, tt.text, bad, tt.bad)
		}
	}
}

// TestDocsListEveryTerm: docs/glossary.md, the reading copy, names every
// word the glossary says to use and every proper noun it allows.
func TestDocsListEveryTerm(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root(t), "docs/glossary.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	for _, term := range Terms {
		if !strings.Contains(doc, term.Use) {
			t.Errorf("docs/glossary.md does not mention %q (%s)", term.Use, term.Lang)
		}
	}
	for _, n := range ProperNouns {
		if !strings.Contains(doc, n) {
			t.Errorf("docs/glossary.md does not list the proper noun %q", n)
		}
	}
}
