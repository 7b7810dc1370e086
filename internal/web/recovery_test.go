package web_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/httperr"
	"github.com/ninsho/ninsho/internal/recovery"
	"github.com/ninsho/ninsho/internal/recovery/recoverytest"
	"github.com/ninsho/ninsho/internal/store/storetest"
	"github.com/ninsho/ninsho/internal/totp"
	"github.com/ninsho/ninsho/internal/web"
	"github.com/ninsho/ninsho/internal/web/webreq"
	"github.com/ninsho/ninsho/internal/web/webtest"
)

// newRecoveryWeb is the pages over the real services with document
// recovery, and an account hanako@example.jp with 2SV on.
func newRecoveryWeb(t *testing.T) (*web.Handler, *flowtest.Env) {
	t.Helper()
	env := flowtest.New(t, storetest.MustOpenSQLite(t))
	svc := &recovery.Service{Kit: env.Kit, Realms: env.Realms, Signin: env.Signin, Gate: env.Gate, Store: env.DB, Documents: env.DB,
		Box: env.Box, Forget: env.Signin.ForgetAccount}
	env.Engine.Handlers[flow.KindRecovery] = svc
	h := mustWeb(t, web.Deps{Realms: env.Realms, Flows: env.Engine, Signup: env.Signup, Signin: env.Signin, Reset: env.Reset, Recovery: svc, Now: env.Clock.Now})
	ctx := context.Background()
	env.MustSignUp(t, env.JP, "hanako@example.jp", pw, "hanako@example.jp")
	a, _ := env.DB.AccountByEmail(ctx, "jp", "hanako@example.jp")
	req := flowtest.Req("192.0.2.10", "")
	en, err := env.TwoStep.BeginTOTP(ctx, env.JP, req, a)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := totp.CodeAt(en.Secret, env.Clock.Now())
	if _, err := env.TwoStep.ProveTOTP(ctx, env.JP, req, a, en.CredentialID, c); err != nil {
		t.Fatal(err)
	}
	env.Clock.Advance(time.Minute)
	return h, env
}

// multipartPost posts the fields (in order) and files (name → file name,
// content) as multipart/form-data, like a browser's upload form.
func multipartPost(h http.Handler, target string, fields [][2]string, files [][3]string, hdr ...string) *httptest.ResponseRecorder {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, f := range fields[:len(fields)-1] {
		mw.WriteField(f[0], f[1])
	}
	for _, f := range files {
		w, _ := mw.CreateFormFile(f[0], f[1])
		w.Write([]byte(f[2]))
	}
	last := fields[len(fields)-1] // the button comes last
	mw.WriteField(last[0], last[1])
	mw.Close()
	r := httptest.NewRequest("POST", target, &b)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	r.Header.Set("User-Agent", flowtest.BrowserUA)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Add(hdr[i], hdr[i+1])
	}
	r = r.WithContext(httperr.WithRequestID(r.Context(), "01900000-0000-7000-8000-00000000beef"))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// TestRecoveryPages: the start page (golden, ja and en) proves the
// password and leads to the upload form without a session cookie; the
// multipart form recognises files by content whatever their name (an HTML
// page named .pdf is refused on the form with its message; a PNG named
// .exe is a PNG), submits the case and shows its reference number and due
// time; another browser cannot see the flow; the cancel link's page
// cancels the case.
func TestRecoveryPages(t *testing.T) {
	h, env := newRecoveryWeb(t)
	for _, lang := range []string{"ja", "en"} {
		webtest.Golden(t, lang+"/recovery.golden", page(get(h, "/recovery", "Accept-Language", lang)))
	}
	b := jar{}
	rec := get(h, "/recovery", b.header()...)
	b.take(t, rec.Result())
	rec = post(h, "/recovery", url.Values{"identifier": {"hanako@example.jp"}, "password": {"wrong-pass-77"}}, b.header()...)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "パスワードが正しくありません") {
		t.Fatalf("wrong password: %d\n%s", rec.Code, rec.Body)
	}
	// The message says the password can be reset: the page offers it.
	if !strings.Contains(rec.Body.String(), `<a href="/password-assistant">`) {
		t.Errorf("a wrong password on /recovery offers no password assistant:\n%s", rec.Body)
	}
	rec = post(h, "/recovery", url.Values{"identifier": {"hanako@example.jp"}, "password": {pw}}, b.header()...)
	b.take(t, rec.Result())
	loc := rec.Header().Get("Location")
	if rec.Code != 303 || !strings.HasPrefix(loc, "/recovery?flow=") {
		t.Fatalf("start: %d %q\n%s", rec.Code, loc, rec.Body)
	}
	if _, ok := b[webreq.SessionCookie]; ok {
		t.Fatal("a recovery start set a session cookie")
	}
	flowID := strings.TrimPrefix(loc, "/recovery?flow=")
	rec = get(h, loc, b.header()...)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `enctype="multipart/form-data"`) || !strings.Contains(rec.Body.String(), `value="passport"`) {
		t.Fatalf("upload page: %d\n%s", rec.Code, rec.Body)
	}
	if rec := get(h, loc, "Cookie", "ninsho_test=1"); rec.Code != 404 {
		t.Fatalf("another browser's view: %d", rec.Code)
	}
	html := "<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
	rec = multipartPost(h, "/recovery/documents",
		[][2]string{{"flow", flowID}, {"document_type", "drivers_license"}, {"action", "submit_documents"}},
		[][3]string{{"front", "licence.pdf", html}}, b.header()...)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "この形式のファイルはアップロードできません") || !strings.Contains(rec.Body.String(), `<option value="drivers_license" selected>`) {
		t.Fatalf("html named .pdf: %d\n%s", rec.Code, rec.Body)
	}
	big := string(recoverytest.MustPNG(t)) + strings.Repeat("\x00", recovery.MaxDocumentSize)
	rec = multipartPost(h, "/recovery/documents",
		[][2]string{{"flow", flowID}, {"document_type", "drivers_license"}, {"action", "submit_documents"}},
		[][3]string{{"front", "licence.png", big}, {"back", "back.png", string(recoverytest.MustPNG(t))}}, b.header()...)
	if rec.Code != 413 || !strings.Contains(rec.Body.String(), "ファイルのサイズが大きすぎます") || strings.Contains(rec.Body.String(), `data-slot="back"`) {
		t.Fatalf("over 10 MB: %d\n%s", rec.Code, rec.Body)
	}
	// A passport's front, then the type changed to a licence with no file
	// chosen: the new type is kept (a licence needs no utility bill).
	rec = multipartPost(h, "/recovery/documents", [][2]string{{"flow", flowID}, {"document_type", "passport"}, {"action", "upload"}},
		[][3]string{{"front", "passport.png", string(recoverytest.MustPNG(t))}}, b.header()...)
	if rec.Code != 303 {
		t.Fatalf("passport front: %d\n%s", rec.Code, rec.Body)
	}
	rec = multipartPost(h, "/recovery/documents", [][2]string{{"flow", flowID}, {"document_type", "drivers_license"}, {"action", "upload"}},
		[][3]string{{"front", "", ""}}, b.header()...)
	if rec.Code != 303 {
		t.Fatalf("type changed without a file: %d\n%s", rec.Code, rec.Body)
	}
	if rec := get(h, loc, b.header()...); !strings.Contains(rec.Body.String(), `<option value="drivers_license" selected>`) {
		t.Fatalf("the type changed without a file was dropped:\n%s", rec.Body)
	}
	rec = multipartPost(h, "/recovery/documents",
		[][2]string{{"flow", flowID}, {"document_type", "drivers_license"}, {"action", "submit_documents"}},
		[][3]string{{"front", "licence.exe", string(recoverytest.MustPNG(t))}, {"back", "", ""}}, b.header()...)
	if rec.Code != 303 || rec.Header().Get("Location") != loc {
		t.Fatalf("upload and submit: %d %q\n%s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	b.take(t, rec.Result())
	rec = get(h, loc, b.header()...)
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, `data-recovery-status="open"`) || !strings.Contains(body, "受付番号は R-") ||
		!strings.Contains(body, env.Clock.Now().Add(48*time.Hour).In(time.FixedZone("JST", 9*3600)).Format("2006-01-02 15:04 JST")) {
		t.Fatalf("status page: %d\n%s", rec.Code, body)
	}

	// The cancel link of the confirmation.
	var token string
	for _, m := range env.Messages(t, "hanako@example.jp") {
		if m.Template == recovery.TemplateOpened {
			_, token, _ = strings.Cut(m.Text, "/recovery/cancel?token=")
			token, _, _ = strings.Cut(token, "\n")
		}
	}
	rec = get(h, "/recovery/cancel?token="+url.QueryEscape(token), b.header()...)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `name="token" value="`+token+`"`) || !strings.Contains(rec.Body.String(), `data-recovery-case="R-`) {
		t.Fatalf("cancel page: %d\n%s", rec.Code, rec.Body)
	}
	rec = post(h, "/recovery/cancel", url.Values{"token": {token}}, b.header()...)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `data-recovery-status="cancelled"`) {
		t.Fatalf("cancel: %d\n%s", rec.Code, rec.Body)
	}
	if rec := post(h, "/recovery/cancel", url.Values{"token": {token}}, b.header()...); rec.Code != 404 {
		t.Fatalf("cancel again: %d", rec.Code)
	}
	// A spent or empty link says so when opened, with no form to confirm.
	for q, want := range map[string]int{"?token=" + url.QueryEscape(token): 404, "?token=": 400, "": 400} {
		rec := get(h, "/recovery/cancel"+q, b.header()...)
		if rec.Code != want || strings.Contains(rec.Body.String(), `action="/recovery/cancel"`) {
			t.Errorf("GET /recovery/cancel%s: %d, want %d and no form\n%s", q, rec.Code, want, rec.Body)
		}
	}
}
