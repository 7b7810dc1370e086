package cli_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ninsho/ninsho/internal/cli"
	"github.com/ninsho/ninsho/internal/i18n"
)

// TestBrowserHelpRequestAnswered (issue 13): in Japanese, a person who
// cannot sign in sends a help request from /help/request (the code from the
// development inbox); two days later an agent, invited by the command
// line's function, enrols, signs in to the console with a TOTP code (the
// clock moved, never slept), sees the overdue banner, opens the request
// from the queue (what the person wrote shown as text), answers and closes
// it; the answer arrives at the proved contact.
func TestBrowserHelpRequestAnswered(t *testing.T) {
	const (
		customer, custPass = "hanako@example.jp", "kumo-no-ue-42"
		contact            = "hanako.new@example.net"
		agentEmail         = "agent@example.jp"
		agentPass          = "kinmokusei-no-kaori-42"
		wrote              = "ログインの確認コードが届きません。<b>至急</b>"
		answer             = "新しいアドレスにご連絡しました。パスワードの再設定をお試しください。"
	)
	chromium := mustChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	t.Cleanup(cancel)
	clock := &offsetClock{}
	app := mustStartClockedApp(t, ctx, clock)
	base := app.URL()
	sent := deliveriesOf(t, base)
	mustSignUpByAPI(t, ctx, base, customer, "山田花子", custPass)
	text := func(key string) string { return i18n.Message("ja", key, nil) }

	// The person asks for help.
	b := mustStartBrowser(t, ctx, chromium, "ja-JP,ja")
	mustDo(t, b, "open /help/request", chromedp.Navigate(base+"/help/request"))
	mustPage(t, b, "/help/request", text("page.help_request.title"))
	mustDo(t, b, "fill in the help request",
		chromedp.SendKeys(chromedp.ID("contact"), contact),
		chromedp.SetValue(chromedp.ID("step"), "code_not_received"),
		chromedp.SendKeys(chromedp.ID("identifier"), customer),
		chromedp.SendKeys(chromedp.ID("description"), wrote),
	)
	mustSubmit(t, b, `form[action="/help/request"] button[type="submit"]`, text("button.send_code"))
	mustPage(t, b, "/verify", text("page.verify.title"))
	code := sent.wait(t, ctx, contact, hasCode).Code
	mustDo(t, b, "type the code", chromedp.SendKeys(chromedp.ID("code"), code))
	mustSubmit(t, b, `form:has(#code) button[type="submit"]`, text("button.verify"))
	mustPage(t, b, "/help/request/done", text("page.help_done.title"))
	shown := mustRun(t, b, "read the reference", chromedp.Text(chromedp.CSS("[data-help-done]"), chromedp.NodeVisible))
	ref := shown[strings.Index(shown, "H-"):]
	if len(ref) != len("H-XXXX-XXXX") {
		t.Fatalf("the done page says %q, want an H- reference", shown)
	}

	// Two days later, an agent.
	clock.advance(49 * time.Hour)
	link, err := cli.CreateStaff(ctx, app, agentEmail, "担当者", "agent")
	if err != nil {
		t.Fatalf("CreateStaff: %v", err)
	}
	_, query, _ := strings.Cut(link, "/console/enrol?token=")
	s := mustStartBrowser(t, ctx, chromium, "ja-JP,ja")
	key := staffEnrolInBrowser(t, s, base, query, agentPass, clock)
	staffSignInBrowser(t, s, base, agentEmail, agentPass, key, clock)
	banner := mustRun(t, s, "read the banner", chromedp.Text(chromedp.CSS(`a[data-overdue]`), chromedp.NodeVisible))
	if want := i18n.Message("ja", "console.overdue.help", map[string]any{"count": 1}); banner != want {
		t.Errorf("banner %q, want %q", banner, want)
	}
	mustFollow(t, s, `a[data-overdue]`, banner)
	mustPage(t, s, "/console/help", text("console.help.title"))
	mustFollow(t, s, `tr[data-ref="`+ref+`"][data-overdue] a[href^="/console/help/"]`, ref)
	mustPage(t, s, "/console/help/"+ref, text("console.help.request.title"))
	if got := mustRun(t, s, "read what the person wrote", chromedp.Text(chromedp.CSS(".help-description"), chromedp.NodeVisible)); strings.TrimSpace(got) != wrote {
		t.Errorf("the description reads %q, want %q as text", got, wrote)
	}
	if n := mustRun(t, s, "look for injected markup", chromedp.Evaluate[int](`document.querySelectorAll(".help-description b").length`)); n != 0 {
		t.Errorf("the description was rendered as HTML")
	}
	mustDo(t, s, "write the answer",
		chromedp.SendKeys(chromedp.ID("text"), answer),
		chromedp.Click(chromedp.CSS(`input[name="close"]`), chromedp.NodeVisible),
	)
	mustSubmit(t, s, `form[action$="/answer"] button[type="submit"]`, text("console.help.answer.button"))
	mustPage(t, s, "/console/help/"+ref, text("console.help.request.title"))
	if got := mustRun(t, s, "read the notice", chromedp.Text(chromedp.CSS("p.notice"), chromedp.NodeVisible)); got != text("console.help.done.answer") {
		t.Errorf("notice %q", got)
	}
	if st := mustAttr(t, s, "dl.help-request", "data-status"); st != "closed" {
		t.Errorf("status after answer and close: %q", st)
	}
	m := sent.wait(t, ctx, contact, fromTemplate("help_answer"))
	if !strings.Contains(m.Text, answer) || !strings.Contains(m.Text, ref) || m.Locale != "ja" {
		t.Errorf("the answer message (%s) does not carry the answer and the reference:\n%s", m.Locale, m.Text)
	}
	if n := mustRun(t, s, "look for the banner", chromedp.Evaluate[int](`document.querySelectorAll("a[data-overdue]").length`)); n != 0 {
		t.Errorf("the overdue banner stays after the request was closed")
	}
}
