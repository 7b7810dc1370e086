package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/account"
)

// TestBrowserStaffLockOffersUnlock: an account a staff member locked as
// suspicious is refused at sign-in with the unlock offered, as a smart lock
// is.
func TestBrowserStaffLockOffersUnlock(t *testing.T) {
	h, env := newRealWeb(t)
	ctx := context.Background()
	env.MustSignUp(t, env.JP, "taro@example.jp", pw, "taro@example.jp")
	a, err := env.DB.AccountByEmail(ctx, "jp", "taro@example.jp")
	if err != nil {
		t.Fatal(err)
	}
	now := env.Clock.Now()
	if err := env.DB.SetLock(ctx, a.ID, account.Lock{Kind: account.LockSuspicious, LockedAt: &now}); err != nil {
		t.Fatal(err)
	}
	a.Status = account.StatusLocked
	if err := env.DB.UpdateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{"ja", "en"} {
		env.Clock.Advance(time.Minute)
		rec := post(h, "/signin", url.Values{"identifier": {"taro@example.jp"}, "password": {pw}}, "Accept-Language", lang)
		body := rec.Body.String()
		if rec.Code != 423 || !strings.Contains(body, `<form method="post" action="/unlock">`) ||
			!strings.Contains(body, `name="identifier" value="taro@example.jp"`) {
			t.Errorf("%s: staff lock: %d, want 423 with the unlock button:\n%s", lang, rec.Code, body)
		}
	}
}

// TestBrowserSuspendedQuotesItsReferenceOnly: a suspended account's
// sign-in page quotes the suspension's S- number and links the help
// request with it and the step chosen, and shows no request reference.
func TestBrowserSuspendedQuotesItsReferenceOnly(t *testing.T) {
	h, env := newRealWeb(t)
	env.Signin.Holds = env.DB
	ctx := context.Background()
	env.MustSignUp(t, env.JP, "taro@example.jp", pw, "taro@example.jp")
	a, err := env.DB.AccountByEmail(ctx, "jp", "taro@example.jp")
	if err != nil {
		t.Fatal(err)
	}
	if err := env.DB.AddSuspension(ctx, &account.Suspension{Reference: "S-7KP4-MX3C", Realm: "jp", AccountID: a.ID,
		Reason: account.ReasonPaymentProblem, By: "staff:x", At: env.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	a.Status = account.StatusSuspended
	if err := env.DB.UpdateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{"ja", "en"} {
		env.Clock.Advance(time.Minute)
		rec := post(h, "/signin", url.Values{"identifier": {"taro@example.jp"}, "password": {pw}}, "Accept-Language", lang)
		body := rec.Body.String()
		if rec.Code != 403 || !strings.Contains(body, `href="/help/request?ref=S-7KP4-MX3C&amp;step=suspended"`) {
			t.Errorf("%s: suspended: %d, want 403 with the help request link:\n%s", lang, rec.Code, body)
		}
		if strings.Contains(body, `class="ref"`) || strings.Contains(body, `href="/help?ref=`) {
			t.Errorf("%s: suspended page also quotes the request's reference:\n%s", lang, body)
		}
	}
}
