package web_test

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/recovery/recoverytest"
	"github.com/ninsho/ninsho/internal/signin"
)

// TestRecoveryFormAllOrNothing: the upload form checks every file before it
// keeps any — a valid front with an invalid back is refused (400) and the
// front is not stored either.
func TestRecoveryFormAllOrNothing(t *testing.T) {
	h, env := newRecoveryWeb(t)
	b := jar{}
	b.take(t, get(h, "/recovery").Result())
	rec := post(h, "/recovery", url.Values{"identifier": {"hanako@example.jp"}, "password": {pw}}, b.header()...)
	b.take(t, rec.Result())
	flowID := strings.TrimPrefix(rec.Header().Get("Location"), "/recovery?flow=")
	html := "<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
	rec = multipartPost(h, "/recovery/documents",
		[][2]string{{"flow", flowID}, {"document_type", "drivers_license"}, {"action", "submit_documents"}},
		[][3]string{{"front", "front.png", string(recoverytest.MustPNG(t))}, {"back", "back.pdf", html}}, b.header()...)
	if rec.Code != 400 || strings.Contains(rec.Body.String(), `data-slot="front"`) {
		t.Fatalf("valid front, invalid back: %d\n%s", rec.Code, rec.Body)
	}
	f, err := env.DB.Flow(context.Background(), flowID)
	if err != nil {
		t.Fatal(err)
	}
	c, err := env.DB.Case(context.Background(), "jp", f.Get("case"))
	if err != nil {
		t.Fatal(err)
	}
	if docs, _ := env.DB.Documents(context.Background(), c.ID); len(docs) != 0 {
		t.Fatalf("stored %d documents of a refused form, want none", len(docs))
	}
	// The same form with a valid back keeps both.
	rec = multipartPost(h, "/recovery/documents",
		[][2]string{{"flow", flowID}, {"document_type", "drivers_license"}, {"action", ""}},
		[][3]string{{"front", "front.png", string(recoverytest.MustPNG(t))}, {"back", "back.pdf", string(recoverytest.MinimalPDF())}}, b.header()...)
	if rec.Code != 303 {
		t.Fatalf("valid form: %d\n%s", rec.Code, rec.Body)
	}
	if docs, _ := env.DB.Documents(context.Background(), c.ID); len(docs) != 2 {
		t.Fatalf("stored %d documents, want 2", len(docs))
	}
}

// TestRecoveryPageSuspended: a suspension made by staff is told on the
// hosted /recovery page as on the sign-in page — the message with the
// reason, and the link to a help request carrying the S-reference.
func TestRecoveryPageSuspended(t *testing.T) {
	h, env := newRecoveryWeb(t)
	ctx := context.Background()
	env.Signin.Holds = env.DB
	a, _ := env.DB.AccountByEmail(ctx, "jp", "hanako@example.jp")
	a.Status = account.StatusSuspended
	if err := env.DB.UpdateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	sus := &account.Suspension{Reference: "S-7KP4-MX3C", Realm: "jp", AccountID: a.ID,
		Reason: account.SuspensionReason("unusual_activity"), Note: "staff note", By: "staff:x", At: env.Clock.Now()}
	if err := env.DB.AddSuspension(ctx, sus); err != nil {
		t.Fatal(err)
	}
	env.Signin.ForgetAccount(a.ID)
	b := jar{}
	b.take(t, get(h, "/recovery").Result())
	signin := post(h, "/signin", url.Values{"identifier": {"hanako@example.jp"}, "password": {pw}}, b.header()...)
	rec := post(h, "/recovery", url.Values{"identifier": {"hanako@example.jp"}, "password": {pw}}, b.header()...)
	body := rec.Body.String()
	if rec.Code != 403 || !strings.Contains(body, `<a href="/help/request?ref=S-7KP4-MX3C&amp;step=suspended">`) || strings.Contains(body, "staff note") ||
		strings.Contains(body, "/help?ref=") {
		t.Fatalf("suspended recovery: %d\n%s", rec.Code, body)
	}
	// The same message as the sign-in page's (its reason included).
	msg := func(s string) string {
		_, after, _ := strings.Cut(s, `role="alert"`)
		m, _, _ := strings.Cut(after, "</")
		return m
	}
	if m := msg(body); m == "" || m != msg(signin.Body.String()) {
		t.Errorf("recovery message %q, sign-in's %q", m, msg(signin.Body.String()))
	}
}

// TestRecoveryPageCaptcha: when sign-in's protection asks a CAPTCHA
// before the password, the hosted /recovery page shows it (no JavaScript),
// then asks the password again with the flow, then leads to the upload
// form.
func TestRecoveryPageCaptcha(t *testing.T) {
	h, env := newRecoveryWeb(t)
	ctx := context.Background()
	for i := range 3 {
		_, err := env.Signin.Start(ctx, env.JP, flowtest.Req("198.51.100."+strconv.Itoa(20+i), ""), signin.Input{Identifier: "hanako@example.jp", Password: "wrong-password-1"})
		if !ninsho.IsCode(err, ninsho.CodePasswordIncorrect) {
			t.Fatalf("wrong password %d: %v", i, err)
		}
	}
	b := jar{}
	b.take(t, get(h, "/recovery").Result())
	rec := post(h, "/recovery", url.Values{"identifier": {"hanako@example.jp"}, "password": {pw}}, b.header()...)
	b.take(t, rec.Result())
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, `name="action" value="submit_captcha"`) || !strings.Contains(body, `action="/recovery"`) {
		t.Fatalf("held: %d\n%s", rec.Code, body)
	}
	_, after, _ := strings.Cut(body, `name="flow" value="`)
	flowID, _, _ := strings.Cut(after, `"`)
	f, err := env.DB.Flow(ctx, flowID)
	if err != nil {
		t.Fatal(err)
	}
	answer, err := env.Captcha.Answer(ctx, f.Get("start_captcha"))
	if err != nil {
		t.Fatal(err)
	}
	rec = post(h, "/recovery", url.Values{"flow": {flowID}, "action": {"submit_captcha"}, "answer": {answer}, "identifier": {"hanako@example.jp"}}, b.header()...)
	body = rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, `name="flow" value="`+flowID+`"`) || !strings.Contains(body, `name="password"`) || strings.Contains(body, "submit_captcha") {
		t.Fatalf("solved: %d\n%s", rec.Code, body)
	}
	rec = post(h, "/recovery", url.Values{"flow": {flowID}, "password": {pw}}, b.header()...)
	if rec.Code != 303 || rec.Header().Get("Location") != "/recovery?flow="+flowID {
		t.Fatalf("password after the CAPTCHA: %d %q\n%s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	if rec := get(h, "/recovery?flow="+flowID, b.header()...); rec.Code != 200 || !strings.Contains(rec.Body.String(), `enctype="multipart/form-data"`) {
		t.Fatalf("upload page: %d\n%s", rec.Code, rec.Body)
	}
}
