package message_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/ninsho/ninsho/internal/message"
)

// writeThemeFile writes dir/messages/<rel> with src.
func writeThemeFile(tb testing.TB, dir, rel, src string) string {
	tb.Helper()
	p := filepath.Join(dir, ThemeMessagesDir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

// TestLoadThemeOverridesOneTemplateByName overrides one Japanese e-mail
// text and the Japanese layout: the theme's templates use them, every other
// file stays built-in, and the built-in templates are untouched.
func TestLoadThemeOverridesOneTemplateByName(t *testing.T) {
	dir := t.TempDir()
	writeThemeFile(t, dir, "ja/signup_code.email.txt", "{{template \"greeting\" .}}\n\n{{.brand_name}}へようこそ。確認コード：{{.code}}\n{{template \"footer\" .}}\n")
	writeThemeFile(t, dir, "ja/_layout.html", `{{define "layout"}}<div class="shop">{{template "content" .}}</div>{{end}}{{define "greeting"}}<p>{{.name}} 様</p>{{end}}{{define "code"}}<b>{{.}}</b>{{end}}{{define "do_not_share"}}<p>x</p>{{end}}`)
	writeThemeFile(t, dir, ".keep", "")
	themed, err := LoadTheme(dir)
	if err != nil {
		t.Fatalf("LoadTheme: %v", err)
	}
	builtin := MustTemplates(t)
	brand := Brand{Name: "さくら商店"}
	vars := codeVars()

	got, err := themed.Render(ChannelEmail, TemplateSignupCode, "ja", brand, vars)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got.Text, "さくら商店へようこそ。確認コード：482913") || !strings.Contains(got.Text, "送信専用アドレス") {
		t.Errorf("themed text does not use the override with the built-in footer:\n%s", got.Text)
	}
	if !strings.HasPrefix(got.HTML, `<div class="shop">`) || got.Subject != "【さくら商店】ご登録の確認コードのお知らせ" {
		t.Errorf("themed HTML/subject: %q / %q", got.Subject, got.HTML)
	}
	other, err := themed.Render(ChannelEmail, TemplateSignupCode, "en", brand, vars)
	if err != nil || !strings.Contains(other.Text, "Thanks for signing up for さくら商店") {
		t.Errorf("English is not the built-in one: %v\n%s", err, other.Text)
	}
	plain, err := builtin.Render(ChannelEmail, TemplateSignupCode, "ja", brand, vars)
	if err != nil || strings.Contains(plain.Text, "ようこそ") || strings.Contains(plain.HTML, "shop") {
		t.Errorf("the built-in templates changed: %v\n%s", err, plain.Text)
	}
}

func TestLoadThemeWithoutMessagesUsesTheBuiltIn(t *testing.T) {
	dir := t.TempDir()
	if got, err := LoadTheme(dir); got != nil || err != nil {
		t.Errorf("no messages directory: LoadTheme = %v, %v; want nil, nil", got, err)
	}
	writeThemeFile(t, dir, "ja/.DS_Store", "x")
	if got, err := LoadTheme(dir); got != nil || err != nil {
		t.Errorf("only hidden files: LoadTheme = %v, %v; want nil, nil", got, err)
	}
}

// TestLoadThemeRefusesABrokenTemplate checks that each kind of broken
// override is refused with the operator's file and, where it has one, the
// line.
func TestLoadThemeRefusesABrokenTemplate(t *testing.T) {
	tests := []struct {
		name, file, src string
		want            string // after the file's path
	}{
		{"syntax", "ja/signup_code.email.txt", "{{template \"greeting\" .}}\n\n確認コード：{{.code | digits}}\n", `:3: function "digits" not defined`},
		{"unclosed action in HTML", "en/signin_code.email.html", "{{define \"content\"}}\n<p>{{.code</p>{{end}}\n", ":2: "},
		{"no content block", "en/signin_code.email.html", "<p>{{.code}}</p>\n", `: does not define "content"`},
		{"layout without layout", "ja/_layout.html", `{{define "page"}}{{template "content" .}}{{end}}`, `: does not define "layout"`},
		{"a variable the template is not given", "ja/account_exists.sms.txt", "【{{.brand_name}}】\n確認コード：{{.code}}\n", `:2:`},
		{"partials without footer", "en/_partials.txt", `{{define "greeting"}}Hi{{end}}{{define "do_not_share"}}x{{end}}`, `: does not define "footer"`},
		{"unknown file", "ja/welcome.email.txt", "hello", ": unknown file"},
		{"unknown language", "fr/signup_code.sms.txt", "x", ": unknown file"},
		{"a directory in a language", "en/extra/signup_code.sms.txt", "x", ": unknown file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := writeThemeFile(t, dir, tt.file, tt.src)
			got, err := LoadTheme(dir)
			if err == nil {
				t.Fatalf("LoadTheme accepted %s", tt.file)
			}
			if got != nil {
				t.Errorf("LoadTheme returned templates with an error")
			}
			// The path named is the operator's file (or, for an unknown
			// language or directory, the entry that is unknown).
			named := p
			switch tt.name {
			case "unknown language":
				named = filepath.Join(dir, ThemeMessagesDir, "fr")
			case "a directory in a language":
				named = filepath.Join(dir, ThemeMessagesDir, "en", "extra")
			}
			if !strings.Contains(err.Error(), named+tt.want) {
				t.Errorf("LoadTheme error = %v\nwant one containing %q", err, named+tt.want)
			}
		})
	}
}
