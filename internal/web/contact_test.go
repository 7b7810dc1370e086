package web_test

import (
	"context"
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/contact"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
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
	if body := rec.Body.String(); rec.Code != 200 || !strings.Contains(body, `data-contact-restored="1"`) || !strings.Contains(body, "/verify?flow=") {
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
