package cli_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ninsho/ninsho/internal/config"
	"github.com/ninsho/ninsho/internal/message"
)

// TestBrowserOrganisations (issue 15) walks the organisation pages in
// Chromium, in Japanese: the owner creates a business organisation, which
// waits for approval; the approver opens the e-mail's link without an
// account and approves it; the owner invites an existing person and a new
// one; each opens their invitation signed out and comes back to it — the
// existing person through the sign-in page, the new one through the
// sign-up page and its code — and joins; the owner changes a role, removes
// a member and transfers the ownership; the new owner, the last one,
// cannot leave.
func TestBrowserOrganisations(t *testing.T) {
	const (
		pw                             = "kumo-no-ue-42"
		ownerEmail, hanakoEmail, jiroE = "ichiro@example.jp", "hanako@example.jp", "jiro@example.jp"
	)
	chromium := mustChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*browserTimeout)
	t.Cleanup(cancel)
	app := startAppWith(t, func(c *cliConfig) {
		c.Realms[0].Organisations = config.RealmOrganisations{BusinessApproval: true, Approvers: []string{"approver@example.jp"}}
	})
	base := app.URL()
	mustSignUpByAPI(t, ctx, base, ownerEmail, "鈴木一郎", pw)
	mustSignUpByAPI(t, ctx, base, hanakoEmail, "山田花子", pw)
	b := mustStartBrowser(t, ctx, chromium, "ja-JP,ja")
	console := recordConsole(t, b)

	// signIn signs in on the sign-in page the tab shows, with the image
	// check that several accounts on one browser are asked for and the
	// code this new device is asked for, and waits for the page it leads
	// to.
	signIn := func(email string) {
		t.Helper()
		mustPage(t, b, "/signin", "ログイン")
		mustSignIn(t, b, email, pw)
		for range 4 {
			switch tabPath(t, b) {
			case "/signin":
				src := mustRun(t, b, "find the image check", chromedp.Evaluate[string](`(document.querySelector(".captcha img") || {}).src || ""`))
				if src == "" { // the image check passed: the password again
					mustDo(t, b, "type the password", chromedp.SendKeys(chromedp.ID("password"), pw))
					if _, err := chromedp.RunResponse(b, chromedp.Click(chromedp.CSS(`form[action="/signin"] button[type="submit"]`), chromedp.NodeVisible)); err != nil {
						t.Fatalf("submit the password: %v", err)
					}
					continue
				}
				id := src[strings.LastIndex(src, "/")+1 : len(src)-len(".png")]
				mustDo(t, b, "type the answer", chromedp.SendKeys(chromedp.ID("answer"), mustDevCaptchaAnswer(t, ctx, base, id)))
				if _, err := chromedp.RunResponse(b, chromedp.Click(chromedp.CSS(`form:has(#answer) button[type="submit"]`), chromedp.NodeVisible)); err != nil {
					t.Fatalf("submit the image check: %v", err)
				}
			case "/verify":
				msg := mustInboxMessage(t, ctx, base, email)
				mustDo(t, b, "type the code", chromedp.SendKeys(chromedp.ID("code"), msg.Code))
				mustSubmit(t, b, `form:has(#code) button[type="submit"]`, "確認")
			default:
				return
			}
		}
	}
	signOut := func() {
		t.Helper()
		mustDo(t, b, "open /account", chromedp.Navigate(base+"/account"))
		mustSubmit(t, b, `form[action="/signout"] button[type="submit"]`, "ログアウト")
	}
	notice := func() string {
		return strings.TrimSpace(mustRun(t, b, "read the notice", chromedp.Text(chromedp.CSS("p.notice"), chromedp.NodeVisible)))
	}
	// memberAction submits the form of action on the member's row.
	memberAction := func(name, action, label string) {
		t.Helper()
		if action == "remove" || action == "transfer" {
			// These ask to tick the confirmation first (required).
			mustDo(t, b, "confirm "+action, chromedp.Click(chromedp.CSS(`li[data-member="`+name+`"] form:has(input[name="action"][value="`+action+`"]) input[name="confirm"]`), chromedp.NodeVisible))
		}
		mustSubmit(t, b, `li[data-member="`+name+`"] form:has(input[name="action"][value="`+action+`"]) button`, label)
	}

	// The owner creates a business organisation: it waits for approval.
	mustDo(t, b, "open /signin", chromedp.Navigate(base+"/signin"))
	signIn(ownerEmail)
	mustPage(t, b, "/account", "ログインとセキュリティ")
	mustFollow(t, b, `a[href="/account/orgs"]`, "所属する組織")
	mustPage(t, b, "/account/orgs", "所属する組織")
	mustDo(t, b, "fill in the organisation",
		chromedp.SendKeys(chromedp.ID("name"), "さくら商事"),
		chromedp.Click(chromedp.ID("kind-business")))
	mustSubmit(t, b, `form[action="/account/orgs"] button[type="submit"]`, "作成する")
	u := mustPage(t, b, tabPath(t, b), "組織")
	orgPath := u.Path
	if got := mustAttr(t, b, "dd[data-org-status]", "data-org-status"); got != "pending_approval" {
		t.Fatalf("new business organisation: status %q, want pending_approval", got)
	}

	// The approver's link, with no account: approve.
	approval := orgMailToken(t, base, "approver@example.jp", message.TemplateOrgApproval)
	signOut()
	mustDo(t, b, "open the approval link", chromedp.Navigate(base+"/orgs/approval?token="+approval))
	mustPage(t, b, "/orgs/approval", "組織の承認")
	if got := mustRun(t, b, "read the organisation", chromedp.Text(chromedp.CSS("dl.org"), chromedp.NodeVisible)); !strings.Contains(got, "さくら商事") || !strings.Contains(got, "鈴木一郎") {
		t.Errorf("approval page shows %q, want the name and who asked", got)
	}
	mustSubmit(t, b, `button[value="approve"]`, "承認する")
	if got := mustAttr(t, b, "p[data-decided]", "data-decided"); got != "approved" {
		t.Fatalf("after approving: %q", got)
	}

	// The owner invites an existing person and a new one.
	mustDo(t, b, "open /signin", chromedp.Navigate(base+"/signin"))
	signIn(ownerEmail)
	mustDo(t, b, "open the organisation", chromedp.Navigate(base+orgPath))
	mustPage(t, b, orgPath, "組織")
	for _, to := range []string{hanakoEmail, jiroE} {
		mustDo(t, b, "type the address", chromedp.SendKeys(chromedp.ID("email"), to))
		mustSubmit(t, b, `form:has(#email) button[type="submit"]`, "招待を送る")
		if got := notice(); got != "招待をメールで送りました。" {
			t.Errorf("after inviting %s: notice %q", to, got)
		}
	}
	signOut()

	// The existing person: the link, the sign-in page, back, join.
	tok := orgMailToken(t, base, hanakoEmail, message.TemplateOrgInvitation)
	mustDo(t, b, "open the invitation", chromedp.Navigate(base+"/orgs/invitation?token="+tok))
	mustPage(t, b, "/orgs/invitation", "組織への招待")
	mustFollow(t, b, `a[href="/signin?return_to=%2Forgs%2Finvitation"]`, "ログイン")
	signIn(hanakoEmail)
	mustPage(t, b, "/orgs/invitation", "組織への招待")
	mustSubmit(t, b, `form[action="/orgs/invitation"] button[type="submit"]`, "参加する")
	mustPage(t, b, orgPath, "組織")
	if got := notice(); got != "組織に参加しました。" {
		t.Errorf("after joining: notice %q", got)
	}
	signOut()

	// The new person: the link, the sign-up page and its code, back, join.
	tok = orgMailToken(t, base, jiroE, message.TemplateOrgInvitation)
	mustDo(t, b, "open the invitation", chromedp.Navigate(base+"/orgs/invitation?token="+tok))
	mustPage(t, b, "/orgs/invitation", "組織への招待")
	mustFollow(t, b, `a[href="/signup?return_to=%2Forgs%2Finvitation"]`, "アカウントを作成")
	mustPage(t, b, "/signup", "アカウントを作成")
	mustDo(t, b, "fill in the sign-up form",
		chromedp.SendKeys(chromedp.ID("identifier"), jiroE),
		chromedp.SendKeys(chromedp.ID("name"), "佐藤次郎"),
		chromedp.SendKeys(chromedp.ID("password"), pw),
		chromedp.SendKeys(chromedp.ID("password_confirmation"), pw))
	mustSubmit(t, b, `form[action="/signup"] button[type="submit"]`, "アカウントを作成")
	mustPage(t, b, "/verify", "確認コードを入力")
	msg := mustInboxMessage(t, ctx, base, jiroE)
	mustDo(t, b, "type the code", chromedp.SendKeys(chromedp.ID("code"), msg.Code))
	mustSubmit(t, b, `form:has(#code) button[type="submit"]`, "確認")
	mustPage(t, b, "/orgs/invitation", "組織への招待")
	mustSubmit(t, b, `form[action="/orgs/invitation"] button[type="submit"]`, "参加する")
	mustPage(t, b, orgPath, "組織")
	signOut()

	// The owner: a role change, a removal, the transfer.
	mustDo(t, b, "open /signin", chromedp.Navigate(base+"/signin"))
	signIn(ownerEmail)
	mustDo(t, b, "open the organisation", chromedp.Navigate(base+orgPath))
	mustPage(t, b, orgPath, "組織")
	mustDo(t, b, "choose admin", chromedp.SetValue(chromedp.CSS(`li[data-member="山田花子"] select[name="role"]`), "admin"))
	memberAction("山田花子", "role", "役割を変更")
	if got := notice(); got != "役割を変更しました。" {
		t.Errorf("after the role change: notice %q", got)
	}
	memberAction("佐藤次郎", "remove", "組織から削除")
	if got := notice(); got != "メンバーを削除しました。" {
		t.Errorf("after the removal: notice %q", got)
	}
	if n := mustRun(t, b, "count the members", chromedp.Evaluate[int](`document.querySelectorAll("li[data-member]").length`)); n != 2 {
		t.Errorf("members after the removal: %d, want 2", n)
	}
	memberAction("山田花子", "transfer", "オーナー権限を譲る")
	if got := notice(); !strings.HasPrefix(got, "オーナー権限を譲りました") {
		t.Errorf("after the transfer: notice %q", got)
	}
	signOut()

	// The new owner is the last one: leaving is refused.
	mustDo(t, b, "open /signin", chromedp.Navigate(base+"/signin"))
	signIn(hanakoEmail)
	mustDo(t, b, "open the organisation", chromedp.Navigate(base+orgPath))
	mustPage(t, b, orgPath, "組織")
	mustDo(t, b, "confirm leaving", chromedp.Click(chromedp.ID("confirm-leave"), chromedp.NodeVisible))
	res, err := chromedp.RunResponse(b, chromedp.Click(chromedp.CSS(`form:has(input[name="action"][value="leave"]) button`), chromedp.NodeVisible))
	if err != nil {
		t.Fatal(err)
	}
	if alert := pageAlert(b); res.Status != http.StatusConflict || !strings.Contains(alert, "組織にはオーナーが必ず1人必要です") {
		t.Errorf("the last owner leaves: %d, the page says %q", res.Status, alert)
	}

	// No page logs an error or throws. The browser reports the status of
	// the pages it was answered with an error: the refused leave's 409 and
	// the sign-in's 400 that asks for the image check.
	for _, m := range console() {
		expected := strings.HasSuffix(m.URL, orgPath) || strings.HasSuffix(m.URL, "/signin") || strings.HasSuffix(m.URL, "/favicon.ico")
		if m.IsException() || m.Type == chromedp.ConsoleError && !expected {
			t.Errorf("browser console: %s (%s)", m, m.URL)
		}
	}
}

// tabPath returns the path of the page the tab shows.
func tabPath(t *testing.T, b context.Context) string {
	t.Helper()
	u, err := url.Parse(mustRun(t, b, "read the location", chromedp.Location()))
	if err != nil {
		t.Fatal(err)
	}
	return u.Path
}
