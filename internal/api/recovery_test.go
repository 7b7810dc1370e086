package api_test

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/api"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/recovery"
	"github.com/ninsho/ninsho/internal/recovery/recoverytest"
	"github.com/ninsho/ninsho/internal/store/storetest"
	"github.com/ninsho/ninsho/internal/totp"
)

// recoveryJSON is a recovery flow answer, read loosely.
type recoveryJSON struct {
	ID      string `json:"id"`
	Kind    string `json:"kind"`
	Status  string `json:"status"`
	Session any    `json:"session"`
	Next    *struct {
		Step string `json:"step"`
	} `json:"next"`
	Errors []struct {
		Code    string `json:"code"`
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
	Recovery *struct {
		Reference    string `json:"reference"`
		Status       string `json:"status"`
		DocumentType string `json:"document_type"`
		NeedsAddress bool   `json:"needs_address"`
		DueAt        string `json:"due_at"`
		Documents    []struct {
			Slot string `json:"slot"`
			Mime string `json:"mime"`
			Size int64  `json:"size"`
		} `json:"documents"`
	} `json:"recovery"`
}

// TestRecoveryAPI: POST /api/v1/recovery with the password of an account
// with 2SV answers the upload step and no session (the flow id is no
// bearer token for /api/v1/me); PUT …/documents/{slot} takes raw bodies
// recognised by content whatever their Content-Type — a PNG labelled
// application/pdf is a PNG, HTML labelled application/pdf is 400
// document_type_not_allowed, a zip bomb 400 document_unreadable, 10 MB + 1
// byte 413 document_too_large —; submit_documents opens the case with its
// reference and due time; a second start is 409 recovery_case_open with
// the reference; the confirmation's cancel link works once.
func TestRecoveryAPI(t *testing.T) {
	env := flowtest.New(t, storetest.MustOpenSQLite(t))
	svc := &recovery.Service{Kit: env.Kit, Realms: env.Realms, Signin: env.Signin, Gate: env.Gate, Store: env.DB, Documents: env.DB,
		Box: env.Box, Forget: env.Signin.ForgetAccount, Uploads: recovery.NewUploadGate(1)}
	env.Engine.Handlers[flow.KindRecovery] = svc
	h := api.New(api.Deps{Realms: env.Realms, Flows: env.Engine, Signup: env.Signup, Signin: env.Signin, Recovery: svc, Now: env.Clock.Now})
	ctx := context.Background()
	const email = "hanako@example.jp"
	env.MustSignUp(t, env.JP, email, pw, email)
	a, err := env.DB.AccountByEmail(ctx, "jp", email)
	if err != nil {
		t.Fatal(err)
	}
	en, err := env.TwoStep.BeginTOTP(ctx, env.JP, flowtest.Req("192.0.2.10", ""), a)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := totp.CodeAt(en.Secret, env.Clock.Now())
	if _, err := env.TwoStep.ProveTOTP(ctx, env.JP, flowtest.Req("192.0.2.10", ""), a, en.CredentialID, c); err != nil {
		t.Fatal(err)
	}
	env.Clock.Advance(time.Minute)
	read := func(body string) recoveryJSON {
		t.Helper()
		var r recoveryJSON
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		return r
	}

	rec := do(h, "POST", "/api/v1/recovery", "application/json", `{"identifier":"`+email+`","password":"wrong-password-9"}`)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), `"password_incorrect"`) {
		t.Fatalf("wrong password: %d %s", rec.Code, rec.Body)
	}
	rec = do(h, "POST", "/api/v1/recovery", "application/json", `{"identifier":"`+email+`","password":"`+pw+`"}`)
	st := read(rec.Body.String())
	if rec.Code != 200 || st.Kind != "recovery" || st.Status != "open" || st.Session != nil || st.Next == nil || st.Next.Step != "upload" ||
		st.Recovery == nil || st.Recovery.Status != "draft" || st.Recovery.Reference != "" {
		t.Fatalf("start: %d %s", rec.Code, rec.Body)
	}
	if rec := do(h, "GET", "/api/v1/me", "", "", "Authorization", "Bearer "+st.ID); rec.Code != 401 {
		t.Fatalf("/api/v1/me with the flow id: %d %s", rec.Code, rec.Body)
	}
	// The upload gate: full → 503 overloaded with Retry-After; another
	// upload to the same flow running → 409 conflict. Both at once.
	leave, err := svc.Uploads.Enter("01900000000000000000000000")
	if err != nil {
		t.Fatal(err)
	}
	rec = do(h, "PUT", "/api/v1/recovery/"+st.ID+"/documents/front?document_type=passport", "image/png", string(recoverytest.MustPNG(t)))
	if rec.Code != 503 || rec.Header().Get("Retry-After") != "5" || !strings.Contains(rec.Body.String(), `"overloaded"`) {
		t.Fatalf("gate full: %d %q %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	leave()
	owner, err := env.DB.AccountByEmail(context.Background(), "jp", email)
	if err != nil {
		t.Fatal(err)
	}
	if leave, err = svc.Uploads.Enter(owner.ID); err != nil {
		t.Fatal(err)
	}
	rec = do(h, "PUT", "/api/v1/recovery/"+st.ID+"/documents/front?document_type=passport", "image/png", string(recoverytest.MustPNG(t)))
	if rec.Code != 409 || !strings.Contains(rec.Body.String(), `"conflict"`) {
		t.Fatalf("second upload to the flow: %d %s", rec.Code, rec.Body)
	}
	leave()
	put := func(slot, query, ctype string, body []byte) (int, recoveryJSON, string) {
		t.Helper()
		rec := do(h, "PUT", "/api/v1/recovery/"+st.ID+"/documents/"+slot+query, ctype, string(body))
		var r recoveryJSON
		json.Unmarshal(rec.Body.Bytes(), &r)
		return rec.Code, r, rec.Body.String()
	}
	html := []byte("<!DOCTYPE html><html><body><script>alert(1)</script></body></html>")
	for _, c := range []struct {
		name, ctype string
		body        []byte
		status      int
		code        string
	}{
		{"html as pdf", "application/pdf", html, 400, "document_type_not_allowed"},
		{"zip bomb as docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", recoverytest.ZipBomb(t), 400, "document_unreadable"},
		{"over 10 MB", "image/png", append(recoverytest.MustPNG(t), make([]byte, recovery.MaxDocumentSize)...), 413, "document_too_large"},
	} {
		status, got, body := put("front", "?document_type=passport", c.ctype, c.body)
		if status != c.status || got.Kind != "recovery" || len(got.Errors) != 1 || got.Errors[0].Code != c.code || got.Errors[0].Field != "file" ||
			got.Recovery == nil || len(got.Recovery.Documents) != 0 {
			t.Errorf("%s: %d %s; want the flow with one refusal of file and nothing stored", c.name, status, body)
		}
	}
	// An unknown document type is told as such, not as a file format.
	if status, got, body := put("front", "?document_type=student_card", "image/png", recoverytest.MustPNG(t)); status != 400 || len(got.Errors) != 1 ||
		got.Errors[0].Code != "document_type_not_allowed" || got.Errors[0].Field != "document_type" ||
		got.Errors[0].Message != i18n.Message("ja", "error.document_type_not_allowed.document_type", nil) {
		t.Errorf("unknown document type: %d %s", status, body)
	}
	if status, _, body := put("side", "?document_type=passport", "image/png", recoverytest.MustPNG(t)); status != 404 {
		t.Errorf("unknown slot: %d %s", status, body)
	}
	status, up, body := put("front", "?document_type=passport", "application/pdf", recoverytest.MustPNG(t))
	if status != 200 || up.Recovery == nil || len(up.Recovery.Documents) != 1 || up.Recovery.Documents[0].Mime != "image/png" || !up.Recovery.NeedsAddress {
		t.Fatalf("png labelled pdf: %d %s", status, body)
	}
	rec = do(h, "POST", "/api/v1/flows/"+st.ID, "application/json", `{"action":"submit_documents"}`)
	if got := read(rec.Body.String()); rec.Code != 400 || len(got.Errors) != 1 || got.Errors[0].Code != "documents_missing" || got.Errors[0].Field != "address" {
		t.Fatalf("submit without the bill: %d %s", rec.Code, rec.Body)
	}
	if status, _, body := put("front", "?document_type=drivers_license", "", recoverytest.MinimalDOC()); status != 200 {
		t.Fatalf("a DOC licence: %d %s", status, body)
	}
	rec = do(h, "POST", "/api/v1/flows/"+st.ID, "application/json", `{"action":"submit_documents"}`)
	done := read(rec.Body.String())
	if rec.Code != 200 || done.Status != "complete" || done.Session != nil || done.Recovery == nil || !strings.HasPrefix(done.Recovery.Reference, "R-") ||
		done.Recovery.Status != "open" || done.Recovery.DueAt != env.Clock.Now().Add(48*time.Hour).UTC().Format(time.RFC3339) {
		t.Fatalf("submit: %d %s", rec.Code, rec.Body)
	}
	if rec := do(h, "GET", "/api/v1/flows/"+st.ID, "", ""); rec.Code != 200 || read(rec.Body.String()).Recovery.Reference != done.Recovery.Reference {
		t.Fatalf("view: %d %s", rec.Code, rec.Body)
	}
	rec = do(h, "POST", "/api/v1/recovery", "application/json", `{"identifier":"`+email+`","password":"`+pw+`"}`)
	if rec.Code != 409 || !strings.Contains(rec.Body.String(), `"params":{"reference":"`+done.Recovery.Reference+`"}`) {
		t.Fatalf("second case: %d %s", rec.Code, rec.Body)
	}
	var token string
	for _, m := range env.Messages(t, email) {
		if m.Template == recovery.TemplateOpened {
			token = regexp.MustCompile(`token=([A-Za-z0-9_-]+)`).FindStringSubmatch(m.Text)[1]
		}
	}
	// An empty token is field_required (field token), not a lookup.
	if rec := do(h, "POST", "/api/v1/recovery/cancel", "application/json", `{"token":""}`); rec.Code != 400 ||
		!strings.Contains(rec.Body.String(), `"code":"field_required","field":"token"`) {
		t.Fatalf("empty token: %d %s", rec.Code, rec.Body)
	}
	rec = do(h, "POST", "/api/v1/recovery/cancel", "application/json", `{"token":"`+token+`"}`)
	if rec.Code != 200 || rec.Body.String() != `{"reference":"`+done.Recovery.Reference+`","status":"cancelled"}`+"\n" {
		t.Fatalf("cancel: %d %q", rec.Code, rec.Body)
	}
	if rec := do(h, "POST", "/api/v1/recovery/cancel", "application/json", `{"token":"`+token+`"}`); rec.Code != 404 {
		t.Fatalf("cancel again: %d %s", rec.Code, rec.Body)
	}
}

// TestRecoveryAPICaptcha: after wrong passwords for the identifier,
// POST /api/v1/recovery answers 400 captcha_required with the flow held at
// the CAPTCHA — for the right password too, which is not checked; the
// CAPTCHA is solved with submit_captcha and the password sent with
// submit_password, which leads to the upload step.
func TestRecoveryAPICaptcha(t *testing.T) {
	env := flowtest.New(t, storetest.MustOpenSQLite(t))
	svc := &recovery.Service{Kit: env.Kit, Realms: env.Realms, Signin: env.Signin, Gate: env.Gate, Store: env.DB, Documents: env.DB,
		Box: env.Box, Forget: env.Signin.ForgetAccount}
	env.Engine.Handlers[flow.KindRecovery] = svc
	h := api.New(api.Deps{Realms: env.Realms, Flows: env.Engine, Signup: env.Signup, Signin: env.Signin, Recovery: svc, Now: env.Clock.Now})
	ctx := context.Background()
	const email = "hanako@example.jp"
	env.MustSignUp(t, env.JP, email, pw, email)
	a, _ := env.DB.AccountByEmail(ctx, "jp", email)
	en, err := env.TwoStep.BeginTOTP(ctx, env.JP, flowtest.Req("192.0.2.10", ""), a)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := totp.CodeAt(en.Secret, env.Clock.Now())
	if _, err := env.TwoStep.ProveTOTP(ctx, env.JP, flowtest.Req("192.0.2.10", ""), a, en.CredentialID, c); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		rec := do(h, "POST", "/api/v1/recovery", "application/json", `{"identifier":"`+email+`","password":"wrong-password-9"}`,
			"X-Forwarded-For", "198.51.100."+string(rune('1'+i)))
		if rec.Code != 400 {
			t.Fatalf("wrong password %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	rec := do(h, "POST", "/api/v1/recovery", "application/json", `{"identifier":"`+email+`","password":"`+pw+`"}`)
	var held struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Next   struct {
			Step    string `json:"step"`
			Captcha struct {
				ID string `json:"id"`
			} `json:"captcha"`
		} `json:"next"`
		Errors []struct {
			Code string `json:"code"`
		} `json:"errors"`
		DeviceToken string `json:"device_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &held); err != nil || rec.Code != 400 || held.Status != "challenge" ||
		held.Next.Step != "captcha" || held.Next.Captcha.ID == "" || len(held.Errors) == 0 || held.Errors[0].Code != "captcha_required" {
		t.Fatalf("held start: %d %s", rec.Code, rec.Body)
	}
	answer, err := env.Captcha.Answer(ctx, held.Next.Captcha.ID)
	if err != nil {
		t.Fatal(err)
	}
	rec = do(h, "POST", "/api/v1/flows/"+held.ID, "application/json", `{"action":"submit_captcha","answer":"`+answer+`"}`)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"next":{"step":"password"}`) {
		t.Fatalf("solved: %d %s", rec.Code, rec.Body)
	}
	rec = do(h, "POST", "/api/v1/flows/"+held.ID, "application/json", `{"action":"submit_password","password":"`+pw+`"}`)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"next":{"step":"upload"}`) || !strings.Contains(rec.Body.String(), `"status":"draft"`) {
		t.Fatalf("password after the CAPTCHA: %d %s", rec.Code, rec.Body)
	}
}
