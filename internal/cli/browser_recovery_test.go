package cli_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/recovery"
	"github.com/ninsho/ninsho/internal/recovery/recoverytest"
	"github.com/ninsho/ninsho/internal/twostep"
)

// TestBrowserDocumentRecovery: an owner whose account has two-step
// verification and who lost the phone opens /recovery in Chromium (in
// Japanese), proves the password only, uploads a photo of a driver's
// licence (a PNG whose file name says nothing) through the multipart form
// and sees the reference number; the confirmation arrives by e-mail. A
// reviewer approves it (the service the console calls); the owner then
// signs in without being asked for a second factor.
func TestBrowserDocumentRecovery(t *testing.T) {
	const (
		address  = "kaori@example.jp"
		name     = "佐藤かおり"
		password = "kumo-no-ue-42"
	)
	chromium := mustChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	t.Cleanup(cancel)
	app := mustStartBrowserApp(t, ctx)
	base := app.URL()
	mustSignUpByAPI(t, ctx, base, address, name, password)
	a, err := app.DB.AccountByEmail(ctx, "default", address)
	if err != nil {
		t.Fatal(err)
	}
	// Two-step verification on, with an app the owner no longer has.
	now := time.Now()
	if err := app.DB.AddCredential(ctx, &twostep.Credential{ID: ninsho.NewID(ninsho.SystemClock{}, ninsho.SecureRandom), Realm: a.Realm, AccountID: a.ID,
		Method: twostep.MethodTOTP, Sealed: []byte("lost"), CreatedAt: now, ProvedAt: &now}); err != nil {
		t.Fatal(err)
	}
	if err := app.DB.SetState(ctx, twostep.State{Realm: a.Realm, AccountID: a.ID, Enabled: true, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	photo := filepath.Join(t.TempDir(), "IMG_0001")
	if err := os.WriteFile(photo, recoverytest.MustPNG(t), 0o600); err != nil {
		t.Fatal(err)
	}

	b := mustStartBrowser(t, ctx, chromium, "ja-JP,ja")
	console := recordConsole(t, b)
	mustDo(t, b, "open /recovery", chromedp.Navigate(base+"/recovery"))
	mustPage(t, b, "/recovery", "スマートフォンを紛失した場合：本人確認書類でアカウントを復旧")
	mustDo(t, b, "fill in identifier and password",
		chromedp.SendKeys(chromedp.ID("identifier"), address),
		chromedp.SendKeys(chromedp.ID("password"), password),
	)
	mustSubmit(t, b, `form[action="/recovery"] button[type="submit"]`, "次へ")
	u := mustPage(t, b, "/recovery", "本人確認書類のアップロード")
	if u.Query().Get("flow") == "" {
		t.Fatalf("upload page URL %s has no flow", u)
	}
	mustDo(t, b, "choose the licence and the photo",
		chromedp.SetValue(chromedp.ID("document_type"), "drivers_license"),
		chromedp.SetUploadFiles("#front", []string{photo}),
	)
	mustSubmit(t, b, `button[value="submit_documents"]`, "審査を申し込む")
	mustPage(t, b, "/recovery", "アカウント復旧のお申し込み")
	status := mustRun(t, b, "read the case", chromedp.Text(chromedp.CSS(`[data-recovery-status="open"]`), chromedp.NodeVisible))
	if !strings.Contains(status, "受付番号は R-") {
		t.Fatalf("status page says %q", status)
	}
	ref := "R-" + strings.Fields(strings.SplitN(status, "受付番号は R-", 2)[1])[0]
	msg := mustInboxTemplate(t, ctx, base, address, recovery.TemplateOpened)
	if msg.Locale != "ja" {
		t.Errorf("confirmation locale %q, want ja", msg.Locale)
	}

	// The reviewer's decision, as the console makes it.
	if _, err := app.RecoveryService().Approve(ctx, "staff:reviewer", ninsho.Request{IP: "127.0.0.1"}, ref, "免許証の写真が登録名と一致"); err != nil {
		t.Fatalf("approve %s: %v", ref, err)
	}
	// The approval also sends two_step_changed in the same transaction:
	// wait for the approval's message, whichever the inbox lists first.
	deliveriesOf(t, base).wait(t, ctx, address, fromTemplate(recovery.TemplateApproved))

	// Signing in now asks no second factor (this browser is new: the
	// e-mail code comes first).
	mustDo(t, b, "open /signin", chromedp.Navigate(base+"/signin"))
	mustPage(t, b, "/signin", "ログイン")
	mustDo(t, b, "fill in the sign-in form",
		chromedp.SendKeys(chromedp.ID("identifier"), address),
		chromedp.SendKeys(chromedp.ID("password"), password),
	)
	mustSubmit(t, b, `form[action="/signin"] button[type="submit"]`, "ログイン")
	mustPage(t, b, "/verify", "確認コードを入力")
	code := mustInboxTemplate(t, ctx, base, address, "signin_code")
	mustDo(t, b, "type the code", chromedp.SendKeys(chromedp.ID("code"), code.Code))
	mustSubmit(t, b, `form:has(#code) button[type="submit"]`, "確認")
	mustPage(t, b, "/account", "ログインとセキュリティ")
	for _, m := range console() {
		if m.IsException() || m.Type == chromedp.ConsoleError && !strings.HasSuffix(m.URL, "/favicon.ico") {
			t.Errorf("browser console: %s (%s)", m, m.URL)
		}
	}
}
