package webreq

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/clientip"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/httperr"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
)

func TestSessionToken(t *testing.T) {
	tests := []struct {
		name       string
		hdr        []string
		want       string
		fromCookie bool
	}{
		{"none", nil, "", false},
		{"bearer", []string{"Authorization", "Bearer abc"}, "abc", false},
		{"bearer lowercase", []string{"Authorization", "bearer abc"}, "abc", false},
		{"basic ignored", []string{"Authorization", "Basic abc"}, "", false},
		{"cookie", []string{"Cookie", "ninsho_session=xyz"}, "xyz", true},
		{"bearer wins over cookie", []string{"Authorization", "Bearer abc", "Cookie", "ninsho_session=xyz"}, "abc", false},
		{"overlong bearer refused", []string{"Authorization", "Bearer " + strings.Repeat("a", 300)}, "", false},
		{"overlong cookie refused", []string{"Cookie", "ninsho_session=" + strings.Repeat("a", 300)}, "", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		for i := 0; i+1 < len(tt.hdr); i += 2 {
			r.Header.Add(tt.hdr[i], tt.hdr[i+1])
		}
		got, fc := SessionToken(r)
		if got != tt.want || fc != tt.fromCookie {
			t.Errorf("%s: SessionToken = %q, %v; want %q, %v", tt.name, got, fc, tt.want, tt.fromCookie)
		}
	}
}

func TestCheckLength(t *testing.T) {
	tests := []struct {
		field, value string
		ok           bool
	}{
		{"name", strings.Repeat("名", 200), true},
		{"name", strings.Repeat("名", 201), false},
		{"identifier", strings.Repeat("a", 320), true},
		{"identifier", strings.Repeat("a", 321), false},
		{"password", strings.Repeat("a", 1024), true},
		{"password", strings.Repeat("パ", 1024), true}, // characters, as the refusal says (found from outside)
		{"password", strings.Repeat("パ", 1025), false},
		{"code", "１２３４５６", true},
		{"unlimited", strings.Repeat("a", 10000), true},
	}
	for _, tt := range tests {
		err := CheckLength(tt.field, tt.value)
		if (err == nil) != tt.ok {
			t.Errorf("CheckLength(%s, %d bytes) = %v, want ok %v", tt.field, len(tt.value), err, tt.ok)
		}
		if err != nil && (ninsho.CodeOf(err) != ninsho.CodeFieldTooLong || ninsho.ErrorOf(err).Field != tt.field || ninsho.ErrorOf(err).Params["max"] == nil) {
			t.Errorf("CheckLength(%s): error %+v", tt.field, ninsho.ErrorOf(err))
		}
	}
}

func TestCookies(t *testing.T) {
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	g := &flow.Grant{Token: "tok", ExpiresAt: now.Add(2 * time.Hour)}
	tests := []struct {
		name       string
		configured bool
		tls        bool
		secure     bool
	}{
		{"plain http", false, false, false},
		{"https public url", true, false, true},
		{"tls request", false, true, true},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("POST", "/", nil)
		if tt.tls {
			r.TLS = &tls.ConnectionState{}
		}
		w := httptest.NewRecorder()
		c := Cookies{Secure: tt.configured}
		c.SetSession(w, r, g, now)
		c.SetDevice(w, r, "dev")
		c.SetSession(w, r, nil, now) // nothing
		c.SetDevice(w, r, "")        // nothing
		cs := w.Result().Cookies()
		if len(cs) != 2 {
			t.Fatalf("%s: %d cookies, want 2", tt.name, len(cs))
		}
		for _, ck := range cs {
			if ck.Secure != tt.secure || !ck.HttpOnly || ck.Path != "/" || ck.SameSite != http.SameSiteLaxMode {
				t.Errorf("%s: cookie %s = %+v", tt.name, ck.Name, ck)
			}
		}
		if cs[0].Name != SessionCookie || cs[0].MaxAge != 7200 {
			t.Errorf("%s: session cookie %+v", tt.name, cs[0])
		}
		if cs[1].Name != DeviceCookie || cs[1].MaxAge != 400*24*3600 {
			t.Errorf("%s: device cookie %+v", tt.name, cs[1])
		}
	}
}

func TestLocale(t *testing.T) {
	jp := &realm.Realm{ID: "jp", DefaultLocale: "ja"}
	us := &realm.Realm{ID: "us", DefaultLocale: "en"}
	tests := []struct {
		target string
		hdr    []string
		rl     *realm.Realm
		want   string
	}{
		{"/", nil, jp, "ja"},
		{"/", nil, us, "en"},
		{"/", []string{"Accept-Language", "en-GB,en;q=0.8"}, jp, "en"},
		{"/", []string{"Accept-Language", "fr, ja;q=0.5"}, us, "ja"},
		{"/", []string{"Cookie", "ninsho_lang=ja", "Accept-Language", "en"}, us, "ja"},
		{"/?lang=en", []string{"Cookie", "ninsho_lang=ja"}, jp, "en"},
		{"/?lang=xx", nil, jp, "ja"},
		{"/?lang=EN-us", nil, jp, "en"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", tt.target, nil)
		for i := 0; i+1 < len(tt.hdr); i += 2 {
			r.Header.Add(tt.hdr[i], tt.hdr[i+1])
		}
		if got := Locale(r, tt.rl); got != tt.want {
			t.Errorf("Locale(%s %v, realm %s) = %q, want %q", tt.target, tt.hdr, tt.rl.ID, got, tt.want)
		}
	}
}

// TestRequestSaysWhetherTheLanguageWasChosen: only a language the request
// expresses (?lang=, cookie, Accept-Language) is chosen; the realm's default
// is not, so the account's own language outranks it in messages.
func TestRequestSaysWhetherTheLanguageWasChosen(t *testing.T) {
	tests := []struct {
		target     string
		hdr        []string
		wantLocale string
		wantChosen bool
	}{
		{"/", nil, "ja", false},
		{"/?lang=xx", []string{"Accept-Language", "fr"}, "ja", false},
		{"/?lang=en", nil, "en", true},
		{"/", []string{"Cookie", "ninsho_lang=en"}, "en", true},
		{"/", []string{"Accept-Language", "en-US"}, "en", true},
		{"/", []string{"Accept-Language", "ja"}, "ja", true},
	}
	jp := &realm.Realm{ID: "jp", DefaultLocale: "ja"}
	for _, tt := range tests {
		r := httptest.NewRequest("POST", tt.target, nil)
		for i := 0; i+1 < len(tt.hdr); i += 2 {
			r.Header.Add(tt.hdr[i], tt.hdr[i+1])
		}
		got := Request(r, nil, ninsho.ClientPage, Locale(r, jp), "")
		if got.Locale != tt.wantLocale || got.LocaleChosen != tt.wantChosen || got.ChosenLocale() != map[bool]string{true: tt.wantLocale}[tt.wantChosen] {
			t.Errorf("Request(%s %v): Locale %q chosen %v, want %q chosen %v", tt.target, tt.hdr, got.Locale, got.LocaleChosen, tt.wantLocale, tt.wantChosen)
		}
	}
}

func TestRequest(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.0.0.5:1234"
	r.Header.Set("X-Forwarded-For", "203.0.113.7")
	r.Header.Set("User-Agent", strings.Repeat("é", 400))
	rs := &clientip.Resolver{Trusted: clientip.MustParse("10.0.0.0/8")}
	r = r.WithContext(httperr.WithRequestID(r.Context(), "rid"))
	got := Request(r, rs, ninsho.ClientPage, "en", "dev")
	if got.Client != ninsho.ClientPage || got.IP != "203.0.113.7" || got.RequestID != "rid" || got.Locale != "en" || got.DeviceToken != "dev" || len(got.UserAgent) > 512 || !strings.HasPrefix(got.UserAgent, "é") {
		t.Errorf("Request = %+v", got)
	}
	// The middleware's resolved address wins.
	r = r.WithContext(clientip.NewContext(r.Context(), "198.51.100.1"))
	if got := Request(r, rs, ninsho.ClientAPI, "en", "").IP; got != "198.51.100.1" {
		t.Errorf("IP from context = %q", got)
	}
}

// TestCookieSetOnce: a cookie set twice in one response (a finished flow's
// cookie cleared by two helpers) is sent once, the last value winning, and
// the other cookies stay as they were.
func TestCookieSetOnce(t *testing.T) {
	const id = "0b6f5d3c-7a0e-4f57-9a43-2c1c8f1e2d3a"
	r := httptest.NewRequest("POST", "/", nil)
	r.AddCookie(&http.Cookie{Name: FlowCookie(id), Value: "secret"})
	w := httptest.NewRecorder()
	c := Cookies{}
	c.SetDevice(w, r, "dev")
	c.ClearFlow(w, r, id)
	c.SetTest(w, r)
	c.ClearFlow(w, r, id)
	c.SetDevice(w, r, "dev2")
	got := w.Result().Header.Values("Set-Cookie")
	if len(got) != 3 {
		t.Fatalf("Set-Cookie = %q, want 3 (test, flow, device once each)", got)
	}
	names := map[string]string{}
	for _, ck := range w.Result().Cookies() {
		if _, dup := names[ck.Name]; dup {
			t.Errorf("cookie %s sent twice", ck.Name)
		}
		names[ck.Name] = ck.Value
	}
	if v, ok := names[FlowCookie(id)]; !ok || v != "" {
		t.Errorf("flow cookie not cleared: %q", got)
	}
	if names[DeviceCookie] != "dev2" || names[TestCookie] != "1" {
		t.Errorf("cookies = %v, want the last device token and the test cookie", names)
	}
}
