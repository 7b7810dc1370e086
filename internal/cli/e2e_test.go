package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/cli"
	"github.com/ninsho/ninsho/internal/config"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// startApp starts a development instance on a free port with its data in a
// temporary directory; databaseURL "" means SQLite.
func startApp(tb testing.TB, databaseURL string) *cli.App {
	tb.Helper()
	return startAppWith(tb, func(c *cliConfig) { c.DatabaseURL = config.Secret(databaseURL) })
}

type cliConfig = config.Config

// startAppWith is startApp with the configuration adjusted by edit.
func startAppWith(tb testing.TB, edit func(*config.Config)) *cli.App {
	tb.Helper()
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = tb.TempDir()
	cfg.Password.MemoryKiB = 8192 // fast enough for tests, still argon2id
	cfg.Password.Time = 1
	edit(&cfg)
	sent := newDeliveries()
	app, err := cli.NewApp(context.Background(), cfg, cli.Options{LogOutput: io.Discard, Delivered: sent.record})
	if err != nil {
		tb.Fatalf("NewApp: %v", err)
	}
	if err := app.Start(); err != nil {
		tb.Fatalf("Start: %v", err)
	}
	tb.Cleanup(func() { app.Close() })
	registerDeliveries(tb, app.URL(), sent)
	return app
}

// browserUA is a person's browser: the risk engine asks automation for a
// CAPTCHA.
const browserUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0 Safari/537.36"

type client struct {
	tb   testing.TB
	base string
	http *http.Client
}

// call sends a JSON request and decodes the JSON answer into out (when not
// nil); it returns the status and the raw body.
func (c *client) call(method, path, token string, body any, out any) (int, []byte) {
	c.tb.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("User-Agent", browserUA)
	res, err := c.http.Do(req)
	if err != nil {
		c.tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			c.tb.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	return res.StatusCode, raw
}

// waitCode waits until the development inbox has stored a message with a
// code for to (delivery is asynchronous), then returns the code of the
// newest message to to that the inbox API lists.
func (c *client) waitCode(to string) string {
	c.tb.Helper()
	deliveriesOf(c.tb, c.base).wait(c.tb, c.tb.Context(), to, hasCode)
	var inbox struct {
		Messages []struct {
			Code     string `json:"code"`
			Template string `json:"template"`
		} `json:"messages"`
	}
	c.call("GET", "/dev/api/messages?to="+url.QueryEscape(to), "", nil, &inbox)
	if len(inbox.Messages) == 0 || inbox.Messages[0].Code == "" {
		c.tb.Fatalf("a code for %s was delivered, but the inbox API lists %+v", to, inbox.Messages)
	}
	return inbox.Messages[0].Code
}

type flowJSON struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	Status string `json:"status"`
	Next   *struct {
		Step        string `json:"step"`
		Channel     string `json:"channel"`
		Destination string `json:"destination"`
	} `json:"next"`
	Errors []struct {
		Code    string `json:"code"`
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
	Session *struct {
		Token     string `json:"token"`
		ExpiresAt string `json:"expires_at"`
		AAL       int    `json:"aal"`
	} `json:"session"`
	DeviceToken string `json:"device_token"`
}

func TestJSONSignupSigninMeSignout(t *testing.T) {
	run := func(t *testing.T, dbURL string) {
		app := startApp(t, dbURL)
		c := &client{tb: t, base: app.URL(), http: &http.Client{Timeout: 10 * time.Second}}
		const pw = "kumo-no-ue-42"

		var f flowJSON
		status, raw := c.call("POST", "/api/v1/signup", "", map[string]string{
			"identifier": "０９０－１２３４－５６７８", "password": pw, "name": "山田 花子", "locale": "ja",
		}, &f)
		if status != http.StatusCreated || f.Status != "challenge" || f.Next == nil || f.Next.Step != "verification_code" {
			t.Fatalf("signup: %d %s", status, raw)
		}
		if f.Next.Channel != "sms" || f.Next.Destination != "090-****-5678" || f.DeviceToken == "" {
			t.Errorf("signup next = %+v, device token %q", f.Next, f.DeviceToken)
		}
		device := f.DeviceToken

		// A wrong code is a 400 with the flow and a localised error.
		var bad flowJSON
		status, raw = c.call("POST", "/api/v1/flows/"+f.ID, "", map[string]string{"action": "submit_code", "code": "abc"}, &bad)
		if status != http.StatusBadRequest || len(bad.Errors) != 1 || bad.Errors[0].Code != "code_incorrect" || !strings.Contains(bad.Errors[0].Message, "確認コード") {
			t.Errorf("wrong code: %d %s", status, raw)
		}
		code := c.waitCode("+819012345678")
		var done flowJSON
		status, raw = c.call("POST", "/api/v1/flows/"+f.ID, "", map[string]string{"action": "submit_code", "code": code}, &done)
		if status != http.StatusOK || done.Status != "complete" || done.Session == nil || done.Session.Token == "" {
			t.Fatalf("submit_code: %d %s", status, raw)
		}
		var got flowJSON
		if status, raw = c.call("GET", "/api/v1/flows/"+f.ID, "", nil, &got); status != http.StatusOK || got.Status != "complete" || got.Session != nil {
			t.Errorf("GET flow after completion: %d %s (the token must not be shown again)", status, raw)
		}

		var in flowJSON
		status, raw = c.call("POST", "/api/v1/signin", "", map[string]string{
			"identifier": "+81 90 1234 5678", "password": pw, "device_token": device,
		}, &in)
		if status != http.StatusOK || in.Status != "complete" || in.Session == nil {
			t.Fatalf("signin: %d %s", status, raw)
		}
		if in.DeviceToken != "" {
			t.Errorf("signin with a known device token handed out a new one: %q", in.DeviceToken)
		}
		token := in.Session.Token

		var me struct {
			Name          string `json:"name"`
			Phone         string `json:"phone"`
			PhoneVerified bool   `json:"phone_verified"`
			Status        string `json:"status"`
		}
		status, raw = c.call("GET", "/api/v1/me", token, nil, &me)
		if status != http.StatusOK || me.Name != "山田 花子" || me.Phone != "+819012345678" || !me.PhoneVerified || me.Status != "active" {
			t.Fatalf("me: %d %s", status, raw)
		}
		if status, raw = c.call("POST", "/api/v1/signout", token, nil, nil); status != http.StatusNoContent {
			t.Fatalf("signout: %d %s", status, raw)
		}
		var problem struct {
			Code      string `json:"code"`
			RequestID string `json:"request_id"`
		}
		if status, raw = c.call("GET", "/api/v1/me", token, nil, &problem); status != http.StatusUnauthorized || problem.Code != "unauthenticated" || problem.RequestID == "" {
			t.Errorf("me after signout: %d %s", status, raw)
		}

		var wrong flowJSON
		status, raw = c.call("POST", "/api/v1/signin", "", map[string]string{"identifier": "09012345678", "password": "not-it-at-all"}, &wrong)
		if status != http.StatusBadRequest || len(wrong.Errors) != 1 || wrong.Errors[0].Code != "password_incorrect" {
			t.Errorf("wrong password: %d %s", status, raw)
		}
	}
	t.Run("sqlite", func(t *testing.T) { run(t, "") })
	t.Run("postgres", func(t *testing.T) { run(t, storetest.PostgresURL(t)) })
}

func TestBadInputGetsCatalogueErrors(t *testing.T) {
	app := startApp(t, "")
	hc := &http.Client{Timeout: 10 * time.Second}
	tests := []struct {
		name, method, path, ctype string
		body                      []byte
		wantStatus                int
		wantCode                  string
	}{
		{"malformed json", "POST", "/api/v1/signup", "application/json", []byte(`{"identifier":`), 400, "request_invalid"},
		{"form body", "POST", "/api/v1/signup", "application/x-www-form-urlencoded", []byte(`identifier=a`), 415, "unsupported_media_type"},
		{"too large", "POST", "/api/v1/signin", "application/json", bytes.Repeat([]byte(" "), 70<<10), 413, "body_too_large"},
		{"invalid utf-8", "POST", "/api/v1/signin", "application/json", []byte("{\"identifier\":\"\xff\xfe\",\"password\":\"x\"}"), 400, "request_invalid"},
		{"over-long field", "POST", "/api/v1/signin", "application/json", []byte(`{"identifier":"` + strings.Repeat("a", 400) + `@example.jp","password":"x"}`), 400, "field_too_long"},
		{"unknown flow", "GET", "/api/v1/flows/01a2107b-0fba-7b02-bb24-795ab0397e98", "", nil, 404, "flow_not_found"},
		{"malformed flow id", "POST", "/api/v1/flows/..%2f..", "application/json", []byte(`{"action":"submit_code"}`), 404, "flow_not_found"},
		{"no session", "GET", "/api/v1/me", "", nil, 401, "unauthenticated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, app.URL()+tt.path, bytes.NewReader(tt.body))
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			res, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			raw, _ := io.ReadAll(res.Body)
			var body struct {
				Code   string `json:"code"`
				Errors []struct {
					Code string `json:"code"`
				} `json:"errors"`
			}
			json.Unmarshal(raw, &body)
			code := body.Code
			if code == "" && len(body.Errors) > 0 {
				code = body.Errors[0].Code
			}
			if res.StatusCode != tt.wantStatus || code != tt.wantCode {
				t.Errorf("got %d %q (%s), want %d %q", res.StatusCode, code, raw, tt.wantStatus, tt.wantCode)
			}
			if strings.Contains(string(raw), "goroutine") || strings.Contains(string(raw), ".go:") {
				t.Errorf("response leaks a stack trace: %s", raw)
			}
		})
	}
}
