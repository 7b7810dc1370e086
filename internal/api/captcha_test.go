package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"image/png"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/ninsho/ninsho/internal/api"
	"github.com/ninsho/ninsho/internal/captcha"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/secret"
	"github.com/ninsho/ninsho/internal/store/storetest"
	"github.com/ninsho/ninsho/internal/web/webtest"
)

// newCaptchaAPI returns an API handler that serves CAPTCHA media from a
// service on a fresh SQLite database, and the service.
func newCaptchaAPI(tb testing.TB) (*api.Handler, *captcha.Service) {
	tb.Helper()
	box, err := secret.NewBox(rand.Reader, bytes.Repeat([]byte{9}, 32))
	if err != nil {
		tb.Fatalf("NewBox: %v", err)
	}
	svc := &captcha.Service{
		Store:  storetest.MustOpenSQLite(tb),
		Box:    box,
		Clock:  ninsho.NewManualClock(storetest.Epoch),
		Random: rand.Reader,
	}
	return api.New(api.Deps{Realms: webtest.Realms(), Captcha: svc}), svc
}

func mustChallenge(tb testing.TB, svc *captcha.Service, realm string) *captcha.Challenge {
	tb.Helper()
	c, err := svc.New(context.Background(), realm, storetest.NewID())
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return c
}

// get requests target on host.
func get(h http.Handler, method, host, target string, hdr ...string) *httptest.ResponseRecorder {
	return do(h, method, "http://"+host+target, "", "", hdr...)
}

func wantProblem(tb testing.TB, rec *httptest.ResponseRecorder, status int, code ninsho.Code) {
	tb.Helper()
	if rec.Code != status {
		tb.Fatalf("status %d, want %d; body %s", rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		tb.Fatalf("Content-Type %q, want application/problem+json", ct)
	}
	var p struct{ Code string }
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Code != string(code) {
		tb.Errorf("problem code: got %q (%v), want %q", p.Code, err, code)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
		tb.Errorf("Cache-Control %q, want no-store", cc)
	}
}

func TestCaptchaImage(t *testing.T) {
	h, svc := newCaptchaAPI(t)
	c := mustChallenge(t, svc, "jp")
	rec := get(h, "GET", "jp.example", captcha.ImagePath(c.ID))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, want 200; body %s", rec.Code, rec.Body)
	}
	body := rec.Body.Bytes()
	hd := rec.Header()
	if got := hd.Get("Content-Type"); got != "image/png" {
		t.Errorf("Content-Type %q, want image/png", got)
	}
	if got := hd.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", got)
	}
	if got := hd.Get("Content-Length"); got != strconv.Itoa(len(body)) {
		t.Errorf("Content-Length %q, body %d bytes", got, len(body))
	}
	if !bytes.HasPrefix(body, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("body starts %q, want the PNG signature", body[:min(8, len(body))])
	}
	img, err := png.Decode(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("png.Decode: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 240 || b.Dy() != 80 {
		t.Errorf("image %v, want 240×80", b)
	}
}

func TestCaptchaAudio(t *testing.T) {
	h, svc := newCaptchaAPI(t)
	c := mustChallenge(t, svc, "jp")
	us := mustChallenge(t, svc, "us")
	cases := []struct {
		name, host, target string
		hdr                []string
		wantLang           string
	}{
		{"ja", "jp.example", captcha.AudioPath(c.ID, "ja"), nil, "ja"},
		{"en", "jp.example", captcha.AudioPath(c.ID, "en"), nil, "en"},
		{"tag", "jp.example", captcha.AudioPath(c.ID, "en-US"), nil, "en"},
		{"realm default", "jp.example", captcha.AudioPath(c.ID, ""), nil, "ja"},
		{"realm default us", "us.example", captcha.AudioPath(us.ID, ""), nil, "en"},
		{"accept-language", "us.example", captcha.AudioPath(us.ID, ""), []string{"Accept-Language", "ja-JP,ja;q=0.9"}, "ja"},
	}
	bodies := map[string][]byte{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := get(h, "GET", tc.host, tc.target, tc.hdr...)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d, want 200; body %s", rec.Code, rec.Body)
			}
			body := rec.Body.Bytes()
			if got := rec.Header().Get("Content-Type"); got != "audio/wav" {
				t.Errorf("Content-Type %q, want audio/wav", got)
			}
			if got := rec.Header().Get("Content-Language"); got != tc.wantLang {
				t.Errorf("Content-Language %q, want %q", got, tc.wantLang)
			}
			if got := rec.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", got)
			}
			if len(body) < 44 || string(body[:4]) != "RIFF" || string(body[8:16]) != "WAVEfmt " {
				t.Fatalf("body starts %q, want a RIFF WAVE header", body[:min(16, len(body))])
			}
			bodies[tc.name] = body
		})
	}
	if bytes.Equal(bodies["ja"], bodies["en"]) {
		t.Errorf("Japanese and English audio are the same")
	}
	rec := get(h, "GET", "jp.example", captcha.AudioPath(c.ID, "fr"))
	wantProblem(t, rec, http.StatusBadRequest, ninsho.CodeLocaleInvalid)
}

func TestCaptchaMediaNotFound(t *testing.T) {
	h, svc := newCaptchaAPI(t)
	c := mustChallenge(t, svc, "jp")
	solved := mustChallenge(t, svc, "jp")
	solvedAnswer, _ := svc.Answer(context.Background(), solved.ID)
	if err := svc.Check(context.Background(), solved.ID, solved.FlowID, solvedAnswer); err != nil {
		t.Fatalf("Check: %v", err)
	}
	cases := []struct{ name, host, target string }{
		{"unknown id", "jp.example", captcha.ImagePath(storetest.NewID())},
		{"unknown id audio", "jp.example", captcha.AudioPath(storetest.NewID(), "ja")},
		{"malformed id", "jp.example", "/api/v1/captcha/xyz.png"},
		{"no extension", "jp.example", "/api/v1/captcha/" + c.ID},
		{"other extension", "jp.example", "/api/v1/captcha/" + c.ID + ".gif"},
		{"double extension", "jp.example", "/api/v1/captcha/" + c.ID + ".png.png"},
		{"other realm", "us.example", captcha.ImagePath(c.ID)},
		{"solved", "jp.example", captcha.ImagePath(solved.ID)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantProblem(t, get(h, "GET", tc.host, tc.target), http.StatusNotFound, ninsho.CodeNotFound)
		})
	}
	t.Run("no service", func(t *testing.T) {
		h := api.New(api.Deps{Realms: webtest.Realms()})
		wantProblem(t, get(h, "GET", "jp.example", captcha.ImagePath(c.ID)), http.StatusNotFound, ninsho.CodeNotFound)
	})
	t.Run("post", func(t *testing.T) {
		rec := get(h, "POST", "jp.example", captcha.ImagePath(c.ID))
		wantProblem(t, rec, http.StatusMethodNotAllowed, ninsho.CodeMethodNotAllowed)
	})
}

func TestDevCaptchaHandler(t *testing.T) {
	_, svc := newCaptchaAPI(t)
	h := api.DevCaptchaHandler(svc)
	c := mustChallenge(t, svc, "jp")
	want, err := svc.Answer(context.Background(), c.ID)
	if err != nil {
		t.Fatalf("Answer: %v", err)
	}

	rec := get(h, "GET", "jp.example", "/dev/api/captcha/"+c.ID)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, want 200; body %s", rec.Code, rec.Body)
	}
	if ct, cc := rec.Header().Get("Content-Type"), rec.Header().Get("Cache-Control"); ct != "application/json" || cc != "no-store" {
		t.Errorf("Content-Type %q, Cache-Control %q; want application/json, no-store", ct, cc)
	}
	var body map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || len(body) != 1 || body["answer"] != want {
		t.Errorf("body %s (%v), want {\"answer\":%q}", rec.Body, err, want)
	}

	// The answer it gives solves the challenge; then there is none to give.
	if err := svc.Check(context.Background(), c.ID, c.FlowID, body["answer"]); err != nil {
		t.Fatalf("Check with the dev answer: %v", err)
	}
	wantProblem(t, get(h, "GET", "jp.example", "/dev/api/captcha/"+c.ID), http.StatusNotFound, ninsho.CodeNotFound)
	wantProblem(t, get(h, "GET", "jp.example", "/dev/api/captcha/"+storetest.NewID()), http.StatusNotFound, ninsho.CodeNotFound)
	wantProblem(t, get(h, "GET", "jp.example", "/dev/api/captcha/nope"), http.StatusNotFound, ninsho.CodeNotFound)
	wantProblem(t, get(h, "GET", "jp.example", "/dev/api/other"), http.StatusNotFound, ninsho.CodeNotFound)
	rec = get(h, "POST", "jp.example", "/dev/api/captcha/"+mustChallenge(t, svc, "jp").ID)
	wantProblem(t, rec, http.StatusMethodNotAllowed, ninsho.CodeMethodNotAllowed)
	if got := rec.Header().Get("Allow"); got != "GET, HEAD" {
		t.Errorf("Allow %q, want GET, HEAD", got)
	}
	wantProblem(t, get(api.DevCaptchaHandler(nil), "GET", "jp.example", "/dev/api/captcha/"+c.ID), http.StatusNotFound, ninsho.CodeNotFound)
}
