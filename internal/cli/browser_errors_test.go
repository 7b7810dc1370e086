package cli_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// TestBrowserErrorSummaryTakesFocus sends the empty sign-up form in
// Chromium, in Japanese and English, with JavaScript and without: the
// answer is one error summary that has the focus (so a screen reader reads
// it first), lists every field with a link to it, and each field is marked
// invalid and described by its own message.
func TestBrowserErrorSummaryTakesFocus(t *testing.T) {
	chromium := mustChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	t.Cleanup(cancel)
	app := mustStartBrowserApp(t, ctx)
	base := app.URL()
	for _, tc := range []struct {
		lang, acceptLanguage, h1 string
		script                   bool
	}{
		{"ja", "ja-JP,ja", "アカウントを作成", true},
		{"en", "en-US,en", "Create your account", true},
		{"ja", "ja-JP,ja", "アカウントを作成", false},
	} {
		name := tc.lang
		if !tc.script {
			name += " without JavaScript"
		}
		t.Run(name, func(t *testing.T) {
			b := mustStartBrowser(t, ctx, chromium, tc.acceptLanguage)
			if !tc.script {
				if _, err := chromedp.Call(b, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
					t.Fatalf("disable JavaScript: %v", err)
				}
			}
			mustDo(t, b, "open /signup", chromedp.Navigate(base+"/signup"))
			res, err := chromedp.RunResponse(b, chromedp.Click(chromedp.CSS(`form[action="/signup"] button[type="submit"]`), chromedp.NodeVisible))
			if err != nil {
				t.Fatalf("submit the empty form: %v", err)
			}
			if res.Status != http.StatusBadRequest {
				t.Fatalf("empty form: %d, want 400", res.Status)
			}
			mustDo(t, b, "wait for the summary", chromedp.WaitVisible(chromedp.ID("form-error")))
			if got := mustRun(t, b, "read the heading", chromedp.Text(chromedp.CSS("main h1"))); got != tc.h1 {
				t.Errorf("heading %q, want %q", got, tc.h1)
			}
			// Without JavaScript the autofocus attribute alone moves the
			// focus, when the browser next renders: wait for a frame that
			// the page's own scripts, disabled or not, cannot hold back.
			mustDo(t, b, "let the page render", chromedp.WaitVisible(chromedp.CSS("#form-error a")))
			focused := mustRun(t, b, "read the focus", chromedp.Evaluate[string](`document.activeElement ? document.activeElement.id : ""`))
			if focused != "form-error" {
				t.Errorf("focus is on %q after the refused submit, want the error summary", focused)
			}
			links := mustRun(t, b, "read the summary", chromedp.Evaluate[[]string](`[...document.querySelectorAll("#form-error a")].map(a => a.getAttribute("href"))`))
			if strings.Join(links, " ") != "#identifier #name #password #password_confirmation" {
				t.Errorf("summary links %v, want one per field in order", links)
			}
			described := mustRun(t, b, "read the fields", chromedp.Evaluate[map[string]string](`Object.fromEntries(
				[...document.querySelectorAll("input[aria-invalid=true]")].map(i => [i.id, (document.getElementById(i.getAttribute("aria-describedby")) || {textContent: ""}).textContent.trim()]))`))
			for _, f := range []string{"identifier", "name", "password", "password_confirmation"} {
				if described[f] == "" {
					t.Errorf("field %s is not described by a message of its own (%v)", f, described)
				}
			}
		})
	}
}
