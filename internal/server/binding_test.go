package server_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/server"
)

// These tests are the attacks of issue 8, point 1, against the whole server
// (pages and API) on SQLite and PostgreSQL: a flow acts only for the client
// that started it, and completing a flow makes only the bound device
// familiar.

const victimPW = "hoshi-no-kage-93"

func newBindingServer(t *testing.T, e *flowtest.Env) http.Handler {
	return mustHandler(server.New(server.Deps{
		Realms: e.Realms, Flows: e.Engine, Signup: e.Signup, Signin: e.Signin,
		Unlock: e.Unlock, Reset: e.Reset, Captcha: e.Captcha,
		Logger: slog.New(slog.DiscardHandler),
	}))
}

// apiFlow is the part of a flow answer these tests read.
type apiFlow struct {
	ID          string          `json:"id"`
	Kind        string          `json:"kind"`
	Status      string          `json:"status"`
	Next        json.RawMessage `json:"next"`
	Session     json.RawMessage `json:"session"`
	DeviceToken string          `json:"device_token"`
	Errors      []struct {
		Code string `json:"code"`
	} `json:"errors"`
}

// apiCall sends a JSON request as an app at ip and decodes the answer when
// it is a flow.
func apiCall(t *testing.T, h http.Handler, ip, method, path string, body map[string]string) (*httptest.ResponseRecorder, apiFlow) {
	t.Helper()
	var r *http.Request
	if body == nil {
		r = httptest.NewRequest(method, path, nil)
	} else {
		b, _ := json.Marshal(body)
		r = httptest.NewRequest(method, path, strings.NewReader(string(b)))
		r.Header.Set("Content-Type", "application/json")
	}
	r.RemoteAddr = ip + ":40000"
	r.Header.Set("User-Agent", flowtest.BrowserUA)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	var f apiFlow
	if rec.Header().Get("Content-Type") == "application/json" {
		if err := json.Unmarshal(rec.Body.Bytes(), &f); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, rec.Body)
		}
	}
	return rec, f
}

// browser is one browser: its address and cookie jar.
type browser struct {
	ip  string
	jar map[string]string
}

func newBrowser(ip string) *browser { return &browser{ip: ip, jar: map[string]string{}} }

func (b *browser) do(t *testing.T, h http.Handler, method, target string, form url.Values) *httptest.ResponseRecorder {
	t.Helper()
	var r *http.Request
	if form == nil {
		r = httptest.NewRequest(method, target, nil)
	} else {
		r = httptest.NewRequest(method, target, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	r.RemoteAddr = b.ip + ":50000"
	r.Header.Set("User-Agent", flowtest.BrowserUA)
	for k, v := range b.jar {
		r.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge < 0 {
			delete(b.jar, c.Name)
		} else {
			b.jar[c.Name] = c.Value
		}
	}
	return rec
}

var flowInLocation = regexp.MustCompile(`flow=([0-9a-f-]{36})`)

// TestPasswordAssistantTakeoverRefused: an attacker starts the password
// assistant for the victim and gets the victim to type the real code on the
// genuine /verify?flow=X link. The victim's browser cannot see or act on the
// attacker's flow (API-started or started in the attacker's own browser), so
// the attacker's choose_sign_in_with_code gets no session.
func TestPasswordAssistantTakeoverRefused(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		h := newBindingServer(t, e)
		e.MustSignUp(t, e.JP, "victim@example.jp", victimPW, "victim@example.jp")

		for _, started := range []string{"api", "page"} {
			e.Clock.Advance(time.Minute)
			var flowID string
			attacker := newBrowser("198.51.100.66")
			if started == "api" {
				rec, f := apiCall(t, h, "198.51.100.66", "POST", "/api/v1/password-assistant", map[string]string{"identifier": "victim@example.jp"})
				if rec.Code != 200 || f.ID == "" {
					t.Fatalf("attacker's API start: %d %s", rec.Code, rec.Body)
				}
				flowID = f.ID
			} else {
				rec := attacker.do(t, h, "POST", "/password-assistant", url.Values{"identifier": {"victim@example.jp"}})
				m := flowInLocation.FindStringSubmatch(rec.Header().Get("Location"))
				if rec.Code != 303 || m == nil {
					t.Fatalf("attacker's page start: %d %q", rec.Code, rec.Header().Get("Location"))
				}
				flowID = m[1]
			}
			realCode := e.LastCode(t, "victim@example.jp")

			victim := newBrowser("203.0.113.5")
			if rec := victim.do(t, h, "GET", "/verify?flow="+flowID, nil); rec.Code != 404 || !strings.Contains(rec.Body.String(), "flow_not_found") && !strings.Contains(rec.Body.String(), "見つかりません") {
				t.Errorf("%s-started flow: victim's GET /verify = %d, want 404 flow_not_found:\n%s", started, rec.Code, rec.Body)
			}
			if rec := victim.do(t, h, "POST", "/verify?flow="+flowID, url.Values{"action": {"submit_code"}, "code": {realCode}}); rec.Code != 404 {
				t.Errorf("%s-started flow: victim's code on /verify = %d, want 404", started, rec.Code)
			}
			// The attacker now asks for a session with the code the victim typed.
			rec, f := apiCall(t, h, "198.51.100.66", "POST", "/api/v1/flows/"+flowID, map[string]string{"action": "choose_sign_in_with_code"})
			if rec.Code == 200 || len(f.Session) > 0 && string(f.Session) != "null" {
				t.Fatalf("%s-started flow: the attacker's choose_sign_in_with_code = %d with a session: %s", started, rec.Code, rec.Body)
			}
			if started == "page" && rec.Code != 404 {
				t.Errorf("page flow acted on through the API = %d, want 404 flow_not_found", rec.Code)
			}
			if started == "page" {
				// The browser that started it still can: the binding is
				// not a wall for its owner.
				if rec := attacker.do(t, h, "GET", "/verify?flow="+flowID, nil); rec.Code != 200 {
					t.Errorf("the starting browser's GET /verify = %d, want 200 (cookies %v)", rec.Code, attacker.jar)
				}
			}
		}
	})
}

// TestDeviceFixationRefused: an attacker starts an identifier-first sign-in
// for the victim and gets the victim to finish it. The attacker's device must
// not become familiar to the victim's account: from it, the right password
// still meets a verification code.
func TestDeviceFixationRefused(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		h := newBindingServer(t, e)
		victimDevice := e.MustSignUp(t, e.JP, "victim@example.jp", victimPW, "victim@example.jp")

		// API: the attacker starts with its own device token.
		rec, started := apiCall(t, h, "198.51.100.66", "POST", "/api/v1/signin", map[string]string{"identifier": "victim@example.jp"})
		if rec.Code != 200 || started.DeviceToken == "" {
			t.Fatalf("attacker's identifier-first start: %d %s", rec.Code, rec.Body)
		}
		attackerDevice := started.DeviceToken
		// The victim's app finishes it with the victim's own device token.
		rec, done := apiCall(t, h, "203.0.113.5", "POST", "/api/v1/flows/"+started.ID, map[string]string{
			"action": "submit_password", "password": victimPW, "device_token": victimDevice,
		})
		if rec.Code == 200 && done.Status == "challenge" {
			// The flow's device is new to the account: the victim gets a
			// code and types it.
			rec, done = apiCall(t, h, "203.0.113.5", "POST", "/api/v1/flows/"+started.ID, map[string]string{
				"action": "submit_code", "code": e.LastCode(t, "victim@example.jp"), "device_token": victimDevice,
			})
		}
		if rec.Code != 200 || done.Status != "complete" {
			t.Fatalf("victim finishing the attacker's API flow: %d %s", rec.Code, rec.Body)
		}
		e.Clock.Advance(time.Minute)
		rec, again := apiCall(t, h, "198.51.100.66", "POST", "/api/v1/signin", map[string]string{
			"identifier": "victim@example.jp", "password": victimPW, "device_token": attackerDevice,
		})
		if again.Status != "challenge" || !strings.Contains(string(again.Next), `"verification_code"`) {
			t.Errorf("the attacker's device after the victim completed its flow: %d %s; want a verification code (not familiar)", rec.Code, rec.Body)
		}

		// Pages: the victim's browser cannot even see the attacker's flow.
		attacker := newBrowser("198.51.100.66")
		rec = attacker.do(t, h, "POST", "/signin", url.Values{"identifier": {"victim@example.jp"}})
		m := flowInLocation.FindStringSubmatch(rec.Header().Get("Location"))
		if rec.Code != 303 || m == nil {
			t.Fatalf("attacker's identifier-first page start: %d %q", rec.Code, rec.Header().Get("Location"))
		}
		victim := newBrowser("203.0.113.5")
		victim.jar["ninsho_device"] = victimDevice
		if rec := victim.do(t, h, "GET", "/signin?flow="+m[1], nil); rec.Code != 404 {
			t.Errorf("victim's GET of the attacker's sign-in page flow = %d, want 404", rec.Code)
		}
		if rec := victim.do(t, h, "POST", "/signin", url.Values{"flow": {m[1]}, "identifier": {"victim@example.jp"}, "password": {victimPW}}); rec.Code != 404 {
			t.Errorf("victim's password on the attacker's page flow = %d, want 404", rec.Code)
		}
	})
}

// TestSignupPreHijackRefused: an attacker signs up with the victim's address
// and the attacker's password, then gets the victim to confirm it on the
// genuine /verify link. The victim's browser cannot act on the attacker's
// flow, so the account stays unconfirmed and the attacker's password opens
// nothing.
func TestSignupPreHijackRefused(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		h := newBindingServer(t, e)
		const attackerPW = "kitsune-no-yome-77"
		rec, f := apiCall(t, h, "198.51.100.66", "POST", "/api/v1/signup", map[string]string{
			"identifier": "victim@example.jp", "password": attackerPW, "name": "Victim",
		})
		if rec.Code != 201 {
			t.Fatalf("attacker's sign-up: %d %s", rec.Code, rec.Body)
		}
		realCode := e.LastCode(t, "victim@example.jp")
		victim := newBrowser("203.0.113.5")
		if rec := victim.do(t, h, "GET", "/verify?flow="+f.ID, nil); rec.Code != 404 {
			t.Errorf("victim's GET /verify of the attacker's sign-up = %d, want 404", rec.Code)
		}
		if rec := victim.do(t, h, "POST", "/verify?flow="+f.ID, url.Values{"action": {"submit_code"}, "code": {realCode}}); rec.Code != 404 {
			t.Errorf("victim's code on the attacker's sign-up = %d, want 404", rec.Code)
		}
		if _, ok := victim.jar["ninsho_session"]; ok {
			t.Errorf("the victim's browser got a session of the attacker's sign-up")
		}
		e.Clock.Advance(time.Minute)
		rec, signin := apiCall(t, h, "198.51.100.66", "POST", "/api/v1/signin", map[string]string{
			"identifier": "victim@example.jp", "password": attackerPW, "device_token": f.DeviceToken,
		})
		if signin.Status == "complete" {
			t.Fatalf("the attacker signed in to the victim's address: %s", rec.Body)
		}
	})
}
