package api_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/api"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/store"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// eachSessionsAPI runs fn with the API over real services on SQLite, and on
// PostgreSQL when NINSHO_TEST_POSTGRES is set.
func eachSessionsAPI(t *testing.T, fn func(t *testing.T, h *api.Handler, env *flowtest.Env)) {
	storetest.EachDatabase(t, func(t *testing.T, open func(tb testing.TB) *store.DB) {
		env := flowtest.New(t, open(t))
		h := api.New(api.Deps{Realms: env.Realms, Flows: env.Engine, Signup: env.Signup, Signin: env.Signin,
			Unlock: env.Unlock, Reauth: env.Reauth, Sessions: env.Sessions, Now: env.Clock.Now})
		fn(t, h, env)
	})
}

// apiSignIn signs email in from dev at ip (a code is answered when one is
// asked) and returns the bearer header and the device token.
func apiSignIn(t *testing.T, env *flowtest.Env, email, ip, dev string) ([]string, string) {
	t.Helper()
	ctx := context.Background()
	ans, err := env.Signin.Start(ctx, env.JP, flowtest.Req(ip, dev), signin.Input{Identifier: email, Password: pw})
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	if dev == "" {
		dev = ans.DeviceToken
	}
	if ans.Session == nil {
		ans, err = env.Engine.Act(ctx, "jp", ans.Flow.ID, flowtest.Req(ip, dev), flow.Action{Name: flow.ActionSubmitCode, Code: env.LastCode(t, email)})
		if err != nil || ans.Session == nil {
			t.Fatalf("sign-in code: %+v, %v", ans, err)
		}
	}
	return []string{"Authorization", "Bearer " + ans.Session.Token}, dev
}

type sessionsBody struct {
	Sessions []struct {
		ID           string   `json:"id"`
		Current      bool     `json:"current"`
		Device       string   `json:"device"`
		Network      string   `json:"network"`
		StartedAt    string   `json:"started_at"`
		LastActiveAt string   `json:"last_active_at"`
		AAL          int      `json:"aal"`
		Methods      []string `json:"methods"`
	} `json:"sessions"`
}

func decodeStrict(t *testing.T, rec *httptest.ResponseRecorder, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(rec.Body.String()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %s: %v", rec.Body, err)
	}
}

// TestSessionsAPI: the list shows every live session, the current one
// marked, with device words, network prefix, times, aal and methods and no
// token; signing out everywhere else answers how many and the other
// bearer is refused at once; one session is signed out by id; another
// account's session is 404; a change needs a recent sign-in
// (reauth_required once the window passed on the injected clock, 204
// after a re-authentication).
func TestSessionsAPI(t *testing.T) {
	eachSessionsAPI(t, func(t *testing.T, h *api.Handler, env *flowtest.Env) {
		const email, other = "hanako@example.jp", "taro@example.jp"
		dev := env.MustSignUp(t, env.JP, email, pw, email)
		env.MustSignUp(t, env.JP, other, pw, other)
		bearer, _ := apiSignIn(t, env, email, "192.0.2.10", dev)
		strangerBearer, _ := apiSignIn(t, env, email, "198.51.100.7", "")
		otherBearer, _ := apiSignIn(t, env, other, "203.0.113.9", "")

		if rec := do(h, "GET", "/api/v1/me/sessions", "", ""); rec.Code != 401 {
			t.Errorf("without a session: %d, want 401", rec.Code)
		}
		rec := do(h, "GET", "/api/v1/me/sessions", "", "", append(bearer, "Accept-Language", "en")...)
		if rec.Code != 200 || strings.Contains(rec.Body.String(), "token") {
			t.Fatalf("list: %d %s", rec.Code, rec.Body)
		}
		var list sessionsBody
		decodeStrict(t, rec, &list)
		if len(list.Sessions) != 3 || !list.Sessions[1].Current && !list.Sessions[0].Current {
			t.Fatalf("list = %+v; want 3 sessions, the current one marked", list)
		}
		var stranger, current string
		for _, s := range list.Sessions {
			switch {
			case s.Current:
				current = s.ID
			case s.Network == "198.51.100.0/24":
				stranger = s.ID
			}
			if s.Device != "Chrome on Linux" || s.StartedAt == "" || s.LastActiveAt == "" || s.AAL != 1 || len(s.Methods) == 0 {
				t.Errorf("session %+v; want device words, times, aal and methods", s)
			}
		}
		if stranger == "" || current == "" || list.Sessions[0].ID != stranger {
			t.Fatalf("list = %+v; want the stranger's session first (newest)", list)
		}

		// Another account's session: 404, and it stays.
		var theirs sessionsBody
		decodeStrict(t, do(h, "GET", "/api/v1/me/sessions", "", "", otherBearer...), &theirs)
		if rec := do(h, "DELETE", "/api/v1/me/sessions/"+theirs.Sessions[0].ID+"?lang=en", "", "", bearer...); rec.Code != 404 || problemCode(t, rec) != "not_found" ||
			!strings.Contains(rec.Body.String(), "We couldn't find this session.") || strings.Contains(rec.Body.String(), "sign-in page") {
			t.Errorf("their session: %d %s, want 404 not_found saying the session was not found", rec.Code, rec.Body)
		}
		if rec := do(h, "GET", "/api/v1/me", "", "", otherBearer...); rec.Code != 200 {
			t.Errorf("their session after: %d", rec.Code)
		}

		// Past the re-authentication window: reauth_required.
		env.Clock.Advance(env.JP.ReauthWindow() + time.Second)
		if rec := do(h, "DELETE", "/api/v1/me/sessions/"+stranger, "", "", bearer...); rec.Code != 403 || problemCode(t, rec) != "reauth_required" {
			t.Fatalf("after the window: %d %s, want 403 reauth_required", rec.Code, rec.Body)
		}
		if rec := do(h, "DELETE", "/api/v1/me/sessions", "", "", bearer...); rec.Code != 403 || problemCode(t, rec) != "reauth_required" {
			t.Fatalf("others after the window: %d %s, want 403 reauth_required", rec.Code, rec.Body)
		}
		reauthenticate(t, h, bearer)
		if rec := do(h, "DELETE", "/api/v1/me/sessions/"+stranger, "", "", bearer...); rec.Code != 204 {
			t.Fatalf("sign out one: %d %s", rec.Code, rec.Body)
		}
		if rec := do(h, "GET", "/api/v1/me", "", "", strangerBearer...); rec.Code != 401 {
			t.Errorf("the signed-out bearer: %d, want 401 at once", rec.Code)
		}
		if rec := do(h, "DELETE", "/api/v1/me/sessions/"+stranger, "", "", bearer...); rec.Code != 404 {
			t.Errorf("signed out twice: %d, want 404", rec.Code)
		}

		// Everywhere else: a new stranger, refused at once after.
		again, _ := apiSignIn(t, env, email, "198.51.100.7", "")
		if rec := do(h, "GET", "/api/v1/me", "", "", again...); rec.Code != 200 {
			t.Fatalf("new session: %d", rec.Code)
		}
		rec = do(h, "DELETE", "/api/v1/me/sessions", "", "", bearer...)
		if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != `{"revoked":2}` { // the sign-up's and the new one
			t.Fatalf("sign out others: %d %s", rec.Code, rec.Body)
		}
		if rec := do(h, "GET", "/api/v1/me", "", "", again...); rec.Code != 401 {
			t.Errorf("the other bearer: %d, want 401 at once", rec.Code)
		}
		if rec := do(h, "GET", "/api/v1/me", "", "", bearer...); rec.Code != 200 {
			t.Errorf("the current bearer: %d, want 200", rec.Code)
		}

		// Signing out the current session is a sign-out: it needs no
		// recent sign-in (another session still does).
		env.Clock.Advance(env.JP.ReauthWindow() + time.Second)
		third, _ := apiSignIn(t, env, email, "198.51.100.8", "")
		var now sessionsBody
		decodeStrict(t, do(h, "GET", "/api/v1/me/sessions", "", "", bearer...), &now)
		var thirdID string
		for _, s := range now.Sessions {
			if !s.Current {
				thirdID = s.ID
			}
		}
		if rec := do(h, "DELETE", "/api/v1/me/sessions/"+thirdID, "", "", bearer...); rec.Code != 403 || problemCode(t, rec) != "reauth_required" {
			t.Fatalf("another session with a stale one: %d %s, want 403 reauth_required", rec.Code, rec.Body)
		}
		if rec := do(h, "DELETE", "/api/v1/me/sessions/"+current, "", "", bearer...); rec.Code != 204 {
			t.Fatalf("the current session with a stale one: %d %s, want 204", rec.Code, rec.Body)
		}
		if rec := do(h, "GET", "/api/v1/me", "", "", bearer...); rec.Code != 401 {
			t.Errorf("the signed-out current bearer: %d, want 401 at once", rec.Code)
		}
		if rec := do(h, "GET", "/api/v1/me", "", "", third...); rec.Code != 200 {
			t.Errorf("the other session: %d, want 200 (only the current one ended)", rec.Code)
		}
	})
}

// reauthenticate proves the password again for the session of bearer.
func reauthenticate(t *testing.T, h *api.Handler, bearer []string) {
	t.Helper()
	rec := do(h, "POST", "/api/v1/reauth", "application/json", "{}", bearer...)
	if rec.Code != 201 {
		t.Fatalf("reauth start: %d %s", rec.Code, rec.Body)
	}
	fb := decodeFlow(t, rec)
	rec = do(h, "POST", "/api/v1/flows/"+fb.ID, "application/json", `{"action":"submit_password","password":"`+pw+`"}`, bearer...)
	if rec.Code != 200 {
		t.Fatalf("reauth: %d %s", rec.Code, rec.Body)
	}
}

// TestDevicesAPI: the familiar devices with first and last sign-in,
// network and trust; another account's device is 404; forgetting one needs
// a recent sign-in, ends its sessions and makes its next sign-in ask for a
// code.
func TestDevicesAPI(t *testing.T) {
	eachSessionsAPI(t, func(t *testing.T, h *api.Handler, env *flowtest.Env) {
		const email, other = "hanako@example.jp", "taro@example.jp"
		dev := env.MustSignUp(t, env.JP, email, pw, email)
		otherDev := env.MustSignUp(t, env.JP, other, pw, other)
		onDev, _ := apiSignIn(t, env, email, "192.0.2.10", dev)
		bearer, _ := apiSignIn(t, env, email, "198.51.100.7", "")
		otherBearer, _ := apiSignIn(t, env, other, "192.0.2.10", otherDev)

		rec := do(h, "GET", "/api/v1/me/devices", "", "", append(bearer, "Accept-Language", "ja")...)
		var list struct {
			Devices []struct {
				ID           string `json:"id"`
				Current      bool   `json:"current"`
				Device       string `json:"device"`
				Network      string `json:"network"`
				FirstSeenAt  string `json:"first_seen_at"`
				LastSeenAt   string `json:"last_seen_at"`
				Trusted      bool   `json:"trusted"`
				TrustedUntil string `json:"trusted_until"`
			} `json:"devices"`
		}
		decodeStrict(t, rec, &list)
		if rec.Code != 200 || len(list.Devices) != 2 || !list.Devices[0].Current || list.Devices[1].Network != "192.0.2.0/24" ||
			list.Devices[1].Device != "Linux の Chrome" || list.Devices[1].FirstSeenAt == "" || list.Devices[1].Trusted {
			t.Fatalf("devices: %d %+v", rec.Code, list)
		}
		signedUpOn := list.Devices[1].ID

		var theirs struct {
			Devices []struct {
				ID string `json:"id"`
			} `json:"devices"`
		}
		if err := json.Unmarshal(do(h, "GET", "/api/v1/me/devices", "", "", otherBearer...).Body.Bytes(), &theirs); err != nil || len(theirs.Devices) != 1 {
			t.Fatalf("their devices: %+v %v", theirs, err)
		}
		if rec := do(h, "DELETE", "/api/v1/me/devices/"+theirs.Devices[0].ID, "", "", bearer...); rec.Code != 404 || problemCode(t, rec) != "not_found" ||
			!strings.Contains(rec.Body.String(), "このデバイスはアカウントのデバイスに見つかりませんでした") {
			t.Errorf("their device: %d %s, want 404", rec.Code, rec.Body)
		}
		env.Clock.Advance(env.JP.ReauthWindow() + time.Second)
		if rec := do(h, "DELETE", "/api/v1/me/devices/"+signedUpOn, "", "", bearer...); rec.Code != 403 || problemCode(t, rec) != "reauth_required" {
			t.Fatalf("after the window: %d %s", rec.Code, rec.Body)
		}
		reauthenticate(t, h, bearer)
		if rec := do(h, "DELETE", "/api/v1/me/devices/"+signedUpOn, "", "", bearer...); rec.Code != 204 {
			t.Fatalf("forget: %d %s", rec.Code, rec.Body)
		}
		if rec := do(h, "GET", "/api/v1/me", "", "", onDev...); rec.Code != 401 {
			t.Errorf("the forgotten device's bearer: %d, want 401", rec.Code)
		}
		ans, err := env.Signin.Start(context.Background(), env.JP, flowtest.Req("192.0.2.10", dev), signin.Input{Identifier: email, Password: pw})
		if err != nil || ans.Session != nil || ans.Next == nil || ans.Next.Step != flow.StepVerificationCode {
			t.Fatalf("sign-in on the forgotten device = %+v, %v; want a verification code", ans, err)
		}
	})
}

// TestHistoryAPI: the history lists the entries with an id each and which
// carry "this wasn't me" (a stranger's sign-in does, the current
// session's own does not); reporting one needs no recent sign-in, answers
// the unlock flow and ends every session; another account's entry, or an
// entry without the link, is 404.
func TestHistoryAPI(t *testing.T) {
	eachSessionsAPI(t, func(t *testing.T, h *api.Handler, env *flowtest.Env) {
		const email, other = "hanako@example.jp", "taro@example.jp"
		dev := env.MustSignUp(t, env.JP, email, pw, email)
		otherDev := env.MustSignUp(t, env.JP, other, pw, other)
		strangerBearer, _ := apiSignIn(t, env, email, "198.51.100.7", "")
		env.Clock.Advance(time.Minute)
		bearer, _ := apiSignIn(t, env, email, "192.0.2.10", dev)
		otherBearer, _ := apiSignIn(t, env, other, "192.0.2.10", otherDev)
		env.Clock.Advance(time.Hour) // no recent sign-in needed

		type entries struct {
			Entries []struct {
				ID      string   `json:"id"`
				Type    string   `json:"type"`
				At      string   `json:"at"`
				Failed  bool     `json:"failed"`
				IP      string   `json:"ip"`
				Network string   `json:"network"`
				Device  string   `json:"device"`
				Reasons []string `json:"reasons"`
				NotMe   bool     `json:"not_me"`
			} `json:"entries"`
		}
		var mine, theirs entries
		rec := do(h, "GET", "/api/v1/me/history", "", "", bearer...)
		decodeStrict(t, rec, &mine)
		decodeStrict(t, do(h, "GET", "/api/v1/me/history", "", "", otherBearer...), &theirs)
		var strangers, own, failedOrOther string
		for _, e := range mine.Entries {
			switch {
			case e.Type == "signin.succeeded" && e.IP == "198.51.100.7":
				if !e.NotMe || e.Network != "198.51.100.0/24" || len(e.Reasons) == 0 {
					t.Errorf("stranger's sign-in %+v; want the link, its network and reasons", e)
				}
				strangers = e.ID
			case e.Type == "signin.succeeded" && e.NotMe == false && own == "":
				own = e.ID // the newest: this session's own sign-in
			case e.Type == "signup.completed":
				failedOrOther = e.ID
				if e.NotMe {
					t.Errorf("sign-up %+v carries the link", e)
				}
			}
		}
		if strangers == "" || own == "" || failedOrOther == "" || mine.Entries[0].NotMe {
			t.Fatalf("history = %+v", mine)
		}
		for _, id := range []string{theirs.Entries[0].ID, own, failedOrOther, "nope"} {
			if rec := do(h, "POST", "/api/v1/me/history/"+id+"/not-me", "", "", bearer...); rec.Code != 404 || problemCode(t, rec) != "not_found" {
				t.Errorf("not-me on %s: %d %s, want 404", id, rec.Code, rec.Body)
			}
		}
		rec = do(h, "POST", "/api/v1/me/history/"+strangers+"/not-me", "", "", bearer...)
		if rec.Code != 200 {
			t.Fatalf("not-me: %d %s", rec.Code, rec.Body)
		}
		if fb := decodeFlow(t, rec); fb.Kind != "unlock" || fb.Next == nil || fb.Next.Step != "verification_code" {
			t.Fatalf("not-me = %+v; want an unlock flow at its code", fb)
		}
		for _, b := range [][]string{bearer, strangerBearer} {
			if rec := do(h, "GET", "/api/v1/me", "", "", b...); rec.Code != 401 {
				t.Errorf("after not-me: %d, want 401", rec.Code)
			}
		}
		if rec := do(h, "GET", "/api/v1/me", "", "", otherBearer...); rec.Code != 200 {
			t.Errorf("the other account: %d, want 200", rec.Code)
		}
	})
}
