package web_test

import (
	"context"
	"html"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/contact"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/identifier"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/store/storetest"
	"github.com/ninsho/ninsho/internal/web"
)

// TestContactUndoPageChangesNothingUntilPosted: the undo link's page (GET,
// long and short form) shows the button and changes nothing — a mail
// scanner may open it any number of times; the button undoes the change
// and says the address is back; afterwards the link answers 404 "can no
// longer be used", as do a mangled and an unknown link. A page of changes
// without a recent session goes to /reauth.
func TestContactUndoPageChangesNothingUntilPosted(t *testing.T) {
	env := flowtest.New(t, storetest.MustOpenSQLite(t))
	svc := &contact.Service{Kit: env.Kit, Realms: env.Realms, Signin: env.Signin, Store: env.DB, Unlock: env.Unlock}
	env.Engine.Handlers[flow.KindContact] = svc
	h := mustWeb(t, web.Deps{Realms: env.Realms, Flows: env.Engine, Signup: env.Signup, Signin: env.Signin,
		Unlock: env.Unlock, Contact: svc, Now: env.Clock.Now})
	ctx := context.Background()
	const old, fresh = "hanako@example.jp", "hanako.new@example.jp"
	dev := env.MustSignUp(t, env.JP, old, pw, old)
	in, err := env.Signin.Start(ctx, env.JP, flowtest.Req("192.0.2.10", dev), signin.Input{Identifier: old, Password: pw})
	if err != nil || in.Session == nil {
		t.Fatal(err)
	}
	p, err := env.Signin.Authenticate(ctx, env.JP, in.Session.Token)
	if err != nil {
		t.Fatal(err)
	}
	req := flowtest.Req("192.0.2.10", dev)
	req.SessionToken = in.Session.Token
	ans, err := svc.Start(ctx, env.JP, req, p, contact.KindEmail, fresh)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCode, Code: env.LastCode(t, fresh)}); err != nil {
		t.Fatal(err)
	}
	var token string
	for _, m := range env.Messages(t, old) {
		if m.Template == "contact_changed" {
			token = regexp.MustCompile(`token=(\S+)`).FindStringSubmatch(m.Text)[1]
		}
	}
	for range 3 {
		for _, target := range []string{"/account/contact-undo?token=" + token, "/c/" + token} {
			rec := get(h, target, "Host", "id.example.jp")
			if body := html.UnescapeString(rec.Body.String()); rec.Code != 200 || !strings.Contains(body, `name="token" value="`+token+`"`) ||
				!strings.Contains(body, "変更を取り消してアカウントを保護") {
				t.Fatalf("GET %s: %d\n%s", target, rec.Code, body)
			}
		}
	}
	mOld, mNew := identifier.Mask(identifier.Normalized(old), "JP"), identifier.Mask(identifier.Normalized(fresh), "JP")
	if body := html.UnescapeString(get(h, "/c/"+token, "Host", "id.example.jp").Body.String()); !strings.Contains(body, "アカウントのメールアドレスが "+mOld+" から "+mNew+" に変更されました。") ||
		!strings.Contains(body, "変更前のメールアドレスに戻し") || strings.Contains(body, old) || strings.Contains(body, fresh) {
		t.Errorf("the page does not name the change, masked:\n%s", body)
	}
	if a, _ := env.DB.Account(ctx, p.Account.ID); a.Email != fresh {
		t.Fatalf("a GET changed the account: %q", a.Email)
	}
	// Changes need a recent session: an old one goes to /reauth.
	cookie := []string{"Host", "id.example.jp", "Cookie", "ninsho_session=" + in.Session.Token}
	if rec := get(h, "/account/email", cookie...); rec.Code != 200 || !strings.Contains(rec.Body.String(), `id="email"`) {
		t.Errorf("recent session: %d, want the form", rec.Code)
	}
	env.Clock.Advance(env.JP.ReauthWindow() + time.Second)
	if rec := get(h, "/account/email", cookie...); rec.Code != 303 || !strings.HasPrefix(rec.Header().Get("Location"), "/reauth?return_to=%2Faccount%2Femail") {
		t.Errorf("old session: %d %q, want 303 to /reauth", rec.Code, rec.Header().Get("Location"))
	}
	rec := post(h, "/account/contact-undo", map[string][]string{"token": {token}}, "Host", "id.example.jp")
	if body := html.UnescapeString(rec.Body.String()); rec.Code != 200 || !strings.Contains(body, `data-contact-restored="1"`) || !strings.Contains(body, "/verify?flow=") ||
		!strings.Contains(body, "変更前のメールアドレス（"+mOld+"）に戻しました。") {
		t.Fatalf("POST: %d\n%s", rec.Code, body)
	}
	if a, _ := env.DB.Account(ctx, p.Account.ID); a.Email != old {
		t.Fatalf("not restored: %q", a.Email)
	}
	for _, target := range []string{"/account/contact-undo?token=" + token, "/c/" + token, "/c/unknown", "/account/contact-undo?token=" + strings.Repeat("x", 300)} {
		if rec := get(h, target, "Host", "id.example.jp"); rec.Code != 404 || !strings.Contains(rec.Body.String(), "このリンクはすでに使われたか、有効期限が切れています。") {
			t.Errorf("GET %s: %d, want 404 with the spent message", target, rec.Code)
		}
	}
}

// TestContactPagesSayWhatApplies: for an account with an e-mail address and
// no phone, /account/phone says only the e-mail address is told (no
// "current number"); a service number gets the text of this form (mobiles
// only, no "landline"); the result page says the number was added and that
// the e-mail address was told; the undo link's page names the addition, the
// masked number and when, and its way out says "if you made this change
// yourself"; after the undo the page says the added number was removed.
func TestContactPagesSayWhatApplies(t *testing.T) {
	env := flowtest.New(t, storetest.MustOpenSQLite(t))
	svc := &contact.Service{Kit: env.Kit, Realms: env.Realms, Signin: env.Signin, Store: env.DB, Unlock: env.Unlock}
	env.Engine.Handlers[flow.KindContact] = svc
	h := mustWeb(t, web.Deps{Realms: env.Realms, Flows: env.Engine, Signup: env.Signup, Signin: env.Signin,
		Unlock: env.Unlock, Contact: svc, Now: env.Clock.Now})
	const email, phone = "hanako@example.jp", "+819087654321"
	b := signedInBrowser(t, h, env, email)
	ja := func(rec *httptest.ResponseRecorder) string { return html.UnescapeString(rec.Body.String()) }

	rec := get(h, "/account/phone", b.header()...)
	if body := ja(rec); rec.Code != 200 || !strings.Contains(body, "ご登録のメールアドレスにもお知らせします。") || strings.Contains(body, "現在の携帯電話番号") {
		t.Fatalf("add phone form: %d\n%s", rec.Code, body)
	}
	rec = post(h, "/account/phone", url.Values{"phone": {"0120-123-456"}}, b.header()...)
	if body := ja(rec); rec.Code != 400 || !strings.Contains(body, "ご自身の携帯電話番号を入力してください。") || strings.Contains(body, "固定電話") {
		t.Errorf("service number: %d\n%s", rec.Code, body)
	}
	rec = post(h, "/account/phone", url.Values{"phone": {"090-8765-4321"}}, b.header()...)
	if rec.Code != 303 {
		t.Fatalf("start: %d\n%s", rec.Code, rec.Body)
	}
	b.take(t, rec.Result())
	id := strings.TrimPrefix(rec.Header().Get("Location"), "/account/contact/code?flow=")
	rec = post(h, "/account/contact/code", url.Values{"flow": {id}, "action": {"submit_code"}, "code": {env.LastCode(t, phone)}}, b.header()...)
	if body := ja(rec); rec.Code != 200 || !strings.Contains(body, `data-contact-done="contact.done_phone_added"`) ||
		!strings.Contains(body, "携帯電話番号 090-8765-4321 を追加しました。") || !strings.Contains(body, "ご登録のメールアドレスにもお知らせしました。") ||
		strings.Contains(body, "変更前") {
		t.Fatalf("done: %d\n%s", rec.Code, body)
	}

	var token string
	for _, m := range env.Messages(t, email) {
		if m.Template == "contact_changed" {
			token = regexp.MustCompile(`token=(\S+)`).FindStringSubmatch(m.Text)[1]
		}
	}
	if token == "" {
		t.Fatal("no alert to the e-mail address")
	}
	masked := identifier.Mask(identifier.Normalized(phone), "JP")
	when := env.Clock.Now().In(time.FixedZone("JST", 9*60*60)).Format("2006年1月2日 15:04")
	rec = get(h, "/c/"+token, "Host", "id.example.jp")
	if body := ja(rec); rec.Code != 200 || !strings.Contains(body, `data-contact-change="phone_added"`) ||
		!strings.Contains(body, when+" に、アカウントに携帯電話番号 "+masked+" が追加されました。") ||
		!strings.Contains(body, "ご自身で変更した場合は、このページを閉じてください。") || strings.Contains(body, "8765-4321") {
		t.Fatalf("undo page: %d\n%s", rec.Code, body)
	}
	rec = get(h, "/c/"+token, "Host", "id.example.jp", "Accept-Language", "en")
	if body := ja(rec); !strings.Contains(body, "The mobile phone number "+masked+" was added to your account on ") ||
		!strings.Contains(body, "If you made this change yourself, you can close this page.") {
		t.Errorf("undo page (en):\n%s", body)
	}
	rec = post(h, "/account/contact-undo", url.Values{"token": {token}}, "Host", "id.example.jp")
	if body := ja(rec); rec.Code != 200 || !strings.Contains(body, "追加された携帯電話番号（"+masked+"）を削除しました。") {
		t.Fatalf("undone: %d\n%s", rec.Code, body)
	}
}

// TestContactUndoPageNamesTheLaterChanges: the undo link of an older
// change rolls back every later one too, and both pages say so, each
// later change in words (masked): before (GET) "this also undoes", after
// (POST) "these were undone too".
func TestContactUndoPageNamesTheLaterChanges(t *testing.T) {
	env := flowtest.New(t, storetest.MustOpenSQLite(t))
	svc := &contact.Service{Kit: env.Kit, Realms: env.Realms, Signin: env.Signin, Store: env.DB, Unlock: env.Unlock}
	env.Engine.Handlers[flow.KindContact] = svc
	h := mustWeb(t, web.Deps{Realms: env.Realms, Flows: env.Engine, Signup: env.Signup, Signin: env.Signin,
		Unlock: env.Unlock, Contact: svc, Now: env.Clock.Now})
	ctx := context.Background()
	const old, fresh, phone, e164 = "hanako@example.jp", "hanako.new@example.jp", "090-1234-5678", "+819012345678"
	dev := env.MustSignUp(t, env.JP, old, pw, old)
	in, err := env.Signin.Start(ctx, env.JP, flowtest.Req("192.0.2.10", dev), signin.Input{Identifier: old, Password: pw})
	if err != nil || in.Session == nil {
		t.Fatal(err)
	}
	p, err := env.Signin.Authenticate(ctx, env.JP, in.Session.Token)
	if err != nil {
		t.Fatal(err)
	}
	req := flowtest.Req("192.0.2.10", dev)
	req.SessionToken = in.Session.Token
	for _, step := range []struct {
		kind contact.Kind
		to   string
	}{{contact.KindEmail, fresh}, {contact.KindPhone, phone}} {
		ans, err := svc.Start(ctx, env.JP, req, p, step.kind, step.to)
		if err != nil {
			t.Fatal(err)
		}
		to := step.to
		if step.kind == contact.KindPhone {
			to = e164
		}
		if _, err := env.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCode, Code: env.LastCode(t, to)}); err != nil {
			t.Fatal(err)
		}
		env.Clock.Advance(time.Minute)
	}
	var token string
	for _, m := range env.Messages(t, old) {
		if m.Template == "contact_changed" && token == "" {
			token = regexp.MustCompile(`token=(\S+)`).FindStringSubmatch(m.Text)[1]
		}
	}
	mPhone := identifier.Mask(identifier.Normalized(e164), "JP")
	added := "アカウントに携帯電話番号 " + mPhone + " が追加されました。"
	body := html.UnescapeString(get(h, "/c/"+token, "Host", "id.example.jp").Body.String())
	if !strings.Contains(body, "そのあとに行われた次の変更もあわせて取り消します。") || !strings.Contains(body, added) {
		t.Fatalf("the undo page does not name the later change:\n%s", body)
	}
	rec := post(h, "/account/contact-undo", map[string][]string{"token": {token}}, "Host", "id.example.jp")
	body = html.UnescapeString(rec.Body.String())
	if rec.Code != 200 || !strings.Contains(body, "そのあとに行われた次の変更もあわせて取り消しました。") || !strings.Contains(body, added) {
		t.Fatalf("POST: %d, the page does not name the later change undone:\n%s", rec.Code, body)
	}
	if a, _ := env.DB.Account(ctx, p.Account.ID); a.Email != old || a.Phone != "" {
		t.Fatalf("after the undo: email %q phone %q; want %q and none", a.Email, a.Phone, old)
	}
}
