package api_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/flow"
)

func TestUnlockRoutesWithoutService(t *testing.T) {
	h, _ := newAPI(t) // no unlock service
	for _, tt := range []struct{ target, body string }{
		{"/api/v1/unlock", `{"identifier":"taro@example.jp"}`},
		{"/api/v1/not-me", `{"token":"abc"}`},
	} {
		rec := do(h, "POST", tt.target, "application/json", tt.body)
		if rec.Code != 404 || problemCode(t, rec) != "not_found" {
			t.Errorf("POST %s without unlock: %d %s", tt.target, rec.Code, rec.Body)
		}
	}
}

func TestUnlockBodies(t *testing.T) {
	h, _ := newRealAPI(t)
	tests := []struct {
		target, body string
		status       int
		code         string
	}{
		{"/api/v1/unlock", `{"identifier":"taro@example.jp","password":"x"}`, 400, "request_invalid"},
		{"/api/v1/unlock", `{"identifier":"` + strings.Repeat("a", 321) + `"}`, 400, "field_too_long"},
		{"/api/v1/unlock", `{"identifier":"taro@@example"}`, 400, "identifier_invalid"},
		{"/api/v1/unlock", `{"identifier":"nobody@example.jp"}`, 400, "account_not_found"},
		{"/api/v1/not-me", `{}`, 400, "field_required"},
		{"/api/v1/not-me", `{"token":"` + strings.Repeat("t", 257) + `"}`, 400, "field_too_long"},
		{"/api/v1/not-me", `{"token":"no-such-link"}`, 404, "not_found"},
	}
	for _, tt := range tests {
		rec := do(h, "POST", tt.target, "application/json", tt.body)
		if rec.Code != tt.status || problemCode(t, rec) != tt.code {
			t.Errorf("POST %s %.60s: %d %s, want %d %s", tt.target, tt.body, rec.Code, rec.Body, tt.status, tt.code)
		}
	}
	if rec := do(h, "POST", "/api/v1/not-me", "application/json", `{"token":"no-such-link"}`); !strings.Contains(rec.Body.String(), `"field":"token"`) {
		t.Errorf("unknown not-me link: %s, want field token", rec.Body)
	}
	if rec := do(h, "POST", "/api/v1/unlock", "application/x-www-form-urlencoded", "identifier=x"); rec.Code != 415 {
		t.Errorf("form body: %d, want 415", rec.Code)
	}
}

// TestUnlockByCode: a new device meets the smart lock, unlocks with a code
// and the password, and ends signed in.
func TestUnlockByCode(t *testing.T) {
	h, env := newRealAPI(t)
	ctx := context.Background()
	env.MustSignUp(t, env.JP, "taro@example.jp", pw, "taro@example.jp")
	a, err := env.DB.AccountByEmail(ctx, "jp", "taro@example.jp")
	if err != nil {
		t.Fatal(err)
	}
	now := env.Clock.Now()
	until := now.Add(5 * time.Minute)
	if err := env.DB.SetLock(ctx, a.ID, account.Lock{Kind: account.LockUnfamiliar, Until: &until, Level: 1, LockedAt: &now}); err != nil {
		t.Fatal(err)
	}
	rec := do(h, "POST", "/api/v1/signin", "application/json", jsonBody(t, map[string]string{"identifier": "taro@example.jp", "password": pw}))
	if rec.Code != 423 || !strings.Contains(rec.Body.String(), `"account_locked"`) {
		t.Fatalf("locked sign-in: %d %s", rec.Code, rec.Body)
	}
	dev := decodeFlow(t, rec).DeviceToken

	env.Clock.Advance(time.Minute)
	rec = do(h, "POST", "/api/v1/unlock", "application/json", jsonBody(t, map[string]string{"identifier": "Taro@Example.jp", "device_token": dev}))
	if rec.Code != 200 {
		t.Fatalf("unlock: %d %s", rec.Code, rec.Body)
	}
	fb := decodeFlow(t, rec)
	if fb.Kind != "unlock" || fb.Status != "challenge" || fb.Next == nil || fb.Next.Step != flow.StepVerificationCode || fb.Next.Destination == "" || strings.Contains(fb.Next.Destination, "taro@") {
		t.Fatalf("unlock flow = %+v %+v", fb, fb.Next)
	}
	act := func(body map[string]string) flowBody {
		t.Helper()
		body["device_token"] = dev
		rec := do(h, "POST", "/api/v1/flows/"+fb.ID, "application/json", jsonBody(t, body))
		if rec.Code != 200 {
			t.Fatalf("%s: %d %s", body["action"], rec.Code, rec.Body)
		}
		return decodeFlow(t, rec)
	}
	if got := act(map[string]string{"action": "submit_code", "code": env.LastCode(t, "taro@example.jp")}); got.Next == nil || got.Next.Step != flow.StepPassword {
		t.Fatalf("after the code: %+v", got.Next)
	}
	done := act(map[string]string{"action": "submit_password", "password": pw})
	if done.Status != "complete" || done.Session == nil || done.Session.Token == "" {
		t.Fatalf("unlock did not complete with a session: %+v", done)
	}
	if rec := do(h, "GET", "/api/v1/me", "", "", "Authorization", "Bearer "+done.Session.Token); rec.Code != 200 {
		t.Errorf("me after unlock: %d", rec.Code)
	}
}

var notMeToken = regexp.MustCompile(`/signin/not-me\?token=([A-Za-z0-9_%.~-]+)`)

// TestNotMe: the alert's link, sent to the API, ends every session and
// leads through a code to a new password.
func TestNotMe(t *testing.T) {
	h, env := newRealAPI(t)
	owner := env.MustSignUp(t, env.JP, "taro@example.jp", pw, "taro@example.jp")
	rec := do(h, "POST", "/api/v1/signin", "application/json", jsonBody(t, map[string]string{"identifier": "taro@example.jp", "password": pw, "device_token": owner}))
	ownerSession := decodeFlow(t, rec).Session.Token

	env.Clock.Advance(time.Minute)
	rec = do(h, "POST", "/api/v1/signin", "application/json", jsonBody(t, map[string]string{"identifier": "taro@example.jp", "password": pw}))
	started := decodeFlow(t, rec)
	rec = do(h, "POST", "/api/v1/flows/"+started.ID, "application/json", jsonBody(t, map[string]string{
		"action": "submit_code", "code": env.LastCode(t, "taro@example.jp"), "device_token": started.DeviceToken}))
	if rec.Code != 200 || decodeFlow(t, rec).Session == nil {
		t.Fatalf("sign-in on a new device: %d %s", rec.Code, rec.Body)
	}
	var token string
	for _, m := range env.Messages(t, "taro@example.jp") {
		if mm := notMeToken.FindStringSubmatch(m.Text); mm != nil && token == "" {
			token, _ = url.QueryUnescape(mm[1])
		}
	}
	if token == "" {
		t.Fatal("no alert with a not-me link")
	}

	env.Clock.Advance(time.Minute)
	rec = do(h, "POST", "/api/v1/not-me", "application/json", jsonBody(t, map[string]string{"token": token, "device_token": owner}))
	if rec.Code != 200 {
		t.Fatalf("not-me: %d %s", rec.Code, rec.Body)
	}
	fb := decodeFlow(t, rec)
	if fb.Kind != "unlock" || fb.Next == nil || fb.Next.Step != flow.StepVerificationCode {
		t.Fatalf("not-me flow = %+v", fb)
	}
	if rec := do(h, "GET", "/api/v1/me", "", "", "Authorization", "Bearer "+ownerSession); rec.Code != 401 {
		t.Errorf("a session survived not-me: %d", rec.Code)
	}
	if rec := do(h, "POST", "/api/v1/not-me", "application/json", jsonBody(t, map[string]string{"token": token})); rec.Code != 404 {
		t.Errorf("link used twice: %d, want 404", rec.Code)
	}
	rec = do(h, "POST", "/api/v1/flows/"+fb.ID, "application/json", jsonBody(t, map[string]string{
		"action": "submit_code", "code": env.LastCode(t, "taro@example.jp"), "device_token": owner}))
	if next := decodeFlow(t, rec).Next; rec.Code != 200 || next == nil || next.Step != flow.StepNewPassword {
		t.Fatalf("after the code: %d %s", rec.Code, rec.Body)
	}
	const newPW = "sora-no-shita-77"
	rec = do(h, "POST", "/api/v1/flows/"+fb.ID, "application/json", jsonBody(t, map[string]string{
		"action": "set_new_password", "password": newPW, "password_confirmation": newPW, "device_token": owner}))
	if done := decodeFlow(t, rec); rec.Code != 200 || done.Status != "complete" || done.Session == nil {
		t.Fatalf("set_new_password: %d %s", rec.Code, rec.Body)
	}
	rec = do(h, "POST", "/api/v1/signin", "application/json", jsonBody(t, map[string]string{"identifier": "taro@example.jp", "password": newPW, "device_token": owner}))
	if rec.Code != 200 || decodeFlow(t, rec).Session == nil {
		t.Errorf("sign-in with the new password: %d %s", rec.Code, rec.Body)
	}
}

// TestCaptchaStep: after three wrong passwords from a new device the flow
// holds the sign-in behind a CAPTCHA (DESIGN §5); a wrong answer brings a
// new challenge, the right one asks for the password again.
func TestCaptchaStep(t *testing.T) {
	h, env := newRealAPI(t)
	env.MustSignUp(t, env.JP, "taro@example.jp", pw, "taro@example.jp")
	var dev string
	for range 3 {
		rec := do(h, "POST", "/api/v1/signin", "application/json", jsonBody(t, map[string]string{"identifier": "taro@example.jp", "password": "nope-" + pw, "device_token": dev}))
		if rec.Code != 400 {
			t.Fatalf("wrong password: %d %s", rec.Code, rec.Body)
		}
		if fb := decodeFlow(t, rec); fb.DeviceToken != "" {
			dev = fb.DeviceToken
		}
	}
	rec := do(h, "POST", "/api/v1/signin", "application/json", jsonBody(t, map[string]string{"identifier": "taro@example.jp", "password": pw, "device_token": dev}))
	fb := decodeFlow(t, rec)
	if rec.Code != 400 || !strings.Contains(string(fb.Errors[0]), `"captcha_required"`) || fb.Next == nil || fb.Next.Step != flow.StepCaptcha || fb.Next.Captcha == nil {
		t.Fatalf("fourth attempt: %d %s", rec.Code, rec.Body)
	}
	c := fb.Next.Captcha
	if c.ImageURL != "/api/v1/captcha/"+c.ID+".png" || !strings.HasPrefix(c.AudioURL, "/api/v1/captcha/"+c.ID+".wav") {
		t.Errorf("captcha = %+v", c)
	}
	if rec := do(h, "GET", c.ImageURL, "", ""); rec.Code != 200 || rec.Header().Get("Content-Type") != "image/png" {
		t.Errorf("GET image: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	act := func(body map[string]string) (int, flowBody) {
		t.Helper()
		body["device_token"] = dev
		rec := do(h, "POST", "/api/v1/flows/"+fb.ID, "application/json", jsonBody(t, body))
		return rec.Code, decodeFlow(t, rec)
	}
	answer, err := env.Captcha.Answer(context.Background(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	wrong := "000000"
	if answer == wrong {
		wrong = "111111"
	}
	status, got := act(map[string]string{"action": "submit_captcha", "answer": wrong})
	if status != 400 || got.Next == nil || got.Next.Captcha == nil || got.Next.Captcha.ID == c.ID {
		t.Fatalf("wrong answer: %d %+v, want 400 with a new challenge", status, got.Next)
	}
	if answer, err = env.Captcha.Answer(context.Background(), got.Next.Captcha.ID); err != nil {
		t.Fatal(err)
	}
	if status, got = act(map[string]string{"action": "submit_captcha", "answer": answer}); status != 200 || got.Next == nil || got.Next.Step != flow.StepPassword {
		t.Fatalf("right answer: %d %+v, want 200 at step password", status, got.Next)
	}
	// The password was not kept: it is sent again. The device is new, so a
	// code follows.
	if status, got = act(map[string]string{"action": "submit_password", "password": pw}); status != 200 || got.Next == nil || got.Next.Step != flow.StepVerificationCode {
		t.Fatalf("password after the CAPTCHA: %d %+v", status, got.Next)
	}
}
