package cli_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/cli"
	"github.com/ninsho/ninsho/internal/config"
	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/recovery"
	"github.com/ninsho/ninsho/internal/recovery/recoverytest"
	"github.com/ninsho/ninsho/internal/twostep"
)

// TestBrowserConsoleRecoveryReview is issue 13's browser test, in Japanese:
// a seller locked out of two-step verification (an authenticator app they
// no longer have, no backup code) uploads a PNG of a driver's licence on
// /recovery; a reviewer, made by the command line's function and enrolled
// with a TOTP code computed here, signs in to /console with the password
// and a code, opens the case from the queue, sees the image (served by
// the console, decoded by the browser), and approves it with a reason.
// The owner then signs in with the password alone — no second factor is
// asked — and, the realm requiring two-step verification of sellers, is
// led to set it up again (docs/api.md "Mandatory enrolment").
func TestBrowserConsoleRecoveryReview(t *testing.T) {
	const (
		owner     = "kaori@example.jp"
		ownerPass = "kumo-no-ue-42"
		revEmail  = "reviewer@example.jp"
		revPass   = "kinmokusei-no-kaori-42"
	)
	ja := func(key string) string { return i18n.Message("ja", key, nil) }
	chromium := mustChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	t.Cleanup(cancel)
	clock := &offsetClock{}
	app := mustStartSellerApp(t, ctx, clock)
	base := app.URL()
	mustSignUpByAPI(t, ctx, base, owner, "佐藤かおり", ownerPass)
	a, err := app.DB.AccountByEmail(ctx, "default", owner)
	if err != nil {
		t.Fatal(err)
	}
	a.Type = account.TypeSeller
	if err := app.DB.UpdateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	now := clock.Now()
	if err := app.DB.AddCredential(ctx, &twostep.Credential{ID: ninsho.NewID(ninsho.SystemClock{}, ninsho.SecureRandom), Realm: a.Realm, AccountID: a.ID,
		Method: twostep.MethodTOTP, Sealed: []byte("lost"), CreatedAt: now, ProvedAt: &now}); err != nil {
		t.Fatal(err)
	}
	if err := app.DB.SetState(ctx, twostep.State{Realm: a.Realm, AccountID: a.ID, Enabled: true, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	photo := filepath.Join(t.TempDir(), "IMG_0002")
	if err := os.WriteFile(photo, recoverytest.MustPNG(t), 0o600); err != nil {
		t.Fatal(err)
	}
	link, err := cli.CreateStaff(ctx, app, revEmail, "審査担当", "reviewer")
	if err != nil {
		t.Fatalf("CreateStaff: %v", err)
	}
	_, query, _ := strings.Cut(link, "/console/enrol?token=")

	b := mustStartBrowser(t, ctx, chromium, "ja-JP,ja")
	console := recordConsole(t, b)

	// The owner asks for recovery with a photo of the licence.
	mustDo(t, b, "open /recovery", chromedp.Navigate(base+"/recovery"))
	mustPage(t, b, "/recovery", ja("page.recovery.title"))
	mustDo(t, b, "fill in identifier and password",
		chromedp.SendKeys(chromedp.ID("identifier"), owner),
		chromedp.SendKeys(chromedp.ID("password"), ownerPass),
	)
	mustSubmit(t, b, `form[action="/recovery"] button[type="submit"]`, ja("button.recovery_start"))
	mustPage(t, b, "/recovery", ja("page.recovery_upload.title"))
	mustDo(t, b, "choose the licence and the photo",
		chromedp.SetValue(chromedp.ID("document_type"), "drivers_license"),
		chromedp.SetUploadFiles("#front", []string{photo}),
	)
	mustSubmit(t, b, `button[value="submit_documents"]`, ja("button.recovery_submit"))
	mustPage(t, b, "/recovery", ja("page.recovery_status.title"))
	status := mustRun(t, b, "read the case", chromedp.Text(chromedp.CSS(`[data-recovery-status="open"]`), chromedp.NodeVisible))
	_, after, ok := strings.Cut(status, "R-")
	if !ok {
		t.Fatalf("status page says %q, want a reference", status)
	}
	ref := "R-" + after[:9]
	mustInboxTemplate(t, ctx, base, owner, recovery.TemplateOpened)

	// The reviewer enrols, signs in with a TOTP code and opens the case.
	key := staffEnrolInBrowser(t, b, base, query, revPass, clock)
	staffSignInBrowser(t, b, base, revEmail, revPass, key, clock)
	mustDo(t, b, "open the recovery cases", chromedp.Click(chromedp.CSS(`nav a[href="/console/recovery"]`), chromedp.NodeVisible))
	mustPage(t, b, "/console/recovery", ja("console.recovery.title"))
	mustDo(t, b, "open the case", chromedp.Click(chromedp.CSS(`tr[data-reference="`+ref+`"] a[href="/console/recovery/`+ref+`"]`), chromedp.NodeVisible))
	mustPage(t, b, "/console/recovery/"+ref, ja("console.recovery.case.title"))
	mustDo(t, b, "wait for the image", chromedp.WaitVisible(chromedp.CSS(`img.document`)))
	width := mustRun(t, b, "read the image", chromedp.Evaluate[int](`(async () => { const i = document.querySelector("img.document"); await i.decode(); return i.naturalWidth; })()`,
		func(p *runtime.EvaluateParams) { yes := true; p.AwaitPromise = &yes }))
	if width <= 0 {
		t.Errorf("the document image did not load (naturalWidth %d)", width)
	}
	mustDo(t, b, "write the reason", chromedp.SendKeys(chromedp.ID("reason-approve"), "免許証の写真が登録名と一致"))
	mustSubmit(t, b, `form[action$="/approve"] button[type="submit"]`, ja("console.recovery.approve"))
	mustPage(t, b, "/console/recovery/"+ref, ja("console.recovery.case.title"))
	if got := mustRun(t, b, "read the notice", chromedp.Text(chromedp.CSS("p.notice"), chromedp.NodeVisible)); got != ja("console.recovery.done.approve") {
		t.Errorf("notice %q, want %q", got, ja("console.recovery.done.approve"))
	}
	if got := mustRun(t, b, "read the status", chromedp.Text(chromedp.CSS(`dd[data-status="approved"]`))); got != ja("console.recovery.status.approved") {
		t.Errorf("status %q", got)
	}
	// The approval also sends two_step_changed in the same transaction:
	// wait for the approval's message, whichever the inbox lists first.
	deliveriesOf(t, base).wait(t, ctx, owner, fromTemplate(recovery.TemplateApproved))
	mustSubmit(t, b, `form[action="/console/signout"] button[type="submit"]`, ja("console.signout"))

	// The owner signs in with the password: no second factor, but the
	// realm requires one of sellers, so enrolment comes first.
	mustDo(t, b, "open /signin", chromedp.Navigate(base+"/signin"))
	mustDo(t, b, "fill in the sign-in form",
		chromedp.SendKeys(chromedp.ID("identifier"), owner),
		chromedp.SendKeys(chromedp.ID("password"), ownerPass),
	)
	mustSubmit(t, b, `form[action="/signin"] button[type="submit"]`, ja("button.signin"))
	if loc := mustRun(t, b, "read the location", chromedp.Location()); strings.Contains(loc, "/verify") {
		c := mustInboxTemplate(t, ctx, base, owner, "signin_code")
		mustDo(t, b, "type the code", chromedp.SendKeys(chromedp.ID("code"), c.Code))
		mustSubmit(t, b, `form:has(#code) button[type="submit"]`, ja("button.verify"))
	}
	mustPage(t, b, "/two-step/enrol", ja("page.two_step_enrol.title"))
	if why := mustRun(t, b, "read why", chromedp.Text(chromedp.CSS("main"))); !strings.Contains(why, ja("two_step_enrol.why")) {
		t.Errorf("the enrolment page does not say why: %q", why)
	}
	st, err := app.DB.State(ctx, a.Realm, a.ID)
	if err != nil || st.Enabled {
		t.Errorf("2SV after approval: %+v, %v; want off", st, err)
	}
	for _, m := range console() {
		if m.IsException() || m.Type == chromedp.ConsoleError && !strings.HasSuffix(m.URL, "/favicon.ico") {
			t.Errorf("browser console: %s (%s)", m, m.URL)
		}
	}
}

// mustStartSellerApp is mustStartClockedApp with two-step verification
// required of sellers in the default realm.
func mustStartSellerApp(tb testing.TB, ctx context.Context, c *offsetClock) *cli.App {
	tb.Helper()
	cfg := config.Default()
	cfg.DataDir = tb.TempDir()
	cfg.Addr = "127.0.0.1:0"
	cfg.Realms[0].TwoStep.RequiredFor = []string{string(account.TypeSeller)}
	sent := newDeliveries()
	app, err := cli.NewApp(ctx, cfg, cli.Options{LogOutput: io.Discard, Clock: c, Delivered: sent.record})
	if err != nil {
		tb.Fatalf("NewApp: %v", err)
	}
	if err := app.Start(); err != nil {
		app.Close()
		tb.Fatalf("Start: %v", err)
	}
	tb.Cleanup(func() { app.Close() })
	registerDeliveries(tb, app.URL(), sent)
	return app
}
