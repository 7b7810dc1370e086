package flowtest_test

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/help"
	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/startgate"
	"github.com/ninsho/ninsho/internal/throttle"
)

// recordedEvents keeps every event appended through it, as well as storing
// it.
type recordedEvents struct {
	event.Store
	mu  sync.Mutex
	all []*event.Event
}

func (r *recordedEvents) AppendEvent(ctx context.Context, e *event.Event) error {
	r.mu.Lock()
	r.all = append(r.all, e)
	r.mu.Unlock()
	return r.Store.AppendEvent(ctx, e)
}

func (r *recordedEvents) types() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.all {
		out = append(out, e.Type)
	}
	return out
}

// helpService builds the help service on e (its own copy of the kit, whose
// events are recorded) and registers it with e's flow engine.
func helpService(e *flowtest.Env) (*help.Service, *recordedEvents) {
	kit := *e.Kit
	rec := &recordedEvents{Store: e.DB}
	kit.Events = rec
	counter := &throttle.Counter{Store: e.DB, Clock: e.Clock}
	s := &help.Service{Kit: &kit, Realms: e.Realms, Store: e.DB, Counter: counter,
		Gate: &startgate.Gate{Counter: counter, Limits: map[flow.Kind]startgate.Limits{flow.KindHelp: help.StartLimits}}}
	e.Engine.Handlers[flow.KindHelp] = s
	return s, rec
}

var helpRefPattern = regexp.MustCompile(`^H-[ACDEFHJKMNPRTWXY3479]{4}-[ACDEFHJKMNPRTWXY3479]{4}$`)

// askHelp starts a request from ip for contact and confirms it with the code
// sent there; it returns the completed answer.
func askHelp(t *testing.T, e *flowtest.Env, rl *realm.Realm, ip string, in help.Input) *flow.Answer {
	t.Helper()
	s := e.Engine.Handlers[flow.KindHelp].(*help.Service)
	ctx := context.Background()
	ans, err := s.Start(ctx, rl, flowtest.Req(ip, ""), in)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	code := e.LastCode(t, in.Contact)
	done, err := e.Engine.Act(ctx, rl.ID, ans.Flow.ID, flowtest.Req(ip, ans.DeviceToken), flow.Action{Name: flow.ActionSubmitCode, Code: code})
	if err != nil || done.Next == nil || done.Next.Step != flow.StepDone {
		t.Fatalf("submit_code: %+v, %v; want step done", done, err)
	}
	return done
}

// TestHelpRequestFromStartToAnswer: a request names the identifier tried
// (an account's), the step, a suspension's reference typed loosely and a
// description; the code goes to the new contact address and nothing to the
// account's; a wrong code counts; the right one creates the request, linked
// to the account, with an H- reference due in 48 hours, and the contact gets
// the confirmation. Staff see it in the queue, answer (the answer goes to the
// contact), and close it; events carry neither the description nor the
// contact.
func TestHelpRequestFromStartToAnswer(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		s, rec := helpService(e)
		e.MustSignUp(t, e.JP, "hanako@example.jp", "kumo-no-ue-42", "hanako@example.jp")
		before := len(e.Messages(t, "hanako@example.jp"))
		desc := "コードが届きません。<script>alert(1)</script>"
		ans, err := s.Start(ctx, e.JP, flowtest.Req("198.51.100.7", ""), help.Input{
			Identifier: " ＨＡＮＡＫＯ@example.jp", Step: "code_not_received", Ref: "s 7kp4 mx3c",
			Description: desc, Contact: "new-address@example.net",
		})
		if err != nil || ans.Next.Step != flow.StepVerificationCode || ans.Next.Destination == "" || ans.Flow.Kind != flow.KindHelp {
			t.Fatalf("Start = %+v, %v; want a code step", ans, err)
		}
		msgs := e.Messages(t, "new-address@example.net")
		if len(msgs) != 1 || msgs[0].Template != "help_code" || msgs[0].Code == "" {
			t.Fatalf("messages to the contact: %d, want one help_code", len(msgs))
		}
		if n := len(e.Messages(t, "hanako@example.jp")); n != before {
			t.Errorf("the account's own address got %d new messages, want none", n-before)
		}
		req := flowtest.Req("198.51.100.7", ans.DeviceToken)
		act := func(a flow.Action) (*flow.Answer, error) { return e.Engine.Act(ctx, "jp", ans.Flow.ID, req, a) }
		wrong, err := act(flow.Action{Name: flow.ActionSubmitCode, Code: "000000"})
		flowtest.WantCode(t, err, ninsho.CodeCodeIncorrect)
		if wrong.Next.AttemptsLeft != 4 {
			t.Errorf("attempts left after a wrong code: %d, want 4", wrong.Next.AttemptsLeft)
		}
		e.Clock.Advance(time.Minute)
		done, err := act(flow.Action{Name: flow.ActionSubmitCode, Code: msgs[0].Code})
		if err != nil || done.Flow.Status != flow.StatusComplete || done.Session != nil {
			t.Fatalf("right code: %+v, %v; want complete without a session", done, err)
		}
		ref := done.Next.Reference
		if !helpRefPattern.MatchString(ref) || done.Next.DueAt == nil || !done.Next.DueAt.Equal(e.Clock.Now().Add(48*time.Hour).Truncate(time.Second)) {
			t.Fatalf("answer: reference %q due %v; want an H- reference due in 48 h", ref, done.Next.DueAt)
		}
		conf := e.Messages(t, "new-address@example.net")[0]
		if conf.Template != "help_received" || !strings.Contains(conf.Text, ref) || !strings.Contains(conf.Text, "2026-11-27 18:01 JST") {
			t.Errorf("confirmation: %q without %s", conf.Template, ref)
		}
		r, err := s.Request(ctx, strings.ToLower(ref))
		if err != nil {
			t.Fatalf("Request: %v", err)
		}
		acct, _ := e.DB.AccountByEmail(ctx, "jp", "hanako@example.jp")
		if r.AccountID != acct.ID || r.Identifier != "hanako@example.jp" || r.Step != help.StepCodeNotReceived ||
			r.QuotedRef != "S-7KP4-MX3C" || r.Description != desc || r.Contact != "new-address@example.net" || r.Status != help.StatusOpen {
			t.Errorf("stored request: %+v", r)
		}
		q, err := s.Queue(ctx, e.Clock.Now(), 10)
		if err != nil || len(q) != 1 || q[0].Ref != ref {
			t.Errorf("Queue: %v, %v; want the request", q, err)
		}
		if n, _ := s.OverdueCount(ctx, e.Clock.Now().Add(49*time.Hour)); n != 1 {
			t.Errorf("OverdueCount after 49 h: %d, want 1", n)
		}
		if mine, _ := s.ForAccount(ctx, "jp", acct.ID); len(mine) != 1 || mine[0].Ref != ref {
			t.Errorf("ForAccount: %v, want the request", mine)
		}
		staff := ninsho.Request{IP: "203.0.113.9", RequestID: "req-staff"}
		if _, err := s.Answer(ctx, "account:"+acct.ID, staff, ref, "x", false); err == nil {
			t.Errorf("Answer by a customer actor: no error")
		}
		a, err := s.Answer(ctx, "staff:7", staff, ref, "電話番号でログインしてください。\n<b>太字ではありません</b>", false)
		if err != nil {
			t.Fatalf("Answer: %v", err)
		}
		got := e.Messages(t, "new-address@example.net")[0]
		if got.Template != "help_answer" || got.ID != a.MessageID || !strings.Contains(got.Text, "<b>太字ではありません</b>") ||
			strings.Contains(got.HTML, "<b>太字") || !strings.Contains(got.Text, ref) {
			t.Errorf("answer message %q: text %q html escapes? %v", got.Template, got.Text, !strings.Contains(got.HTML, "<b>太字"))
		}
		if _, err := s.Answer(ctx, "staff:7", staff, ref, strings.Repeat("あ", help.MaxAnswer+1), false); !ninsho.IsCode(err, ninsho.CodeFieldTooLong) {
			t.Errorf("Answer too long: %v, want field_too_long", err)
		}
		if err := s.Close(ctx, "staff:7", staff, ref, ""); !ninsho.IsCode(err, ninsho.CodeFieldRequired) {
			t.Errorf("Close without a reason: %v, want field_required", err)
		}
		if err := s.Close(ctx, "staff:7", staff, ref, "答えました"); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if _, err := s.Answer(ctx, "staff:7", staff, ref, "また", false); !ninsho.IsCode(err, ninsho.CodeConflict) {
			t.Errorf("Answer a closed request: %v, want conflict", err)
		}
		r, _ = s.Request(ctx, ref)
		if len(r.Answers) != 1 || r.Answers[0].Actor != "staff:7" || r.Status != help.StatusClosed || r.CloseReason != "答えました" {
			t.Errorf("after answer and close: %+v", r)
		}
		if q, _ := s.Queue(ctx, e.Clock.Now(), 10); len(q) != 0 {
			t.Errorf("Queue after close: %d, want 0", len(q))
		}
		wantTypes := "help.started help.confirmed help.answered help.closed"
		if got := strings.Join(rec.types(), " "); !strings.Contains(got, wantTypes) {
			t.Errorf("events %q, want %q", got, wantTypes)
		}
		for _, ev := range rec.all {
			b, _ := json.Marshal(ev.Data)
			if strings.Contains(string(b), "new-address") || strings.Contains(string(b), "コード") || strings.Contains(string(b), "太字") {
				t.Errorf("event %s carries the contact or free text: %s", ev.Type, b)
			}
			switch ev.Type {
			case help.TypeAnswered, help.TypeClosed:
				if ev.Actor != "staff:7" || ev.IP != "203.0.113.9" {
					t.Errorf("event %s by %q from %q, want staff:7 from 203.0.113.9", ev.Type, ev.Actor, ev.IP)
				}
			default:
				if ev.Actor != "anonymous" {
					t.Errorf("event %s by %q, want anonymous", ev.Type, ev.Actor)
				}
			}
		}
		// Purge: nothing before the retention, the request after it.
		if n, _ := s.Purge(ctx); n != 0 {
			t.Errorf("Purge right after closing: %d, want 0", n)
		}
		e.Clock.Advance(help.DefaultRetention + time.Hour)
		if n, _ := s.Purge(ctx); n != 1 {
			t.Errorf("Purge after the retention: %d, want 1", n)
		}
	})
}

// TestHelpLinkedAndUnlinkedAlike: in both realms a request that names an
// account's identifier and one that names nobody's get the same answer, the
// same messages and the same events; only the stored link differs.
func TestHelpLinkedAndUnlinkedAlike(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		s, rec := helpService(e)
		e.MustSignUp(t, e.JP, "hanako@example.jp", "kumo-no-ue-42", "hanako@example.jp")
		e.MustSignUp(t, e.Safe, "hanako@example.com", "kumo-no-ue-42", "hanako@example.com")
		for _, rl := range []*realm.Realm{e.JP, e.Safe} {
			known := map[string]string{"jp": "hanako@example.jp", "safe": "hanako@example.com"}[rl.ID]
			var shapes []string
			var links []bool
			for i, ident := range []string{known, "nobody@example.jp"} {
				n := len(rec.types())
				contact := rl.ID + "-contact" + string(rune('a'+i)) + "@example.net"
				done := askHelp(t, e, rl, "198.51.100."+string(rune('1'+i)), help.Input{Identifier: ident, Step: "locked", Contact: contact})
				b, _ := json.Marshal(done.Next)
				shape := regexp.MustCompile(`H-[A-Z0-9]{4}-[A-Z0-9]{4}`).ReplaceAllString(string(b), "REF")
				msgs := e.Messages(t, contact)
				var tpl []string
				for _, m := range msgs {
					tpl = append(tpl, m.Template)
				}
				shapes = append(shapes, shape+" "+strings.Join(tpl, ",")+" "+strings.Join(rec.types()[n:], ","))
				r, err := s.Request(ctx, done.Next.Reference)
				if err != nil {
					t.Fatal(err)
				}
				links = append(links, r.AccountID != "")
			}
			if shapes[0] != shapes[1] {
				t.Errorf("%s: linked and unlinked differ:\n%s\n%s", rl.ID, shapes[0], shapes[1])
			}
			if !links[0] || links[1] {
				t.Errorf("%s: linked = %v, want [true false]", rl.ID, links)
			}
		}
	})
}

// TestHelpInputRefusals: every bad field is refused at once, in the order
// of the form (contact, step, identifier, reference, description), and
// nothing is sent or counted.
func TestHelpInputRefusals(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		s, _ := helpService(e)
		_, err := s.Start(context.Background(), e.JP, flowtest.Req("198.51.100.7", ""), help.Input{
			Step: "everything", Ref: "<script>", Description: strings.Repeat("字", help.MaxDescription+1), Contact: "not an address",
		})
		// In the form's order: contact first.
		flowtest.WantRefusals(t, err, "identifier_invalid/contact", "request_invalid/step", "request_invalid/reference", "field_too_long/description")
		_, err = s.Start(context.Background(), e.JP, flowtest.Req("198.51.100.7", ""), help.Input{Contact: "a@example.net"})
		flowtest.WantRefusals(t, err, "field_required/step")
		// A code by text message goes only to a mobile number: never to a
		// satellite, free-phone, premium-rate number or a landline (SMS
		// pumping), as at sign-up.
		for contact, want := range map[string]string{
			"+881612345678":   "phone_number_not_allowed/contact",
			"0120-123-456":    "phone_number_not_allowed/contact",
			"+1 900 555 0199": "phone_number_not_allowed/contact",
			"03-1234-5678":    "phone_not_mobile/contact",
		} {
			_, err = s.Start(context.Background(), e.JP, flowtest.Req("198.51.100.7", ""), help.Input{Step: "other", Contact: contact})
			flowtest.WantRefusals(t, err, want)
		}
		if n := len(e.Messages(t, "")); n != 0 {
			t.Fatalf("%d messages sent to refused contacts", n)
		}
		// This form takes mobile numbers only: its refusal says so, never
		// "or home phone number".
		if msg := i18n.FieldErrorMessage("en", ninsho.FieldError(ninsho.CodePhoneNumberNotAllowed, "contact")); strings.Contains(msg, "home") {
			t.Errorf("phone_number_not_allowed on contact says %q", msg)
		}
		// A request id from an error page is a reference too.
		if got := help.QuotedRef(" 01A2107B-0C3D-7E4F-8A9B-0C1D2E3F4A5B "); got != "01a2107b-0c3d-7e4f-8a9b-0c1d2e3f4a5b" {
			t.Errorf("QuotedRef(request id) = %q", got)
		}
	})
}

// TestHelpCapsAndResend: a contact gets at most ContactStartsPerHour starts
// an hour and MaxOpenPerContact open requests; a client address at most
// StartLimits.PerAddress starts; a resend waits for the cool-down and its
// code works.
func TestHelpCapsAndResend(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		s, _ := helpService(e)
		in := help.Input{Step: "other", Contact: "caps@example.net"}
		ans, err := s.Start(ctx, e.JP, flowtest.Req("198.51.100.7", ""), in)
		if err != nil {
			t.Fatal(err)
		}
		req := flowtest.Req("198.51.100.7", ans.DeviceToken)
		_, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionResendCode})
		flowtest.WantCode(t, err, ninsho.CodeResendTooSoon)
		e.Clock.Advance(31 * time.Second)
		if _, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionResendCode}); err != nil {
			t.Fatalf("resend after the cool-down: %v", err)
		}
		code := e.LastCode(t, "caps@example.net")
		if done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCode, Code: code}); err != nil || done.Next.Reference == "" {
			t.Fatalf("the resent code: %v", err)
		}
		for range help.ContactStartsPerHour - 1 {
			askHelp(t, e, e.JP, "198.51.100.8", in)
		}
		_, err = s.Start(ctx, e.JP, flowtest.Req("198.51.100.9", ""), in)
		flowtest.WantCode(t, err, ninsho.CodeRateLimited)
		// An hour later the hourly cap is free again, but three requests
		// are open.
		e.Clock.Advance(61 * time.Minute)
		_, err = s.Start(ctx, e.JP, flowtest.Req("198.51.100.9", ""), in)
		flowtest.WantCode(t, err, ninsho.CodeRateLimited)
		q, _ := s.Queue(ctx, e.Clock.Now(), 10)
		if len(q) != help.MaxOpenPerContact {
			t.Fatalf("open requests: %d, want %d", len(q), help.MaxOpenPerContact)
		}
		if err := s.Close(ctx, "staff:1", ninsho.Request{}, q[0].Ref, "重複"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Start(ctx, e.JP, flowtest.Req("198.51.100.9", ""), in); err != nil {
			t.Errorf("after closing one: %v, want a start", err)
		}
		// Per client address, whatever the contact.
		for i := range help.StartLimits.PerAddress {
			_, err := s.Start(ctx, e.JP, flowtest.Req("203.0.113.50", ""), help.Input{Step: "other", Contact: "addr" + string(rune('a'+i)) + "@example.net"})
			if err != nil {
				t.Fatalf("start %d from one address: %v", i+1, err)
			}
		}
		_, err = s.Start(ctx, e.JP, flowtest.Req("203.0.113.50", ""), help.Input{Step: "other", Contact: "addr-last@example.net"})
		flowtest.WantCode(t, err, ninsho.CodeRateLimited)
	})
}
