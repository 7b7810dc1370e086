package console_test

import (
	"bytes"
	"context"
	"html"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/caseref"
	"github.com/ninsho/ninsho/internal/console"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/recovery"
	"github.com/ninsho/ninsho/internal/recovery/recoverytest"
	"github.com/ninsho/ninsho/internal/review"
	"github.com/ninsho/ninsho/internal/staff"
)

// withReview gives e's console the reviewers' pages and e's desk the
// recovery cases' finder and timeline source, as internal/cli wires them.
func withReview(t *testing.T, e *env) *review.Service {
	t.Helper()
	rs := &recovery.Service{Kit: e.Kit, Realms: e.Realms, Signin: e.Signin, Gate: e.Gate, Store: e.DB, Documents: e.DB,
		Box: e.Box, Forget: e.Signin.ForgetAccount}
	rv := &review.Service{Recovery: rs}
	e.Desk.Sources = append(e.Desk.Sources, rv)
	e.Desk.Finders = append(e.Desk.Finders, rv)
	c, err := console.New(console.Deps{Staff: e.Staff, Desk: e.Desk, Realms: e.Realms, Review: rv, Now: e.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.Console = c
	return rv
}

// openCase signs email up and gives it an open case (a passport photo and
// a utility bill as PDF, due in 48 hours), written through the stores as
// the recovery flow writes them. It returns the case and the documents.
func openCase(t *testing.T, e *env, email string) (*recovery.Case, *recovery.Document, *recovery.Document) {
	t.Helper()
	ctx := context.Background()
	e.MustSignUp(t, e.JP, email, "sakura-fubuki-2026", email)
	a, err := e.DB.AccountByEmail(ctx, "jp", email)
	if err != nil {
		t.Fatal(err)
	}
	now := e.Clock.Now()
	c := &recovery.Case{ID: ninsho.NewID(e.Clock, e.Kit.Random), Realm: "jp", AccountID: a.ID, FlowID: ninsho.NewID(e.Clock, e.Kit.Random),
		Reference: caseref.New(caseref.KindRecovery, e.Kit.Random), Status: recovery.StatusDraft, DocumentType: recovery.Passport, CreatedAt: now}
	if err := e.DB.CreateCase(ctx, c); err != nil {
		t.Fatal(err)
	}
	put := func(slot recovery.Slot, mime string, data []byte) *recovery.Document {
		d := &recovery.Document{ID: ninsho.NewID(e.Clock, e.Kit.Random), CaseID: c.ID, Realm: "jp", AccountID: a.ID, Slot: slot,
			Mime: mime, Size: int64(len(data)), SHA256: make([]byte, 32), CreatedAt: now}
		if d.Sealed, err = e.Box.Seal(data, recovery.AdditionalData("jp", c.ID, d.ID)); err != nil {
			t.Fatal(err)
		}
		if err := e.DB.PutDocument(ctx, d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	front := put(recovery.SlotFront, "image/png", recoverytest.MustPNG(t))
	bill := put(recovery.SlotAddress, "application/pdf", recoverytest.MinimalPDF())
	due := now.Add(48 * time.Hour)
	c.Status, c.SubmittedAt, c.DueAt = recovery.StatusOpen, &now, &due
	if err := e.DB.UpdateCase(ctx, c, recovery.StatusDraft); err != nil {
		t.Fatal(err)
	}
	return c, front, bill
}

func caseEvent(t *testing.T, e *env, accountID, typ string) *event.Event {
	t.Helper()
	evs, err := e.DB.AccountEvents(context.Background(), accountID, time.Time{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.Type == typ {
			return ev
		}
	}
	return nil
}

// TestRecoveryReviewRoles: the recovery pages are for reviewers and
// admins. An agent gets the forbidden page for the queue, a case, a
// document (no byte of it) and a decision, which changes nothing; a
// browser with no session or a customer's session only is sent to the
// console's sign-in. A reviewer sees the queue and the case.
func TestRecoveryReviewRoles(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, fe *flowtest.Env) {
		e := newEnv(t, fe)
		withReview(t, e)
		c, front, _ := openCase(t, e, "kaori@example.jp")
		_, akey := mustStaff(t, e, "agent@example.jp", staff.RoleAgent)
		_, rkey := mustStaff(t, e, "reviewer@example.jp", staff.RoleReviewer)
		png := recoverytest.MustPNG(t)
		casePath := "/console/recovery/" + c.Reference
		docPath := casePath + "/documents/" + front.ID
		gets := []string{"/console/recovery", casePath, docPath}
		posts := []string{casePath + "/approve", casePath + "/reject"}
		decision := url.Values{"reason": {"the photo matches"}, "instead": {"a clearer photo"}}

		agent := signIn(t, e, "agent@example.jp", akey)
		forbidden := template.HTMLEscapeString(i18n.Message("en", "error.forbidden", nil))
		for _, p := range gets {
			w := agent.do("GET", p, nil)
			if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), forbidden) {
				t.Errorf("agent GET %s: %d, want 403 with %q", p, w.Code, forbidden)
			}
			if bytes.Contains(w.Body.Bytes(), png[:64]) || w.Header().Get("Content-Type") != "text/html; charset=utf-8" {
				t.Errorf("agent GET %s: the answer carries the document (%s)", p, w.Header().Get("Content-Type"))
			}
		}
		for _, p := range posts {
			if w := agent.do("POST", p, decision); w.Code != http.StatusForbidden {
				t.Errorf("agent POST %s: %d, want 403", p, w.Code)
			}
		}
		if strings.Contains(agent.do("GET", "/console", nil).Body.String(), "/console/recovery") {
			t.Errorf("the agent's console links to the recovery cases")
		}
		if caseEvent(t, e, c.AccountID, recovery.EventDocumentOpened) != nil {
			t.Errorf("an agent's attempt recorded a document opening")
		}

		nobody := newBrowser(t, e.Console)
		customer := newBrowser(t, e.Console)
		customer.cookies["ninsho_session"] = &http.Cookie{Name: "ninsho_session", Value: "any-customer-session-token"}
		for name, b := range map[string]*browser{"no session": nobody, "a customer session": customer} {
			for _, p := range gets {
				if w := b.do("GET", p, nil); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/console/signin" {
					t.Errorf("%s GET %s: %d %s, want 303 to /console/signin", name, p, w.Code, w.Header().Get("Location"))
				}
			}
			for _, p := range posts {
				if w := b.do("POST", p, decision); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/console/signin" {
					t.Errorf("%s POST %s: %d, want 303 to /console/signin", name, p, w.Code)
				}
			}
		}
		got, err := e.DB.Case(context.Background(), "", c.Reference)
		if err != nil || got.Status != recovery.StatusOpen {
			t.Fatalf("after refused decisions: %v %v, want the case open", got, err)
		}

		rev := signIn(t, e, "reviewer@example.jp", rkey)
		w := rev.do("GET", "/console", nil)
		if !strings.Contains(w.Body.String(), `href="/console/recovery"`) {
			t.Errorf("the reviewer's console has no link to the recovery cases")
		}
		w = rev.do("GET", "/console/recovery", nil)
		if w.Code != 200 || !strings.Contains(w.Body.String(), `data-reference="`+c.Reference+`"`) || !strings.Contains(w.Body.String(), "/console/accounts/"+c.AccountID) {
			t.Errorf("reviewer queue: %d, want 200 listing %s with its account\n%s", w.Code, c.Reference, w.Body.String())
		}
		w = rev.do("GET", casePath, nil)
		if w.Code != 200 || !strings.Contains(w.Body.String(), `<img src="`+docPath+`"`) {
			t.Errorf("reviewer case page: %d, want 200 with the image\n%s", w.Code, w.Body.String())
		}
		if strings.Contains(w.Body.String(), "kaori@example.jp") {
			t.Errorf("the case page shows the address unmasked")
		}
	})
}

// TestRecoveryDocumentResponses: an image is served inline as its
// detected type, a PDF always as an attachment under the generated name;
// both with nosniff, no-store and a sandbox CSP, never as HTML. Each
// opening is a recovery.document_opened event by the reviewer, from the
// request's address and browser.
func TestRecoveryDocumentResponses(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, fe *flowtest.Env) {
		e := newEnv(t, fe)
		withReview(t, e)
		c, front, bill := openCase(t, e, "kaori@example.jp")
		rst, rkey := mustStaff(t, e, "reviewer@example.jp", staff.RoleReviewer)
		rev := signIn(t, e, "reviewer@example.jp", rkey)
		for _, tc := range []struct {
			doc         *recovery.Document
			data        []byte
			ctype, disp string
		}{
			{front, recoverytest.MustPNG(t), "image/png", `inline; filename=` + c.Reference + `-front.png`},
			{bill, recoverytest.MinimalPDF(), "application/pdf", `attachment; filename=` + c.Reference + `-address.pdf`},
		} {
			w := rev.do("GET", "/console/recovery/"+strings.ToLower(c.Reference)+"/documents/"+tc.doc.ID, nil)
			h := w.Header()
			if w.Code != 200 || !bytes.Equal(w.Body.Bytes(), tc.data) {
				t.Errorf("%s: %d, %d bytes; want 200 with the uploaded bytes", tc.ctype, w.Code, w.Body.Len())
			}
			for k, want := range map[string]string{
				"Content-Type": tc.ctype, "Content-Disposition": tc.disp, "X-Content-Type-Options": "nosniff",
				"Cache-Control": "no-store", "Content-Security-Policy": "sandbox; default-src 'none'",
			} {
				if got := h.Get(k); got != want {
					t.Errorf("%s: %s = %q, want %q", tc.ctype, k, got, want)
				}
			}
		}
		ev := caseEvent(t, e, c.AccountID, recovery.EventDocumentOpened)
		if ev == nil || ev.Actor != rst.Actor() || ev.IP != "192.0.2.44" || ev.UserAgent != flowtest.BrowserUA || ev.Data["case"] != c.Reference {
			t.Fatalf("document_opened: %+v, want by %s from 192.0.2.44", ev, rst.Actor())
		}
		evs, err := e.DB.AccountEvents(context.Background(), c.AccountID, time.Time{}, 100)
		n := 0
		for _, x := range evs {
			if x.Type == recovery.EventDocumentOpened && x.Actor == rst.Actor() {
				n++
			}
		}
		if err != nil || n != 2 {
			t.Errorf("document_opened events: %d, %v; want one per opening (2)", n, err)
		}
		if w := rev.do("GET", "/console/recovery/"+c.Reference+"/documents/"+ninsho.NewID(e.Clock, e.Kit.Random), nil); w.Code != http.StatusNotFound {
			t.Errorf("an unknown document: %d, want 404", w.Code)
		}
	})
}

// TestRecoveryDecisions: a decision needs a written reason (a rejection
// also what to send instead), refused with field errors on the case page;
// approval and rejection record events by the reviewer with the reason,
// from the request's address; a decided case cannot be decided again.
// The queue marks overdue cases; an R-… reference finds the account, and
// its timeline shows the case without any document content.
func TestRecoveryDecisions(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, fe *flowtest.Env) {
		e := newEnv(t, fe)
		withReview(t, e)
		one, _, _ := openCase(t, e, "kaori@example.jp")
		two, _, _ := openCase(t, e, "hanako@example.jp")
		rst, rkey := mustStaff(t, e, "reviewer@example.jp", staff.RoleReviewer)
		rev := signIn(t, e, "reviewer@example.jp", rkey)

		e.Clock.Advance(49 * time.Hour)
		rev = signIn(t, e, "reviewer@example.jp", rkey)
		w := rev.do("GET", "/console/recovery", nil)
		if !strings.Contains(w.Body.String(), `data-reference="`+one.Reference+`" class="overdue" data-overdue="true"`) {
			t.Errorf("queue after the due time: %s is not marked overdue\n%s", one.Reference, w.Body.String())
		}

		path := "/console/recovery/" + one.Reference
		w = rev.do("POST", path+"/approve", url.Values{"reason": {"  "}})
		required := i18n.Message("en", "error.field_required", nil)
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `href="#reason"`) || !strings.Contains(w.Body.String(), `id="reason"`) {
			t.Errorf("approve without a reason: %d, want 400 linking to the field (%q)\n%s", w.Code, required, w.Body.String())
		}
		w = rev.do("POST", path+"/approve", url.Values{"reason": {"The passport photo matches the account name."}})
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != path+"?done=approve" {
			t.Fatalf("approve: %d %s", w.Code, w.Header().Get("Location"))
		}
		w = rev.do("GET", path+"?done=approve", nil)
		if !strings.Contains(w.Body.String(), i18n.Message("en", "console.recovery.done.approve", nil)) || strings.Contains(w.Body.String(), `action="`+path+`/approve"`) {
			t.Errorf("the decided case page: no notice, or still a decision form\n%s", w.Body.String())
		}
		ev := caseEvent(t, e, one.AccountID, recovery.EventApproved)
		if ev == nil || ev.Actor != rst.Actor() || ev.IP != "192.0.2.44" || ev.Data["reason"] != "The passport photo matches the account name." {
			t.Fatalf("recovery.approved: %+v", ev)
		}
		if w := rev.do("POST", path+"/reject", url.Values{"reason": {"x"}, "instead": {"y"}}); w.Code != http.StatusConflict {
			t.Errorf("deciding twice: %d, want 409", w.Code)
		}

		path = "/console/recovery/" + two.Reference
		// The labels say who sees what: the rejection's reason is the
		// customer's, the internal note the audit trail's alone.
		body := html.UnescapeString(rev.do("GET", path, nil).Body.String())
		for _, key := range []string{"console.recovery.approve.reason", "console.recovery.reject.reason", "console.recovery.reject.note"} {
			if !strings.Contains(body, i18n.Message("en", key, nil)) {
				t.Errorf("case page: no label %s", key)
			}
		}
		if !strings.Contains(body, `name="note"`) {
			t.Errorf("case page: no internal note on the rejection form\n%s", body)
		}
		w = rev.do("POST", path+"/reject", url.Values{"reason": {"The photo is blurred."}})
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `href="#instead"`) {
			t.Errorf("reject without what to send instead: %d, want 400 linking to instead", w.Code)
		}
		w = rev.do("POST", path+"/reject", url.Values{"reason": {"The photo is blurred."}, "instead": {"A sharp photo of the whole front."}, "note": {"Seen this customer before."}})
		if w.Code != http.StatusSeeOther {
			t.Fatalf("reject: %d\n%s", w.Code, w.Body.String())
		}
		ev = caseEvent(t, e, two.AccountID, recovery.EventRejected)
		if ev == nil || ev.Actor != rst.Actor() || ev.Data["instead"] != "A sharp photo of the whole front." || ev.Data["note"] != "Seen this customer before." {
			t.Fatalf("recovery.rejected: %+v", ev)
		}
		// The decided case shows its reason under a read-only label, not
		// the form's.
		body = html.UnescapeString(rev.do("GET", path, nil).Body.String())
		if !strings.Contains(body, i18n.Message("en", "console.recovery.decided_reason.rejected", nil)) || strings.Contains(body, i18n.Message("en", "console.field.reason", nil)) {
			t.Errorf("decided case: the reason is not under its read-only label\n%s", body)
		}
		if w := rev.do("GET", "/console/recovery", nil); strings.Contains(w.Body.String(), one.Reference) || strings.Contains(w.Body.String(), two.Reference) {
			t.Errorf("decided cases still queued")
		}

		w = rev.do("GET", "/console/accounts?q="+url.QueryEscape(strings.ToLower(strings.ReplaceAll(two.Reference, "-", ""))), nil)
		if w.Code != 200 || !strings.Contains(w.Body.String(), "/console/accounts/"+two.AccountID) || !strings.Contains(w.Body.String(), `href="/console/recovery/`+two.Reference+`"`) {
			t.Errorf("search by the case reference: %d, want the account and a link to the case\n%s", w.Code, w.Body.String())
		}
		w = rev.do("GET", "/console/accounts/"+two.AccountID, nil)
		body = w.Body.String()
		if !strings.Contains(body, `data-kind="recovery" data-type="rejected"`) || !strings.Contains(body, two.Reference) || !strings.Contains(body, "<b>documents</b>: 2") {
			t.Errorf("timeline: no rejected recovery case with its reference and document count\n%s", body)
		}
	})
}
