package web_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/org"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/secret"
	"github.com/ninsho/ninsho/internal/signup"
	"github.com/ninsho/ninsho/internal/store/storetest"
	"github.com/ninsho/ninsho/internal/web"
	"github.com/ninsho/ninsho/internal/web/webtest"
)

// newOrgsWeb is the pages over real services with organisations, sessions
// and re-authentication, in a realm whose business organisations wait for
// the approver's link.
func newOrgsWeb(tb testing.TB) (*web.Handler, *flowtest.Env, *org.Service) {
	tb.Helper()
	env := flowtest.New(tb, storetest.MustOpenSQLite(tb))
	env.JP.Organisations = realm.Organisations{BusinessApproval: true, Approvers: []string{"approver@example.jp"}}
	hasher, err := secret.NewHasher([]byte("org-pages-test-key-0123456789abcd"))
	if err != nil {
		tb.Fatal(err)
	}
	orgs := &org.Service{Store: env.DB, Accounts: env.DB, Tx: env.DB, Events: env.DB, Outbox: env.Kit.Outbox, Hasher: hasher,
		Clock: env.Clock, Random: env.Kit.Random, CleanName: signup.CleanName, Realms: env.Realms}
	return mustWeb(tb, web.Deps{Realms: env.Realms, Flows: env.Engine, Signup: env.Signup, Signin: env.Signin,
		Unlock: env.Unlock, Reauth: env.Reauth, Sessions: env.Sessions, Orgs: orgs, Now: env.Clock.Now}), env, orgs
}

var (
	orgLinkToken = regexp.MustCompile(`/orgs/(?:invitation|approval)\?token=([A-Za-z0-9_-]+)`)
	orgPageID    = regexp.MustCompile(`^/account/orgs/([0-9a-f-]{36})\?done=created$`)
	orgIDs       = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	orgTokens    = regexp.MustCompile(`(token|ninsho_org_invitation)=[A-Za-z0-9_-]{20,}|value="[A-Za-z0-9_-]{40,}"`)
)

// orgMailToken returns the token of the newest e-mail of template to the
// address.
func orgMailToken(t *testing.T, env *flowtest.Env, to, template string) string {
	t.Helper()
	for _, m := range env.Messages(t, to) {
		if m.Template == template {
			if got := orgLinkToken.FindStringSubmatch(m.Text); got != nil {
				return got[1]
			}
		}
	}
	t.Fatalf("no %s e-mail with a link to %s", template, to)
	return ""
}

// orgGolden masks ids and tokens of an organisation page for its golden.
func orgGolden(rec *httptest.ResponseRecorder) []byte {
	b := orgIDs.ReplaceAll(page(rec), []byte("ID"))
	return orgTokens.ReplaceAll(b, []byte("TOKEN"))
}

// TestBrowserOrganisations walks the pages: /account links /account/orgs;
// a refused creation names its fields; the owner creates a business
// organisation (pending, golden); the approver's link shows it without a
// session (golden) and approves it, after which the link is spent
// (golden); the owner invites an existing person and a new one (golden,
// ja and en); the invitation page offers the signed-out holder to sign in
// or create an account (golden) and the sign-in comes back to it with the
// token kept in a cookie only; another account is told so (golden); the
// new person signs up from the link and comes back; each joins; a role
// change needs a recent sign-in (/reauth and back); removal, transfer;
// the last owner cannot leave (the refusal in the page's language).
func TestBrowserOrganisations(t *testing.T) {
	h, env, _ := newOrgsWeb(t)
	ctx := context.Background()
	const ownerEmail, hanakoEmail, newEmail = "taro@example.jp", "hanako@example.jp", "jiro@example.jp"
	owner := signedInBrowser(t, h, env, ownerEmail)
	env.MustSignUp(t, env.JP, hanakoEmail, pw, hanakoEmail)

	if body := get(h, "/account", owner.header()...).Body.String(); !strings.Contains(body, `href="/account/orgs"`) {
		t.Fatalf("account page does not link the organisations")
	}
	rec := post(h, web.OrgsPath+"?lang=en", url.Values{"name": {""}, "kind": {"shop"}}, owner.header()...)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), `id="name-error"`) || !strings.Contains(rec.Body.String(), `id="kind-error"`) {
		t.Fatalf("refused creation: %d %s", rec.Code, rec.Body)
	}
	rec = post(h, web.OrgsPath, url.Values{"name": {"さくら商事"}, "kind": {"business"}}, owner.header()...)
	m := orgPageID.FindStringSubmatch(rec.Header().Get("Location"))
	if rec.Code != 303 || m == nil {
		t.Fatalf("create: %d %q %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	orgPath := web.OrgsPath + "/" + m[1]
	for _, lang := range []string{"ja", "en"} {
		rec = get(h, orgPath+"?done=created&lang="+lang, owner.header()...)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), `data-org-status="pending_approval"`) {
			t.Fatalf("org page: %d %s", rec.Code, rec.Body)
		}
		webtest.Golden(t, lang+"/org_pending.golden", orgGolden(rec))
		rec = get(h, web.OrgsPath+"?lang="+lang, owner.header()...)
		webtest.Golden(t, lang+"/orgs.golden", orgGolden(rec))
	}
	if rec = post(h, orgPath, url.Values{"action": {"invite"}, "email": {hanakoEmail}, "role": {"member"}}, owner.header()...); rec.Code != 409 ||
		!strings.Contains(rec.Body.String(), "承認待ち") {
		t.Fatalf("invite while pending: %d %s", rec.Code, rec.Body)
	}

	// The approver's link, without a session.
	approval := orgMailToken(t, env, "approver@example.jp", message.TemplateOrgApproval)
	for _, lang := range []string{"ja", "en"} {
		rec = get(h, web.OrgApprovalPath+"?token="+approval+"&lang="+lang)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), "さくら商事") || !strings.Contains(rec.Body.String(), ownerEmail) {
			t.Fatalf("approval page: %d %s", rec.Code, rec.Body)
		}
		webtest.Golden(t, lang+"/org_approval.golden", orgGolden(rec))
	}
	// An unknown decision: the page again, with Approve and Reject.
	if rec = post(h, web.OrgApprovalPath, url.Values{"token": {approval}, "action": {"maybe"}}); rec.Code != 400 ||
		!strings.Contains(rec.Body.String(), `value="approve"`) || !strings.Contains(rec.Body.String(), "このページのボタンから選んでください") {
		t.Errorf("unknown decision: %d %s", rec.Code, rec.Body)
	}
	rec = post(h, web.OrgApprovalPath+"?lang=en", url.Values{"token": {approval}, "action": {"approve"}})
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `data-decided="approved"`) {
		t.Fatalf("approve: %d %s", rec.Code, rec.Body)
	}
	rec = get(h, web.OrgApprovalPath+"?token="+approval+"&lang=en")
	if rec.Code != 404 || !strings.Contains(rec.Body.String(), "This approval link no longer works") {
		t.Fatalf("spent approval link: %d %s", rec.Code, rec.Body)
	}
	webtest.Golden(t, "en/org_approval_spent.golden", orgGolden(rec))

	// Invitations: an existing person and a new one.
	for _, to := range []string{hanakoEmail, newEmail} {
		rec = post(h, orgPath, url.Values{"action": {"invite"}, "email": {to}, "role": {"member"}}, owner.header()...)
		mustRedirect(t, rec.Code, rec.Header().Get("Location"), orgPath+"?done=invited")
	}
	rec = post(h, orgPath+"?lang=en", url.Values{"action": {"invite"}, "email": {"not-an-address"}, "role": {"owner"}}, owner.header()...)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), `id="email-error"`) || !strings.Contains(rec.Body.String(), `id="role-error"`) {
		t.Fatalf("refused invitation: %d %s", rec.Code, rec.Body)
	}
	for _, lang := range []string{"ja", "en"} {
		rec = get(h, orgPath+"?done=invited&lang="+lang, owner.header()...)
		webtest.Golden(t, lang+"/org_owner.golden", orgGolden(rec))
	}

	// The existing person opens the link signed out: sign in and come back.
	hanakoToken := orgMailToken(t, env, hanakoEmail, message.TemplateOrgInvitation)
	hanako := jar{"ninsho_cookies": "1"}
	for _, lang := range []string{"ja", "en"} {
		rec = get(h, web.OrgInvitationPath+"?token="+hanakoToken+"&lang="+lang, hanako.header()...)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), `href="/signin?return_to=%2Forgs%2Finvitation"`) ||
			!strings.Contains(rec.Body.String(), `href="/signup?return_to=%2Forgs%2Finvitation"`) {
			t.Fatalf("invitation page signed out: %d %s", rec.Code, rec.Body)
		}
		webtest.Golden(t, lang+"/org_invitation.golden", orgGolden(rec))
	}
	hanako.take(t, rec.Result())
	if hanako["ninsho_org_invitation"] != hanakoToken {
		t.Fatalf("the token is not kept for the way back: %v", hanako)
	}
	rec = get(h, "/signin?return_to=%2Forgs%2Finvitation", hanako.header()...)
	if !strings.Contains(rec.Body.String(), `name="return_to" value="/orgs/invitation"`) {
		t.Fatalf("sign-in page does not carry the way back: %s", rec.Body)
	}
	rec = post(h, "/signin", url.Values{"identifier": {hanakoEmail}, "password": {pw}, "return_to": {"/orgs/invitation"},
		"rendered_at": {shownAgo(env, 5*time.Second)}}, hanako.header()...)
	if rec.Code == 200 && strings.Contains(rec.Body.String(), `name="code"`) {
		t.Fatalf("sign-in asks for a code: %s", rec.Body)
	}
	if rec.Code != 303 {
		t.Fatalf("sign-in: %d %s", rec.Code, rec.Body)
	}
	loc := rec.Header().Get("Location")
	hanako.take(t, rec.Result())
	if strings.HasPrefix(loc, "/verify") {
		rec = post(h, loc, url.Values{"action": {"submit_code"}, "code": {env.LastCode(t, hanakoEmail)}}, hanako.header()...)
		loc = rec.Header().Get("Location")
		hanako.take(t, rec.Result())
	}
	if loc != web.OrgInvitationPath {
		t.Fatalf("after sign-in: %q, want %s", loc, web.OrgInvitationPath)
	}
	rec = get(h, loc, hanako.header()...)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `action="/orgs/invitation"`) {
		t.Fatalf("invitation page signed in: %d %s", rec.Code, rec.Body)
	}
	rec = post(h, web.OrgInvitationPath, url.Values{"token": {hanakoToken}}, hanako.header()...)
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), orgPath+"?done=joined")
	hanako.take(t, rec.Result())
	if _, ok := hanako["ninsho_org_invitation"]; ok {
		t.Errorf("the invitation cookie outlived the acceptance")
	}
	if rec = get(h, web.OrgInvitationPath+"?token="+hanakoToken+"&lang=en", hanako.header()...); rec.Code != 404 ||
		!strings.Contains(rec.Body.String(), "This invitation link no longer works") {
		t.Fatalf("used invitation: %d %s", rec.Code, rec.Body)
	}
	webtest.Golden(t, "en/org_invitation_spent.golden", orgGolden(rec))

	// Another account opens the new person's link: told, with the way to
	// sign in with the right one.
	newToken := orgMailToken(t, env, newEmail, message.TemplateOrgInvitation)
	for _, lang := range []string{"ja", "en"} {
		rec = get(h, web.OrgInvitationPath+"?token="+newToken+"&lang="+lang, owner.header()...)
		if rec.Code != 403 || strings.Contains(rec.Body.String(), `action="/orgs/invitation"`) {
			t.Fatalf("other account: %d %s", rec.Code, rec.Body)
		}
		webtest.Golden(t, lang+"/org_invitation_other.golden", orgGolden(rec))
	}
	if rec = post(h, web.OrgInvitationPath, url.Values{"token": {newToken}}, owner.header()...); rec.Code != 403 {
		t.Fatalf("other account joins: %d", rec.Code)
	}
	switched := jar{"ninsho_session": owner["ninsho_session"], "ninsho_cookies": "1"}
	rec = post(h, "/signout", url.Values{"return_to": {"/orgs/invitation"}}, switched.header()...)
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/signin?return_to=%2Forgs%2Finvitation")
	owner = signedInBrowser2(t, h, env, owner, ownerEmail)

	// The new person signs up from the link and comes back.
	jiro := jar{"ninsho_cookies": "1"}
	rec = get(h, web.OrgInvitationPath+"?token="+newToken, jiro.header()...)
	jiro.take(t, rec.Result())
	rec = post(h, "/signup", url.Values{"identifier": {newEmail}, "name": {"鈴木 次郎"}, "password": {pw}, "password_confirmation": {pw},
		"return_to": {"/orgs/invitation"}}, jiro.header()...)
	if rec.Code != 303 || !strings.HasPrefix(rec.Header().Get("Location"), "/verify?flow=") {
		t.Fatalf("signup: %d %s", rec.Code, rec.Body)
	}
	jiro.take(t, rec.Result())
	rec = post(h, rec.Header().Get("Location"), url.Values{"action": {"submit_code"}, "code": {env.LastCode(t, newEmail)}}, jiro.header()...)
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), web.OrgInvitationPath)
	jiro.take(t, rec.Result())
	rec = post(h, web.OrgInvitationPath, url.Values{}, jiro.header()...) // the token from the cookie
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), orgPath+"?done=joined")

	hanakoID, jiroID := accountID(t, env, hanakoEmail), accountID(t, env, newEmail)
	// A role change needs a recent sign-in: /reauth and back to the page.
	env.Clock.Advance(env.JP.ReauthWindow() + time.Second)
	rec = post(h, orgPath, url.Values{"action": {"role"}, "account_id": {hanakoID}, "role": {"admin"}}, owner.header()...)
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/reauth?return_to="+url.QueryEscape(orgPath))
	reauthBrowser(t, env, owner["ninsho_session"], owner["ninsho_device"])
	rec = post(h, orgPath, url.Values{"action": {"role"}, "account_id": {hanakoID}, "role": {"admin"}}, owner.header()...)
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), orgPath+"?done=role")
	// Remove, transfer and leave ask for the confirmation ticked.
	rec = post(h, orgPath, url.Values{"action": {"remove"}, "account_id": {jiroID}}, owner.header()...)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "確認のチェックボックスにチェックを入れて") || !strings.Contains(rec.Body.String(), `name="action" value="remove"`) {
		t.Errorf("remove without the confirmation: %d %s", rec.Code, rec.Body)
	}
	rec = post(h, orgPath, url.Values{"action": {"remove"}, "account_id": {jiroID}, "confirm": {"1"}}, owner.header()...)
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), orgPath+"?done=removed")
	// Removing them again: the page again, saying they are no longer a
	// member (not the 404 page).
	rec = post(h, orgPath, url.Values{"action": {"remove"}, "account_id": {jiroID}, "confirm": {"1"}}, owner.header()...)
	if rec.Code != 404 || !strings.Contains(rec.Body.String(), "この方はすでに組織のメンバーではありません") || !strings.Contains(rec.Body.String(), `name="action" value="leave"`) {
		t.Errorf("remove twice: %d %s", rec.Code, rec.Body)
	}
	// To oneself: a message that says so.
	rec = post(h, orgPath, url.Values{"action": {"transfer"}, "account_id": {accountID(t, env, ownerEmail)}, "confirm": {"1"}}, owner.header()...)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "あなたはすでにこの組織のオーナーです") {
		t.Errorf("transfer to oneself: %d %s", rec.Code, rec.Body)
	}
	// An unknown action: the page again.
	rec = post(h, orgPath, url.Values{"action": {"explode"}}, owner.header()...)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "このページのボタンから選んでください") || !strings.Contains(rec.Body.String(), `name="action" value="leave"`) {
		t.Errorf("unknown action: %d %s", rec.Code, rec.Body)
	}
	rec = post(h, orgPath, url.Values{"action": {"transfer"}, "account_id": {hanakoID}, "confirm": {"1"}}, owner.header()...)
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), orgPath+"?done=transferred")
	if body := get(h, orgPath+"?done=transferred&lang=en", owner.header()...).Body.String(); !strings.Contains(body, "You are now an admin") {
		t.Errorf("after the transfer: %s", body)
	}

	// Hanako is the last owner now: leaving is refused, in the language
	// her browser chose (English, on the invitation page).
	// An admin now, the former owner may not set the policy: refused at
	// once even from an old session (no re-authentication first), and the
	// message names the organisation's owners.
	env.Clock.Advance(env.JP.ReauthWindow() + time.Second)
	rec = post(h, orgPath, url.Values{"action": {"policy"}, "require_two_step": {"1"}}, owner.header()...)
	if rec.Code != 403 || !strings.Contains(rec.Body.String(), "組織のオーナー（または管理者）に依頼してください") {
		t.Errorf("policy by an admin with an old session: %d %s %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	rec = post(h, orgPath, url.Values{"action": {"leave"}, "confirm": {"1"}}, hanako.header()...)
	if rec.Code != 409 || !strings.Contains(rec.Body.String(), "An organization always needs an owner") {
		t.Fatalf("last owner leaves: %d %s", rec.Code, rec.Body)
	}
	rec = post(h, orgPath, url.Values{"action": {"leave"}, "confirm": {"1"}}, owner.header()...)
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), web.OrgsPath+"?done=left")
	if rec = get(h, orgPath, owner.header()...); rec.Code != 404 {
		t.Errorf("a former member sees the organisation: %d", rec.Code)
	}

	// Every change is an event; none carries a token.
	var all []*event.Event
	for _, id := range []string{accountID(t, env, ownerEmail), hanakoID, jiroID} {
		evs, err := env.DB.AccountEvents(ctx, id, time.Time{}, 100)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, evs...)
	}
	for _, typ := range []string{event.TypeOrgCreated, event.TypeOrgApproved, event.TypeOrgInvited, event.TypeOrgJoined,
		event.TypeOrgRoleChanged, event.TypeOrgMemberRemoved, event.TypeOrgOwnershipTransferred, event.TypeOrgLeft} {
		if !hasEvent(all, typ) {
			t.Errorf("no %s event", typ)
		}
	}
	for _, e := range all {
		for _, tok := range []string{hanakoToken, newToken, approval} {
			if strings.Contains(fmt.Sprint(e.Data), tok) {
				t.Errorf("event %s carries a token", e.Type)
			}
		}
	}
}

func accountID(t *testing.T, env *flowtest.Env, email string) string {
	t.Helper()
	a, err := env.DB.AccountByEmail(context.Background(), "jp", email)
	if err != nil {
		t.Fatal(err)
	}
	return a.ID
}

func hasEvent(evs []*event.Event, typ string) bool {
	for _, e := range evs {
		if e.Type == typ {
			return true
		}
	}
	return false
}

// TestInvitationReturnTo: the start pages take the invitation page as
// return_to exactly — no query (the token stays in its cookie), no other
// path under it, nothing that merely begins like it — in the query and as
// a form field, and sign-out goes on to the sign-in page with it.
func TestInvitationReturnTo(t *testing.T) {
	h, _ := newRealWeb(t)
	for raw, want := range map[string]string{
		"/orgs/invitation":                     "/orgs/invitation",
		"/orgs/invitation?token=abc":           "",
		"/orgs/invitation/x":                   "",
		"/orgs/invitations":                    "",
		"//orgs/invitation":                    "",
		"/orgs/approval":                       "",
		"/account/orgs":                        "",
		"https://evil.example/orgs/invitation": "",
	} {
		for _, path := range []string{"/signin", "/signup"} {
			if got := carried(get(h, path+"?return_to="+url.QueryEscape(raw)).Body.String()); got != want {
				t.Errorf("%s?return_to=%s carries %q, want %q", path, raw, got, want)
			}
		}
		rec := post(h, "/signout", url.Values{"return_to": {raw}})
		wantLoc := "/signin"
		if want != "" {
			wantLoc += "?return_to=" + url.QueryEscape(want)
		}
		if loc := rec.Header().Get("Location"); rec.Code != 303 || loc != wantLoc {
			t.Errorf("signout with return_to %s: %d %q, want %q", raw, rec.Code, loc, wantLoc)
		}
	}
}
