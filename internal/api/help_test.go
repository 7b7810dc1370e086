package api_test

import (
	"encoding/json"
	"github.com/ninsho/ninsho/internal/i18n"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/api"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/help"
	"github.com/ninsho/ninsho/internal/startgate"
	"github.com/ninsho/ninsho/internal/store/storetest"
	"github.com/ninsho/ninsho/internal/throttle"
)

// TestSupportRequestAPI: POST /api/v1/support-requests answers 201 at the
// code step (the contact masked), the code sent to the contact completes
// the flow with next.reference and next.due_at; bad input is refused field
// by field; without a help service the route is 404.
func TestSupportRequestAPI(t *testing.T) {
	env := flowtest.New(t, storetest.MustOpenSQLite(t))
	counter := &throttle.Counter{Store: env.DB, Clock: env.Clock}
	hs := &help.Service{Kit: env.Kit, Realms: env.Realms, Store: env.DB, Counter: counter,
		Gate: &startgate.Gate{Counter: counter, Limits: map[flow.Kind]startgate.Limits{flow.KindHelp: help.StartLimits}}}
	env.Engine.Handlers[flow.KindHelp] = hs
	h := api.New(api.Deps{Realms: env.Realms, Flows: env.Engine, Signup: env.Signup, Signin: env.Signin, Help: hs, Now: env.Clock.Now})

	rec := do(h, "POST", "/api/v1/support-requests", "application/json", jsonBody(t, map[string]string{
		"identifier": "hanako@example.jp", "step": "two_step", "reference": "s-7kp4-mx3c",
		"description": "スマートフォンをなくしました", "contact": "contact@example.net", "locale": "en",
	}))
	if rec.Code != 201 {
		t.Fatalf("start: %d %s", rec.Code, rec.Body)
	}
	started := decodeFlow(t, rec)
	if started.Kind != "help_request" || started.Next == nil || started.Next.Step != "verification_code" || started.Next.Destination != "c******@e******.net" {
		t.Fatalf("started = %+v %+v", started, started.Next)
	}
	msg := env.Messages(t, "contact@example.net")[0]
	if msg.Template != "help_code" || msg.Locale != "en" {
		t.Errorf("code message %q in %q, want help_code in en", msg.Template, msg.Locale)
	}
	rec = do(h, "POST", "/api/v1/flows/"+started.ID, "application/json",
		jsonBody(t, map[string]string{"action": "submit_code", "code": msg.Code}))
	if rec.Code != 200 {
		t.Fatalf("submit_code: %d %s", rec.Code, rec.Body)
	}
	var done struct {
		Status string `json:"status"`
		Next   struct {
			Step      string    `json:"step"`
			Reference string    `json:"reference"`
			DueAt     time.Time `json:"due_at"`
		} `json:"next"`
		Session any `json:"session"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &done); err != nil {
		t.Fatal(err)
	}
	if done.Status != "complete" || done.Next.Step != "done" || !regexp.MustCompile(`^H-[A-Z0-9]{4}-[A-Z0-9]{4}$`).MatchString(done.Next.Reference) ||
		!done.Next.DueAt.Equal(env.Clock.Now().Add(48*time.Hour)) || done.Session != nil {
		t.Errorf("completed: %s", rec.Body)
	}

	rec = do(h, "POST", "/api/v1/support-requests", "application/json", jsonBody(t, map[string]string{
		"step": "anything", "reference": "<x>", "contact": "", "description": strings.Repeat("a", help.MaxDescription+1),
	}))
	if rec.Code != 400 {
		t.Fatalf("bad input: %d %s", rec.Code, rec.Body)
	}
	// Every refused field, in the form's order (contact first), the
	// reference with its own message.
	refused := func(body []byte) (fields []string, messages map[string]string) {
		var p struct {
			Errors []struct {
				Field   string `json:"field"`
				Message string `json:"message"`
			} `json:"errors"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		messages = map[string]string{}
		for _, e := range p.Errors {
			fields = append(fields, e.Field)
			messages[e.Field] = e.Message
		}
		return fields, messages
	}
	fields, messages := refused(rec.Body.Bytes())
	if got := strings.Join(fields, ","); got != "contact,step,reference,description" {
		t.Errorf("bad input: refused %s, want contact,step,reference,description", got)
	}
	if messages["reference"] != i18n.Message("ja", "error.request_invalid.reference", nil) {
		t.Errorf("bad reference: message %q, want the reference's own", messages["reference"])
	}
	rec = do(h, "POST", "/api/v1/support-requests", "application/json", `{"step":"nope","contact":"","reference":"<x>","locale":"fr"}`)
	fields, _ = refused(rec.Body.Bytes())
	if got := strings.Join(fields, ","); rec.Code != 400 || got != "contact,step,reference,locale" {
		t.Errorf("locale fr and bad fields: %d refused %s, want contact,step,reference,locale", rec.Code, got)
	}
	// A long identifier hides none of the others (found from outside).
	rec = do(h, "POST", "/api/v1/support-requests", "application/json", `{"identifier":"`+strings.Repeat("a", 321)+`","step":"nope","contact":"","reference":"<x>","locale":"fr"}`)
	fields, _ = refused(rec.Body.Bytes())
	if got := strings.Join(fields, ","); rec.Code != 400 || got != "contact,step,identifier,reference,locale" {
		t.Errorf("long identifier and bad fields: %d refused %s, want contact,step,identifier,reference,locale", rec.Code, got)
	}
	rec = do(h, "POST", "/api/v1/support-requests", "application/json", `{"step":"other","contact":"a@example.net","locale":"fr"}`)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), `"field":"locale"`) {
		t.Errorf("locale fr: %d %s", rec.Code, rec.Body)
	}

	// A wrong code tells the attempts left, as in every code step.
	env.Clock.Advance(time.Minute)
	rec = do(h, "POST", "/api/v1/support-requests", "application/json", `{"step":"other","contact":"wrong@example.net"}`)
	if rec.Code != 201 {
		t.Fatalf("second start: %d %s", rec.Code, rec.Body)
	}
	second := decodeFlow(t, rec)
	rec = do(h, "POST", "/api/v1/flows/"+second.ID, "application/json", `{"action":"submit_code","code":"000000"}`)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), `"code_incorrect"`) || !strings.Contains(rec.Body.String(), `"attempts_left":4`) {
		t.Errorf("wrong code: %d %s, want code_incorrect with attempts_left 4", rec.Code, rec.Body)
	}

	none := api.New(api.Deps{Realms: env.Realms, Flows: env.Engine, Signup: env.Signup, Signin: env.Signin, Now: env.Clock.Now})
	if rec := do(none, "POST", "/api/v1/support-requests", "application/json", `{}`); rec.Code != 404 {
		t.Errorf("without a help service: %d, want 404", rec.Code)
	}
}
