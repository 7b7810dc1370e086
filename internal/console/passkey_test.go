package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/console"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/passkey"
	"github.com/ninsho/ninsho/internal/passkey/passkeytest"
	"github.com/ninsho/ninsho/internal/staff"
	"github.com/ninsho/ninsho/internal/store/storetest"
	"github.com/ninsho/ninsho/internal/totp"
)

const consoleOrigin = "https://id.example.jp"

// withPasskeys gives the env's staff service the relying party and the
// passkey store, and a console that serves passkeys.
func withPasskeys(t *testing.T, e *env) {
	t.Helper()
	e.Staff.RelyingParty = passkey.RelyingParty{}
	e.Staff.PasskeyStore = e.DB
	c, err := console.New(console.Deps{Staff: e.Staff, Desk: e.Desk, Realms: e.Realms})
	if err != nil {
		t.Fatal(err)
	}
	e.Console = c
}

// options reads the public_key of a begin call's JSON answer.
func options(t *testing.T, w *http.Response, body string) json.RawMessage {
	t.Helper()
	var v struct {
		PublicKey json.RawMessage `json:"public_key"`
	}
	if w.StatusCode != 200 || w.Header.Get("Content-Type") != "application/json" || json.Unmarshal([]byte(body), &v) != nil || len(v.PublicKey) == 0 {
		t.Fatalf("begin: %d %s\n%s", w.StatusCode, w.Header.Get("Content-Type"), body)
	}
	return v.PublicKey
}

// addPasskey adds a passkey of auth for the signed-in browser b.
func addPasskey(t *testing.T, b *browser, auth *passkeytest.Authenticator, label string) *passkeytest.Passkey {
	t.Helper()
	w := b.do("POST", "/console/security/passkeys/begin", url.Values{})
	opts := options(t, w.Result(), w.Body.String())
	var o struct {
		RP struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"rp"`
	}
	if err := json.Unmarshal(opts, &o); err != nil || o.RP.ID != "id.example.jp" || o.RP.Name != "Ninsho console" {
		t.Errorf("creation options rp = %+v (%v), want id.example.jp, Ninsho console", o.RP, err)
	}
	resp, pk, err := auth.Create(opts)
	if err != nil {
		t.Fatal(err)
	}
	w = b.do("POST", "/console/security/passkeys", url.Values{"credential": {string(resp)}, "label": {label}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/console/security?done=added" {
		t.Fatalf("add passkey: %d %s\n%s", w.Code, w.Header().Get("Location"), w.Body.String())
	}
	return pk
}

// passwordStep signs in with the password only and returns the browser
// waiting for the second factor.
func passwordStep(t *testing.T, e *env, email string) *browser {
	t.Helper()
	b := newBrowser(t, e.Console)
	w := b.do("POST", "/console/signin", url.Values{"email": {email}, "password": {staffPassword}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/console/signin/code" {
		t.Fatalf("password step: %d %s", w.Code, w.Header().Get("Location"))
	}
	return b
}

// answerWith begins the passkey step and posts auth's answer (with use
// when not nil).
func answerWith(t *testing.T, b *browser, auth *passkeytest.Authenticator, use *passkeytest.Passkey) *http.Response {
	t.Helper()
	w := b.do("POST", "/console/signin/passkey/begin", url.Values{})
	opts := options(t, w.Result(), w.Body.String())
	resp, err := auth.Get(opts, use)
	if err != nil {
		t.Fatal(err)
	}
	rec := b.do("POST", "/console/signin/passkey", url.Values{"credential": {string(resp)}})
	res := rec.Result()
	res.Header.Set("X-Body", strings.ReplaceAll(rec.Body.String(), "\n", " "))
	return res
}

// TestStaffPasskey: a signed-in staff member adds a passkey on
// /console/security and signs in with it in place of the code; the
// options allow that staff member's passkeys only; another staff
// member's and a customer's passkeys are refused, as is a signature
// counter going backwards, and these count like wrong codes; removing a
// passkey needs the authenticator code; every change is an event.
func TestStaffPasskey(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, fe *flowtest.Env) {
		e := newEnv(t, fe)
		withPasskeys(t, e)
		ctx := context.Background()
		admin, key := mustStaff(t, e, "admin@example.jp", staff.RoleAdmin)
		agent, agentKey := mustStaff(t, e, "agent@example.jp", staff.RoleAgent)

		b := signIn(t, e, admin.Email, key)
		if w := b.do("GET", "/console", nil); !strings.Contains(w.Body.String(), `href="/console/security"`) {
			t.Errorf("home has no link to the security page")
		}
		w := b.do("GET", "/console/security", nil)
		if w.Code != 200 || !strings.Contains(w.Body.String(), "You have no passkeys yet") || !strings.Contains(w.Body.String(), `data-passkey="console-add"`) {
			t.Fatalf("security page: %d\n%s", w.Code, w.Body.String())
		}
		// Without a passkey the code page offers none.
		if w := passwordStep(t, e, admin.Email).do("GET", "/console/signin/code", nil); strings.Contains(w.Body.String(), "console-signin") {
			t.Errorf("code page offers a passkey to a staff member without one")
		}
		auth := &passkeytest.Authenticator{Origin: consoleOrigin}
		pk := addPasskey(t, b, auth, "YubiKey 5")
		w = b.do("GET", "/console/security?done=added", nil)
		if !strings.Contains(w.Body.String(), "YubiKey 5") || !strings.Contains(w.Body.String(), "Not used yet") ||
			!strings.Contains(w.Body.String(), "The passkey was added") {
			t.Errorf("security page after adding:\n%s", w.Body.String())
		}
		wantStaffEvent(t, e, admin.ID, staff.TypePasskeyAdded)
		// The ceremony is used once.
		w = b.do("POST", "/console/security/passkeys", url.Values{"credential": {`{"id":"x"}`}})
		if w.Code != 400 || !strings.Contains(w.Body.String(), "couldn") {
			t.Errorf("finish without a ceremony: %d, want 400 passkey_failed", w.Code)
		}

		// Sign in with the passkey in place of the code.
		pb := passwordStep(t, e, admin.Email)
		if w := pb.do("GET", "/console/signin/code", nil); !strings.Contains(w.Body.String(), `data-passkey="console-signin"`) ||
			!strings.Contains(w.Body.String(), `src="/static/passkey.js"`) {
			t.Errorf("code page does not offer the passkey:\n%s", w.Body.String())
		}
		w = pb.do("POST", "/console/signin/passkey/begin", url.Values{})
		opts := options(t, w.Result(), w.Body.String())
		var ro struct {
			RPID  string `json:"rpId"`
			Allow []struct {
				ID string `json:"id"`
			} `json:"allowCredentials"`
		}
		if err := json.Unmarshal(opts, &ro); err != nil || ro.RPID != "id.example.jp" || len(ro.Allow) != 1 {
			t.Errorf("request options: %s (%v), want rpId id.example.jp and the one passkey allowed", opts, err)
		}
		resp, err := auth.Get(opts, nil)
		if err != nil {
			t.Fatal(err)
		}
		w = pb.do("POST", "/console/signin/passkey", url.Values{"credential": {string(resp)}})
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/console" {
			t.Fatalf("passkey sign-in: %d %s\n%s", w.Code, w.Header().Get("Location"), w.Body.String())
		}
		if w := pb.do("GET", "/console", nil); w.Code != 200 || !strings.Contains(w.Body.String(), admin.Email) {
			t.Fatalf("console after the passkey: %d", w.Code)
		}
		n, _ := countEvents(e, func(ev *event.Event) bool {
			return ev.Type == staff.TypeSigninSucceeded && ev.Data["staff"] == admin.ID && ev.Data["method"] == "passkey"
		})
		if n != 1 {
			t.Errorf("staff.signin.succeeded with method passkey: %d events, want 1", n)
		}
		// The answer is not accepted twice.
		w = pb.do("POST", "/console/signin/passkey", url.Values{"credential": {string(resp)}})
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/console/signin" {
			t.Errorf("replay after sign-in: %d %s, want 303 to sign-in (no waiting session)", w.Code, w.Header().Get("Location"))
		}
		if w := b.do("GET", "/console/security", nil); strings.Contains(w.Body.String(), "Not used yet") {
			t.Errorf("last use not shown after the sign-in")
		}

		// Another staff member's passkey, a customer's passkey, and a
		// counter going backwards are refused and counted.
		agentAuth := &passkeytest.Authenticator{Origin: consoleOrigin}
		ab := signIn(t, e, agent.Email, agentKey)
		agentPK := addPasskey(t, ab, agentAuth, "")
		customer := storetest.MustCreateAccount(t, e.DB, storetest.NewAccount(e.JP.ID, "hanako@example.jp", ""))
		customerAuth := &passkeytest.Authenticator{Origin: consoleOrigin}
		en, err := e.TwoStep.BeginPasskey(ctx, e.JP, flowtest.Req("192.0.2.10", ""), customer, "")
		if err != nil {
			t.Fatal(err)
		}
		cresp, customerPK, err := customerAuth.Create(en.Options)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.TwoStep.FinishPasskey(ctx, e.JP, flowtest.Req("192.0.2.10", ""), customer, en.CredentialID, "", cresp); err != nil {
			t.Fatal(err)
		}
		for name, use := range map[string]*passkeytest.Passkey{"another staff member's": agentPK, "a customer's": customerPK} {
			res := answerWith(t, passwordStep(t, e, admin.Email), auth, use)
			if res.StatusCode != 400 || !strings.Contains(res.Header.Get("X-Body"), "passkey") {
				t.Errorf("%s passkey: %d, want 400\n%s", name, res.StatusCode, res.Header.Get("X-Body"))
			}
		}
		pk.Count = 0 // the next assertion says 1, after 2
		if res := answerWith(t, passwordStep(t, e, admin.Email), auth, nil); res.StatusCode != 400 {
			t.Errorf("counter going backwards: %d, want 400", res.StatusCode)
		}
		n, _ = countEvents(e, func(ev *event.Event) bool {
			return ev.Type == staff.TypeSigninFailed && ev.Data["staff"] == admin.ID && ev.Data["reason"] == "passkey"
		})
		if n != 3 {
			t.Errorf("staff.signin.failed with reason passkey: %d, want 3", n)
		}
		// Two more failures pause the address from this network.
		for i := 0; i < staff.FailuresBeforeLock-3; i++ {
			answerWith(t, passwordStep(t, e, admin.Email), auth, agentPK)
		}
		_, err = e.Staff.SignIn(ctx, ninsho.Request{IP: "192.0.2.44"}, admin.Email, staffPassword)
		flowtest.WantCode(t, err, ninsho.CodeStaffLocked)
		e.Clock.Advance(staff.FailureWindow + time.Second)

		// A refused answer uses the ceremony up: the right passkey must
		// begin again.
		pk.Count = 10 // ahead of the stored counter again
		pb = passwordStep(t, e, admin.Email)
		w = pb.do("POST", "/console/signin/passkey/begin", url.Values{})
		opts = options(t, w.Result(), w.Body.String())
		bad, _ := auth.Get(opts, agentPK)
		good, _ := auth.Get(opts, pk)
		if w := pb.do("POST", "/console/signin/passkey", url.Values{"credential": {string(bad)}}); w.Code != 400 {
			t.Errorf("another staff member's passkey: %d, want 400", w.Code)
		}
		if w := pb.do("POST", "/console/signin/passkey", url.Values{"credential": {string(good)}}); w.Code != 400 {
			t.Errorf("the right passkey on a used ceremony: %d, want 400", w.Code)
		}
		if res := answerWith(t, pb, auth, nil); res.StatusCode != http.StatusSeeOther {
			t.Errorf("the right passkey after beginning again: %d, want 303", res.StatusCode)
		}

		// No waiting session: begin is a 401 problem.
		w = newBrowser(t, e.Console).do("POST", "/console/signin/passkey/begin", url.Values{})
		if w.Code != 401 || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/problem+json") {
			t.Errorf("begin without the password step: %d %s, want 401 problem", w.Code, w.Header().Get("Content-Type"))
		}

		// Removing needs the authenticator code.
		b = signIn(t, e, admin.Email, key)
		keys, err := e.Staff.Passkeys(ctx, admin.ID)
		if err != nil || len(keys) != 1 {
			t.Fatalf("passkeys: %v %v", keys, err)
		}
		rm := "/console/security/passkeys/" + keys[0].ID + "/remove"
		if w := b.do("POST", rm, url.Values{"code": {"000000"}}); w.Code != 400 {
			t.Errorf("remove with a wrong code: %d, want 400", w.Code)
		}
		if w := ab.do("POST", rm, url.Values{"code": {"000000"}}); w.Code != 400 && w.Code != 404 {
			t.Errorf("remove another's passkey: %d", w.Code)
		}
		e.Clock.Advance(totp.Period * time.Second)
		code, _ := totp.CodeAt(key, e.Clock.Now())
		if w := b.do("POST", "/console/security/passkeys/no-such-passkey/remove", url.Values{"code": {code}}); w.Code != 404 {
			t.Errorf("remove an unknown id: %d, want 404", w.Code)
		}
		e.Clock.Advance(totp.Period * time.Second)
		code, _ = totp.CodeAt(key, e.Clock.Now())
		if w := b.do("POST", rm, url.Values{"code": {code}}); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/console/security?done=removed" {
			t.Fatalf("remove: %d %s\n%s", w.Code, w.Header().Get("Location"), w.Body.String())
		}
		if keys, _ := e.Staff.Passkeys(ctx, admin.ID); len(keys) != 0 {
			t.Errorf("after remove: %d passkeys", len(keys))
		}
		if keys, _ := e.Staff.Passkeys(ctx, agent.ID); len(keys) != 1 {
			t.Errorf("the agent's passkey: %d, want 1", len(keys))
		}
		wantStaffEvent(t, e, admin.ID, staff.TypePasskeyRemoved)
		w = passwordStep(t, e, admin.Email).do("POST", "/console/signin/passkey/begin", url.Values{})
		if w.Code != 404 {
			t.Errorf("begin with no passkey left: %d, want 404", w.Code)
		}
	})
}

// TestStaffPasskeyJapanese: the security page and the code page's offer in
// Japanese.
func TestStaffPasskeyJapanese(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, fe *flowtest.Env) {
		e := newEnv(t, fe)
		withPasskeys(t, e)
		admin, key := mustStaff(t, e, "admin@example.jp", staff.RoleAdmin)
		b := signIn(t, e, admin.Email, key)
		b.lang = "ja"
		addPasskey(t, b, &passkeytest.Authenticator{Origin: consoleOrigin}, "鍵")
		w := b.do("GET", "/console/security", nil)
		if !strings.Contains(w.Body.String(), "あなたのパスキー") || !strings.Contains(w.Body.String(), "まだ使っていません") {
			t.Errorf("security page in Japanese:\n%s", w.Body.String())
		}
		pb := passwordStep(t, e, admin.Email)
		pb.lang = "ja"
		if w := pb.do("GET", "/console/signin/code", nil); !strings.Contains(w.Body.String(), "パスキーを使う") {
			t.Errorf("code page in Japanese offers no passkey")
		}
	})
}
