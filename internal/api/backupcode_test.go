package api_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/totp"
)

// TestWrongBackupCodeMessage: a wrong backup code at the second factor
// answers 400 with the flow and errors[] code_incorrect (field code) whose
// message speaks of
// backup codes, in the request's language, not of a verification code sent
// to the person.
func TestWrongBackupCodeMessage(t *testing.T) {
	h, env, _ := newTwoStepAPI(t)
	ctx := context.Background()
	a, err := env.DB.AccountByEmail(ctx, env.JP.ID, tsEmail)
	if err != nil {
		t.Fatal(err)
	}
	req := flowtest.Req("192.0.2.10", "")
	en, err := env.TwoStep.BeginTOTP(ctx, env.JP, req, a)
	if err != nil {
		t.Fatal(err)
	}
	c, err := totp.CodeAt(en.Secret, env.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.TwoStep.ProveTOTP(ctx, env.JP, req, a, en.CredentialID, c); err != nil {
		t.Fatal(err)
	}
	if _, err := env.TwoStep.RegenerateBackupCodes(ctx, env.JP, req, a); err != nil {
		t.Fatal(err)
	}

	rec := do(h, "POST", "/api/v1/signin", "application/json", jsonBody(t, map[string]string{"identifier": tsEmail, "password": pw}))
	fb := decodeFlow(t, rec)
	if rec.Code != 200 || fb.Next == nil || fb.Next.Step != "second_factor" {
		t.Fatalf("signin: %d %s; want the second factor", rec.Code, rec.Body)
	}
	rec = do(h, "POST", "/api/v1/flows/"+fb.ID, "application/json", `{"action":"switch_method","method":"backup_code"}`)
	if rec.Code != 200 {
		t.Fatalf("switch_method: %d %s", rec.Code, rec.Body)
	}
	for _, tt := range []struct{ lang, want string }{
		{"ja", "バックアップコードが正しくないか、すでに使用済みです。保存しておいたバックアップコードのうち、まだ使っていないものを1つ入力してください。"},
		{"en", "This backup code is incorrect or has already been used. Please enter one of your saved backup codes that you have not used yet."},
	} {
		rec = do(h, "POST", "/api/v1/flows/"+fb.ID+"?lang="+tt.lang, "application/json", `{"action":"submit_second_factor","code":"ZZZZZ-ZZZZZ"}`)
		var p struct {
			Errors []struct {
				Code, Field, Message string
			} `json:"errors"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
			t.Fatalf("%s: %v: %s", tt.lang, err, rec.Body)
		}
		if rec.Code != 400 || len(p.Errors) != 1 || p.Errors[0].Code != "code_incorrect" || p.Errors[0].Field != "code" || p.Errors[0].Message != tt.want {
			t.Errorf("%s: %d %s\nwant 400 code_incorrect, field code, message %q", tt.lang, rec.Code, rec.Body, tt.want)
		}
	}
}
