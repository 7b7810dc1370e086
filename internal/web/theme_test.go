package web_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/theme"
	"github.com/ninsho/ninsho/internal/web"
	"github.com/ninsho/ninsho/internal/web/webtest"
)

// mustThemeDir writes files (path relative to the directory → content) into
// a new theme directory.
func mustThemeDir(tb testing.TB, files map[string]string) string {
	tb.Helper()
	dir := tb.TempDir()
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

// twoRealms is realm "jp" (host jp.example) with rl's brand and theme, and
// realm "us" (host us.example) with the built-in look.
func twoRealms(jp realm.Realm) *realm.Registry {
	jp.ID, jp.Name, jp.Hosts, jp.DefaultLocale, jp.PhoneRegion = "jp", "さくら商店", []string{"jp.example"}, "ja", "JP"
	return realm.NewRegistry([]*realm.Realm{
		&jp,
		{ID: "us", Name: "Maple Goods", Hosts: []string{"us.example"}, DefaultLocale: "en", PhoneRegion: "US"},
	})
}

func TestThemeOverridesPagesOfItsRealmOnly(t *testing.T) {
	dir := mustThemeDir(t, map[string]string{
		"pages/signin.html": `{{define "content"}}<p class="sakura">さくら商店のログイン</p>
<form method="post" action="/signin"><input name="identifier"><button>{{t .Locale "button.signin"}}</button></form>
{{end}}`,
		"pages/error.html": `{{define "content"}}<p class="sakura-error"><a href="https://sakura.example.jp/">トップへ</a></p>{{end}}`,
	})
	h := mustWeb(t, web.Deps{Realms: twoRealms(realm.Realm{ThemeDir: dir})})
	for _, tt := range []struct {
		host, target string
		want, not    []string
	}{
		{"jp.example", "/signin", []string{`<p class="sakura">さくら商店のログイン</p>`, "<title>ログイン – さくら商店</title>", `<footer class="site-footer">`}, []string{`id="password"`}},
		{"jp.example", "/signup", []string{`id="password_confirmation"`}, []string{"sakura"}},
		{"jp.example", "/nope", []string{`class="sakura-error"`, `role="alert"`}, []string{`href="/signin"`}},
		{"us.example", "/signin", []string{`id="password"`, "<title>Sign in – Maple Goods</title>"}, []string{"sakura"}},
		{"us.example", "/nope", []string{`href="/signin"`}, []string{"sakura"}},
	} {
		r := get(h, "http://"+tt.host+tt.target)
		body := r.Body.String()
		for _, w := range tt.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s%s: want %q in\n%s", tt.host, tt.target, w, body)
			}
		}
		for _, n := range tt.not {
			if strings.Contains(body, n) {
				t.Errorf("%s%s: %q must not be there:\n%s", tt.host, tt.target, n, body)
			}
		}
	}
}

func TestThemeLayoutOverride(t *testing.T) {
	dir := mustThemeDir(t, map[string]string{
		// Only "layout" is redefined; "captcha", "footer" and the other
		// helpers of the built-in layout stay available.
		"pages/layout.html": `{{define "layout"}}<!doctype html><html lang="{{.Locale}}"><title>{{.RealmName}}</title>
<div class="shop-frame">{{template "content" .}}</div>{{template "footer" .}}</html>{{end}}`,
	})
	h := mustWeb(t, web.Deps{Realms: twoRealms(realm.Realm{ThemeDir: dir, Brand: realm.Brand{TermsURL: "https://sakura.example.jp/terms"}})})
	body := get(h, "http://jp.example/signup").Body.String()
	for _, w := range []string{`<div class="shop-frame">`, `id="password_confirmation"`, `href="https://sakura.example.jp/terms"`} {
		if !strings.Contains(body, w) {
			t.Errorf("want %q in\n%s", w, body)
		}
	}
	if body := get(h, "http://us.example/signup").Body.String(); strings.Contains(body, "shop-frame") {
		t.Errorf("the other realm got the override:\n%s", body)
	}
}

func TestThemeRefusesBadTemplates(t *testing.T) {
	for _, tt := range []struct {
		name  string
		files map[string]string
		want  []string // in the error
	}{
		{"parse error", map[string]string{"pages/signin.html": "{{define \"content\"}}\n<p>ok</p>\n<p>{{.Oops</p>\n{{end}}"},
			[]string{"realm jp", filepath.Join("pages", "signin.html") + ":3:"}},
		{"unknown function", map[string]string{"pages/verify.html": "{{define \"content\"}}\n{{shout .Title}}{{end}}"},
			[]string{filepath.Join("pages", "verify.html") + ":2:", "shout"}},
		{"no content block", map[string]string{"pages/signup.html": "<p>sign up here</p>"},
			[]string{filepath.Join("pages", "signup.html"), `"content"`}},
		{"layout without layout block", map[string]string{"pages/layout.html": `{{define "content"}}x{{end}}`},
			[]string{filepath.Join("pages", "layout.html"), `"layout"`}},
		{"unknown file", map[string]string{"pages/sigin.html": `{{define "content"}}x{{end}}`},
			[]string{filepath.Join("pages", "sigin.html"), "not a page template", "signin.html"}},
		{"unsafe to escape", map[string]string{"pages/signin.html": `{{define "content"}}<div title="{{.FlowID}}>{{end}}`},
			[]string{filepath.Join("pages", "signin.html"), "html/template"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := mustThemeDir(t, tt.files)
			_, err := web.New(web.Deps{Realms: twoRealms(realm.Realm{ThemeDir: dir})})
			if err == nil {
				t.Fatal("web.New accepted the theme")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// pngHeader is enough of a PNG for content sniffing.
const pngHeader = "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"

func TestBrandAssetsPerRealm(t *testing.T) {
	dir := mustThemeDir(t, map[string]string{
		"logo.png":  pngHeader,
		"theme.css": ".card { border-radius: 0; }\n",
	})
	h := mustWeb(t, web.Deps{Realms: twoRealms(realm.Realm{
		ThemeDir: dir,
		Brand:    realm.Brand{LogoFile: theme.FindLogo(dir), PrimaryColor: "#ffeb3b"},
	})})

	logo := get(h, "http://jp.example/brand/logo")
	if logo.Code != 200 || logo.Body.String() != pngHeader {
		t.Fatalf("GET /brand/logo = %d %q", logo.Code, logo.Body.String())
	}
	for k, v := range map[string]string{"Content-Type": "image/png", "Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"} {
		if got := logo.Header().Get(k); got != v {
			t.Errorf("logo %s = %q, want %q", k, got, v)
		}
	}
	if csp := logo.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "sandbox") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("logo CSP = %q, want a sandbox with nothing allowed", csp)
	}
	etag := logo.Header().Get("ETag")
	if again := get(h, "http://jp.example/brand/logo", "If-None-Match", etag); etag == "" || again.Code != 304 {
		t.Errorf("revalidation with ETag %q = %d, want 304", etag, again.Code)
	}

	css := get(h, "http://jp.example/brand/theme.css")
	ps, _ := theme.NewPalettes("#ffeb3b")
	if css.Code != 200 || css.Header().Get("Content-Type") != "text/css; charset=utf-8" || !strings.Contains(css.Body.String(), "--primary: "+ps.Light.Primary.Hex()) {
		t.Errorf("GET /brand/theme.css = %d %s\n%s", css.Code, css.Header().Get("Content-Type"), css.Body)
	}
	def, _ := theme.NewPalettes("")
	if body := get(h, "http://us.example/brand/theme.css").Body.String(); !strings.Contains(body, "--primary: "+def.Light.Primary.Hex()) {
		t.Errorf("the other realm's theme.css lacks the default colour:\n%s", body)
	}
	if c := get(h, "http://jp.example/brand/custom.css"); c.Code != 200 || c.Body.String() != ".card { border-radius: 0; }\n" {
		t.Errorf("GET /brand/custom.css = %d %q", c.Code, c.Body.String())
	}
	for _, target := range []string{"/brand/logo", "/brand/custom.css"} {
		if r := get(h, "http://us.example"+target); r.Code != 404 {
			t.Errorf("realm without one: GET %s = %d, want 404", target, r.Code)
		}
	}

	page := get(h, "http://jp.example/signin").Body.String()
	for _, re := range []string{
		`<img class="logo" src="/brand/logo\?v=[0-9a-f]+" alt="さくら商店">`,
		`<link rel="stylesheet" href="/static/style.css">\n<link rel="stylesheet" href="/brand/theme.css\?v=[0-9a-f]+">\n<link rel="stylesheet" href="/brand/custom.css\?v=[0-9a-f]+">`,
	} {
		if !regexp.MustCompile(re).MatchString(page) {
			t.Errorf("page lacks %s:\n%s", re, page)
		}
	}
	other := get(h, "http://us.example/signin").Body.String()
	if strings.Contains(other, "<img") || strings.Contains(other, "custom.css") || !strings.Contains(other, `<span class="brand-name">Maple Goods</span>`) {
		t.Errorf("realm without logo or theme:\n%s", other)
	}
}

func TestExternalLogoAllowedForItsRealmOnly(t *testing.T) {
	h := mustWeb(t, web.Deps{Realms: twoRealms(realm.Realm{Brand: realm.Brand{LogoURL: "https://cdn.sakura.example.jp:8443/img/logo.svg"}})})
	jp := get(h, "http://jp.example/signin")
	if got, want := jp.Header().Get("Content-Security-Policy"), web.ContentSecurityPolicy+"; img-src 'self' https://cdn.sakura.example.jp:8443"; got != want {
		t.Errorf("CSP = %q, want %q", got, want)
	}
	if !strings.Contains(jp.Body.String(), `<img class="logo" src="https://cdn.sakura.example.jp:8443/img/logo.svg" alt="さくら商店">`) {
		t.Errorf("page lacks the external logo:\n%s", jp.Body)
	}
	if r := get(h, "http://jp.example/brand/logo"); r.Code != 404 {
		t.Errorf("GET /brand/logo with an external logo = %d, want 404", r.Code)
	}
	if got := get(h, "http://us.example/signin").Header().Get("Content-Security-Policy"); got != web.ContentSecurityPolicy {
		t.Errorf("other realm's CSP = %q", got)
	}
}

func TestLogoMustBeAnImage(t *testing.T) {
	dir := mustThemeDir(t, map[string]string{"logo.png": "<html>not a logo</html>", "logo.svg": "just text"})
	for _, name := range []string{"logo.png", "logo.svg"} {
		_, err := web.New(web.Deps{Realms: twoRealms(realm.Realm{Brand: realm.Brand{LogoFile: filepath.Join(dir, name)}})})
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: web.New = %v, want an error naming the file", name, err)
		}
	}
}

func TestFooterShowsBrandingAndPoweredByOnlyWhenAsked(t *testing.T) {
	off := mustWeb(t, web.Deps{Realms: webtest.Realms()})
	body := get(off, "http://jp.example/signin").Body.String()
	for _, w := range []string{
		`<a href="https://sakura.example.jp/help">お問い合わせ窓口</a> <span class="contact">お電話: 0120-123-456（平日 10:00〜18:00）</span>`,
		`<li><a href="https://sakura.example.jp/terms">利用規約</a></li>`,
		`<li><a href="https://sakura.example.jp/privacy">プライバシーポリシー</a></li>`,
	} {
		if !strings.Contains(body, w) {
			t.Errorf("footer lacks %q:\n%s", w, body)
		}
	}
	if strings.Contains(body, "Ninsho") {
		t.Errorf("a page of さくら商店 says Ninsho:\n%s", body)
	}
	on := mustWeb(t, web.Deps{Realms: twoRealms(realm.Realm{Brand: realm.Brand{PoweredBy: true}})})
	if body := get(on, "http://jp.example/signin").Body.String(); !strings.Contains(body, `<p class="powered">Ninsho で動作しています</p>`) {
		t.Errorf("powered_by on: line missing:\n%s", body)
	}
	if body := get(on, "http://us.example/signin").Body.String(); strings.Contains(body, "Ninsho") {
		t.Errorf("powered_by off: page says Ninsho:\n%s", body)
	}
}

// TestGoldenPagesNeverSayNinsho reads every golden page: a page whose realm
// is not named Ninsho never shows the word.
func TestGoldenPagesNeverSayNinsho(t *testing.T) {
	files, err := filepath.Glob("testdata/*/*.golden")
	if err != nil || len(files) < 20 {
		t.Fatalf("golden pages: %d, %v", len(files), err)
	}
	title := regexp.MustCompile(`<title>.* – (.*)</title>`)
	checked := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m := title.FindSubmatch(b)
		if m == nil || strings.Contains(string(m[1]), "Ninsho") {
			continue
		}
		checked++
		if _, body, _ := strings.Cut(string(b), "\n\n"); strings.Contains(body, "Ninsho") {
			t.Errorf("%s (realm %s) says Ninsho", f, m[1])
		}
	}
	if checked < 20 {
		t.Errorf("only %d golden pages of a realm not named Ninsho", checked)
	}
}
