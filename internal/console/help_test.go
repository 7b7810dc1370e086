package console_test

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/console"
	"github.com/ninsho/ninsho/internal/desk"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/help"
	"github.com/ninsho/ninsho/internal/httperr"
	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/staff"
	"github.com/ninsho/ninsho/internal/startgate"
	"github.com/ninsho/ninsho/internal/throttle"
)

// recorder keeps every event appended through it, as well as storing it.
type recorder struct {
	event.Store
	mu  sync.Mutex
	all []*event.Event
}

func (r *recorder) AppendEvent(ctx context.Context, e *event.Event) error {
	r.mu.Lock()
	r.all = append(r.all, e)
	r.mu.Unlock()
	return r.Store.AppendEvent(ctx, e)
}

func (r *recorder) of(typ string) []*event.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*event.Event
	for _, e := range r.all {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// helpEnv is the console with the help queue, the help service's events
// recorded.
type helpEnv struct {
	*env
	Help   *help.Service
	events *recorder
}

func newHelpEnv(t *testing.T, fe *flowtest.Env) *helpEnv {
	t.Helper()
	e := newEnv(t, fe)
	kit := *e.Kit
	rec := &recorder{Store: e.DB}
	kit.Events = rec
	counter := &throttle.Counter{Store: e.DB, Clock: e.Clock}
	hs := &help.Service{Kit: &kit, Realms: e.Realms, Store: e.DB, Counter: counter,
		Gate: &startgate.Gate{Counter: counter, Limits: map[flow.Kind]startgate.Limits{flow.KindHelp: help.StartLimits}}}
	e.Engine.Handlers[flow.KindHelp] = hs
	e.Desk.Sources = []desk.Source{hs}
	e.Desk.Finders = []desk.Finder{hs}
	c, err := console.New(console.Deps{Staff: e.Staff, Desk: e.Desk, Realms: e.Realms, Help: hs, Now: e.Clock.Now,
		Overdue: []console.OverdueCounter{{Name: "help", Href: "/console/help", Perm: staff.PermHelpRequests, Count: hs.OverdueCount}}})
	if err != nil {
		t.Fatal(err)
	}
	e.Console = c
	return &helpEnv{env: e, Help: hs, events: rec}
}

// ask makes a confirmed help request with the code sent to in.Contact and
// returns its reference.
func (e *helpEnv) ask(t *testing.T, in help.Input) string {
	t.Helper()
	ctx := context.Background()
	ans, err := e.Help.Start(ctx, e.JP, flowtest.Req("198.51.100.7", ""), in)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	code := e.LastCode(t, in.Contact)
	done, err := e.Engine.Act(ctx, e.JP.ID, ans.Flow.ID, flowtest.Req("198.51.100.7", ans.DeviceToken), flowActCode(code))
	if err != nil || done.Next == nil || done.Next.Reference == "" {
		t.Fatalf("submit_code: %+v, %v", done, err)
	}
	return done.Next.Reference
}

// signUp makes an account of ident in the realm jp and returns its id.
func (e *helpEnv) signUp(t *testing.T, ident string) string {
	t.Helper()
	e.MustSignUp(t, e.JP, ident, "sakura-fubuki-2026", ident)
	a, err := e.DB.AccountByEmail(context.Background(), e.JP.ID, ident)
	if err != nil {
		t.Fatal(err)
	}
	return a.ID
}

// withRequestID serves h with a request id, as the server's middleware
// gives every request.
func withRequestID(h http.Handler, id string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(httperr.WithRequestID(r.Context(), id)))
	})
}

// TestHelpQueue: the queue lists open requests the earliest due first, the
// overdue one marked, the contact masked and the linked account linked;
// every console page shows the overdue count to staff who work on help
// requests.
func TestHelpQueue(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, fe *flowtest.Env) {
		e := newHelpEnv(t, fe)
		accountID := e.signUp(t, "hanako@example.jp")
		_, key := mustStaff(t, e.env, "agent@example.jp", staff.RoleAgent)
		first := e.ask(t, help.Input{Identifier: "hanako@example.jp", Step: "two_step", Contact: "first-contact@example.net"})
		e.Clock.Advance(2 * time.Hour)
		second := e.ask(t, help.Input{Step: "other", Contact: "second-contact@example.net"})
		agent := signIn(t, e.env, "agent@example.jp", key)

		w := agent.do("GET", "/console", nil)
		if strings.Contains(w.Body.String(), "data-overdue=") {
			t.Errorf("overdue banner before anything is overdue")
		}
		// 48 hours after the first request: it is overdue, the second not.
		e.Clock.Advance(47 * time.Hour)
		agent = signIn(t, e.env, "agent@example.jp", key) // a console session lasts 8 hours
		for _, p := range []string{"/console", "/console/help", "/console/help/" + second} {
			w := agent.do("GET", p, nil)
			want := template.HTMLEscapeString(i18n.Message("en", "console.overdue.help", map[string]any{"count": 1}))
			if w.Code != 200 || !strings.Contains(w.Body.String(), want) || !strings.Contains(w.Body.String(), `data-overdue="1"`) {
				t.Errorf("GET %s: %d, want the banner %q", p, w.Code, want)
			}
		}
		w = agent.do("GET", "/console/help", nil)
		body := w.Body.String()
		i, j := strings.Index(body, `data-ref="`+first+`" data-overdue="true"`), strings.Index(body, `data-ref="`+second+`">`)
		if i < 0 || j < 0 || i > j {
			t.Fatalf("queue: first (overdue) at %d, second at %d; want the overdue one first and marked\n%s", i, j, body)
		}
		if strings.Contains(body, "first-contact@example.net") || strings.Contains(body, "second-contact@example.net") {
			t.Errorf("the queue shows a contact in the clear")
		}
		if !strings.Contains(body, `href="/console/accounts/`+accountID+`"`) {
			t.Errorf("the queue does not link the linked account")
		}
		if !strings.Contains(body, "Two-step") && !strings.Contains(body, i18n.Message("en", "help_request.step.two_step", nil)) {
			t.Errorf("the queue does not name the step")
		}
		// In Japanese too.
		agent.lang = "ja"
		w = agent.do("GET", "/console/help", nil)
		if w.Code != 200 || !strings.Contains(w.Body.String(), i18n.Message("ja", "console.help.title", nil)) ||
			!strings.Contains(w.Body.String(), i18n.Message("ja", "console.overdue.help", map[string]any{"count": 1})) {
			t.Errorf("Japanese queue: %d", w.Code)
		}
	})
}

// TestHelpAnswerAndClose: an agent reads a request (what the person wrote
// escaped, the proved contact, the quoted reference linked to a search),
// answers it (the answer reaches the contact through the outbox) and
// closes another with a written reason; an empty answer or reason is
// refused; every action is an event with the staff actor, the address,
// browser and request id.
func TestHelpAnswerAndClose(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, fe *flowtest.Env) {
		e := newHelpEnv(t, fe)
		accountID := e.signUp(t, "hanako@example.jp")
		agentStaff, key := mustStaff(t, e.env, "agent@example.jp", staff.RoleAgent)
		desc := "コードが届きません。\n<script>alert(1)</script>"
		ref := e.ask(t, help.Input{Identifier: "hanako@example.jp", Step: "code_not_received", Ref: "s 7kp4 mx3c",
			Description: desc, Contact: "new-address@example.net"})
		other := e.ask(t, help.Input{Step: "other", Contact: "other@example.net"})
		agent := signIn(t, e.env, "agent@example.jp", key)
		agent.h = withRequestID(e.Console, "0192f1e2-3a4b-7c5d-8e6f-0a1b2c3d4e5f")

		w := agent.do("GET", "/console/help/"+url.PathEscape(strings.ToLower(strings.ReplaceAll(ref, "-", " "))), nil)
		body := w.Body.String()
		if w.Code != 200 {
			t.Fatalf("request page: %d\n%s", w.Code, body)
		}
		if strings.Contains(body, "<script>alert") || !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") || !strings.Contains(body, "コードが届きません。") {
			t.Errorf("the description is not shown escaped\n%s", body)
		}
		if !strings.Contains(body, "new-address@example.net") {
			t.Errorf("the request page does not show the proved contact")
		}
		if !strings.Contains(body, `href="/console/accounts?q=S-7KP4-MX3C"`) {
			t.Errorf("the quoted reference is not a search link")
		}
		if !strings.Contains(body, `href="/console/accounts/`+accountID+`"`) {
			t.Errorf("the request page does not link the account")
		}

		// An answer needs a text.
		w = agent.do("POST", "/console/help/"+ref+"/answer", url.Values{"text": {"  "}})
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `href="#text"`) || !strings.Contains(w.Body.String(), `required aria-invalid="true"`) {
			t.Errorf("empty answer: %d, want 400 field_required on text", w.Code)
		}
		before := len(e.Messages(t, "new-address@example.net"))
		answer := "新しいアドレスを登録しました。<b>ログイン</b>をお試しください。"
		w = agent.do("POST", "/console/help/"+ref+"/answer", url.Values{"text": {answer}})
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/console/help/"+ref+"?done=answer" {
			t.Fatalf("answer: %d %s\n%s", w.Code, w.Header().Get("Location"), w.Body.String())
		}
		msgs := e.Messages(t, "new-address@example.net")
		if len(msgs) != before+1 || msgs[0].Template != help.TemplateAnswer || !strings.Contains(msgs[0].Text, "新しいアドレスを登録しました。") ||
			!strings.Contains(msgs[0].Text, ref) {
			t.Fatalf("answer delivered: %d new messages, newest %+v", len(msgs)-before, msgs[0])
		}
		if n := len(e.Messages(t, "hanako@example.jp")); n != 1 {
			t.Errorf("the account's own address got %d messages, want only its sign-up code", n)
		}
		w = agent.do("GET", "/console/help/"+ref+"?done=answer", nil)
		if !strings.Contains(w.Body.String(), "&lt;b&gt;ログイン&lt;/b&gt;") || !strings.Contains(w.Body.String(), "staff:"+agentStaff.ID) {
			t.Errorf("the answer is not listed escaped with who sent it")
		}
		ev := e.events.of(help.TypeAnswered)
		if len(ev) != 1 || ev[0].Actor != "staff:"+agentStaff.ID || ev[0].IP != "192.0.2.44" || ev[0].UserAgent != flowtest.BrowserUA ||
			ev[0].RequestID != "0192f1e2-3a4b-7c5d-8e6f-0a1b2c3d4e5f" || ev[0].AccountID != accountID || ev[0].At.IsZero() {
			t.Fatalf("help.answered events: %+v", ev)
		}
		for _, e := range ev {
			for k, v := range e.Data {
				if s, ok := v.(string); ok && strings.Contains(s, "新しい") {
					t.Errorf("the event carries the answer in %s", k)
				}
			}
		}

		// Closing needs a reason; with one, the request leaves the queue.
		w = agent.do("POST", "/console/help/"+other+"/close", url.Values{"reason": {""}})
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `href="#reason"`) {
			t.Errorf("close without a reason: %d, want 400", w.Code)
		}
		w = agent.do("POST", "/console/help/"+other+"/close", url.Values{"reason": {"a duplicate of " + ref}})
		if w.Code != http.StatusSeeOther {
			t.Fatalf("close: %d\n%s", w.Code, w.Body.String())
		}
		cl := e.events.of(help.TypeClosed)
		if len(cl) != 1 || cl[0].Actor != "staff:"+agentStaff.ID || cl[0].Data["reason"] != "a duplicate of "+ref || cl[0].IP != "192.0.2.44" || cl[0].RequestID == "" {
			t.Fatalf("help.closed events: %+v", cl)
		}
		closedWords := template.HTMLEscapeString(i18n.Message("en", "error.conflict.closed", nil))
		if w := agent.do("POST", "/console/help/"+other+"/answer", url.Values{"text": {"late"}}); w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), closedWords) {
			t.Errorf("answer to a closed request: %d, want 409 saying it is closed", w.Code)
		}
		if w := agent.do("POST", "/console/help/"+other+"/close", url.Values{"reason": {"again"}}); w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), closedWords) {
			t.Errorf("close a closed request: %d, want 409 saying it is closed", w.Code)
		}
		// Answer and close at once.
		w = agent.do("POST", "/console/help/"+ref+"/answer", url.Values{"text": {"もう一度お試しください。"}, "close": {"1"}})
		if w.Code != http.StatusSeeOther {
			t.Fatalf("answer and close: %d", w.Code)
		}
		x, err := e.Help.Request(context.Background(), ref)
		if err != nil || x.Status != help.StatusClosed || x.CloseReason != "answered" || len(x.Answers) != 2 {
			t.Fatalf("after answer and close: %+v %v", x, err)
		}
		// The page words the closing, not the stored reason's code.
		page := agent.do("GET", "/console/help/"+ref, nil).Body.String()
		if want := template.HTMLEscapeString(i18n.Message("en", "console.help.closed_answered", nil)); !strings.Contains(page, want) || strings.Contains(page, ": answered<") {
			t.Errorf("closed with the answer: the page does not say %q", want)
		}
		body = agent.do("GET", "/console/help", nil).Body.String()
		if strings.Contains(body, ref) || strings.Contains(body, other) {
			t.Errorf("closed requests still in the queue")
		}
		if w := agent.do("GET", "/console/help/H-AAAA-AAAA", nil); w.Code != http.StatusNotFound {
			t.Errorf("unknown request: %d, want 404", w.Code)
		}
	})
}

// TestHelpQueueNeedsConsoleSession: no session and a customer's session
// reach no help page; they go to the console's sign-in.
func TestHelpQueueNeedsConsoleSession(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, fe *flowtest.Env) {
		e := newHelpEnv(t, fe)
		e.MustSignUp(t, e.JP, "hanako@example.jp", "sakura-fubuki-2026", "hanako@example.jp")
		ref := e.ask(t, help.Input{Identifier: "hanako@example.jp", Step: "locked", Contact: "me@example.net"})
		ans, _ := e.Signin.Start(context.Background(), e.JP, flowtest.Req("192.0.2.10", ""), signin.Input{Identifier: "hanako@example.jp", Password: "sakura-fubuki-2026"})
		for _, withCustomer := range []bool{false, true} {
			b := newBrowser(t, e.Console)
			if withCustomer {
				b.cookies["ninsho_session"] = &http.Cookie{Name: "ninsho_session", Value: "any-customer-session-token"}
				if ans != nil && ans.Session != nil {
					b.cookies["ninsho_session"].Value = ans.Session.Token
				}
			}
			for _, p := range []string{"/console/help", "/console/help/" + ref} {
				if w := b.do("GET", p, nil); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/console/signin" {
					t.Errorf("GET %s (customer session %v): %d %s, want 303 to sign-in", p, withCustomer, w.Code, w.Header().Get("Location"))
				}
			}
			for _, a := range []string{"answer", "close"} {
				if w := b.do("POST", "/console/help/"+ref+"/"+a, url.Values{"text": {"x"}, "reason": {"x"}}); w.Code != http.StatusSeeOther {
					t.Errorf("POST %s (customer session %v): %d, want 303", a, withCustomer, w.Code)
				}
			}
		}
		x, err := e.Help.Request(context.Background(), ref)
		if err != nil || x.Status != help.StatusOpen || len(x.Answers) != 0 {
			t.Errorf("after the refused posts: %+v %v, want open without answers", x, err)
		}
		if n := len(e.events.of(help.TypeAnswered)) + len(e.events.of(help.TypeClosed)); n != 0 {
			t.Errorf("%d staff events without a console session", n)
		}
	})
}

// TestHelpSearchAndTimeline: an H-… reference finds the linked account
// (and links its request); a request linked to no account opens directly;
// the account's timeline shows its requests.
func TestHelpSearchAndTimeline(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, fe *flowtest.Env) {
		e := newHelpEnv(t, fe)
		accountID := e.signUp(t, "hanako@example.jp")
		_, key := mustStaff(t, e.env, "agent@example.jp", staff.RoleAgent)
		linked := e.ask(t, help.Input{Identifier: "hanako@example.jp", Step: "suspended", Contact: "me@example.net"})
		unlinked := e.ask(t, help.Input{Identifier: "nobody@example.jp", Step: "other", Contact: "you@example.net"})
		ctx := context.Background()
		if id, ok, err := e.Help.FindReference(ctx, linked, 'H'); err != nil || !ok || id != accountID {
			t.Errorf("FindReference(linked) = %q %v %v", id, ok, err)
		}
		if _, ok, err := e.Help.FindReference(ctx, unlinked, 'H'); err != nil || ok {
			t.Errorf("FindReference(unlinked) = %v %v, want not found", ok, err)
		}
		if _, ok, err := e.Help.FindReference(ctx, "S-7KP4-MX3C", 'S'); err != nil || ok {
			t.Errorf("FindReference(another kind) = %v %v", ok, err)
		}
		agent := signIn(t, e.env, "agent@example.jp", key)
		loose := strings.ToLower(strings.ReplaceAll(linked, "-", ""))
		w := agent.do("GET", "/console/accounts?q="+url.QueryEscape(loose), nil)
		if w.Code != 200 || !strings.Contains(w.Body.String(), `href="/console/accounts/`+accountID+`"`) ||
			!strings.Contains(w.Body.String(), `href="/console/help/`+linked+`"`) {
			t.Errorf("search %s: %d, want the account and the request\n%s", loose, w.Code, w.Body.String())
		}
		w = agent.do("GET", "/console/accounts?q="+url.QueryEscape(unlinked), nil)
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/console/help/"+unlinked {
			t.Errorf("search of an unlinked request: %d %s, want 303 to its page", w.Code, w.Header().Get("Location"))
		}
		if w := agent.do("GET", "/console/accounts?q=H-AAAA-AAAA", nil); w.Code != 200 || !strings.Contains(w.Body.String(), "No account found") {
			t.Errorf("search of an unknown request: %d", w.Code)
		}
		// The timeline.
		if _, err := e.Help.Answer(ctx, "staff:test", flowtest.Req("192.0.2.44", ""), linked, "お調べします。", false); err != nil {
			t.Fatal(err)
		}
		w = agent.do("GET", "/console/accounts/"+accountID, nil)
		body := w.Body.String()
		if w.Code != 200 || !strings.Contains(body, `data-kind="help" data-type="open"`) || !strings.Contains(body, linked) ||
			!strings.Contains(body, "<b>answers</b>: 1") || !strings.Contains(body, "<b>step</b>: suspended") {
			t.Errorf("timeline: %d, want the help request\n%s", w.Code, body)
		}
		if strings.Contains(body, unlinked) || strings.Contains(body, "me@example.net") {
			t.Errorf("the timeline shows another request or the contact")
		}
	})
}

// TestOverdueBannerPerQueue: each queue's overdue count shows only to staff
// who may work on it, in its own words — the recovery cases to reviewers,
// not to agents.
func TestOverdueBannerPerQueue(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, fe *flowtest.Env) {
		e := newEnv(t, fe)
		count := func(n int) func(context.Context, time.Time) (int, error) {
			return func(context.Context, time.Time) (int, error) { return n, nil }
		}
		c, err := console.New(console.Deps{Staff: e.Staff, Desk: e.Desk, Realms: e.Realms, Now: e.Clock.Now,
			Overdue: []console.OverdueCounter{
				{Name: "help", Href: "/console/help", Perm: staff.PermHelpRequests, Count: count(1)},
				{Name: "recovery", Href: "/console/recovery", Perm: staff.PermRecoveryDecisions, Count: count(2)},
			}})
		if err != nil {
			t.Fatal(err)
		}
		e.Console = c
		_, agentKey := mustStaff(t, e, "agent@example.jp", staff.RoleAgent)
		_, reviewerKey := mustStaff(t, e, "reviewer@example.jp", staff.RoleReviewer)
		helpWords := template.HTMLEscapeString(i18n.Message("en", "console.overdue.help", map[string]any{"count": 1}))
		recoveryWords := template.HTMLEscapeString(i18n.Message("en", "console.overdue.recovery", map[string]any{"count": 2}))
		if recoveryWords == "console.overdue.recovery" || strings.Contains(recoveryWords, "{count}") {
			t.Fatalf("the recovery banner has no words: %q", recoveryWords)
		}
		for _, tc := range []struct {
			email, key   string
			wantRecovery bool
		}{{"agent@example.jp", agentKey, false}, {"reviewer@example.jp", reviewerKey, true}} {
			body := signIn(t, e, tc.email, tc.key).do("GET", "/console", nil).Body.String()
			if !strings.Contains(body, helpWords) {
				t.Errorf("%s: no help banner %q", tc.email, helpWords)
			}
			if got := strings.Contains(body, recoveryWords); got != tc.wantRecovery {
				t.Errorf("%s: recovery banner shown = %v, want %v", tc.email, got, tc.wantRecovery)
			}
		}
	})
}
