package flowtest_test

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/recovery"
	"github.com/ninsho/ninsho/internal/recovery/recoverytest"
	"github.com/ninsho/ninsho/internal/secret"
	"github.com/ninsho/ninsho/internal/session"
	"github.com/ninsho/ninsho/internal/sessions"
	"github.com/ninsho/ninsho/internal/signin"
)

const rcEmail = "kaori@example.jp"

// recoveryService builds the recovery service on e and registers its kind
// with e's engine.
func recoveryService(e *flowtest.Env) *recovery.Service {
	s := &recovery.Service{Kit: e.Kit, Realms: e.Realms, Signin: e.Signin, Gate: e.Gate, Store: e.DB, Documents: e.DB,
		Box: e.Box, Forget: e.Signin.ForgetAccount}
	e.Engine.Handlers[flow.KindRecovery] = s
	return s
}

// rcSetup signs rcEmail up with 2SV on (an authenticator app), a trusted
// device and another live session. It returns the account, the sign-up
// device and the other session's token.
func rcSetup(t *testing.T, e *flowtest.Env) (*account.Account, string, string) {
	t.Helper()
	dev := e.MustSignUp(t, e.JP, rcEmail, pw, rcEmail)
	a, secret := enrolTOTP(t, e, rcEmail)
	trustOn(t, e, rcEmail, secret, dev)
	return a, dev, otherSession(t, e, a)
}

// upload puts data into slot of the recovery flow f.
func upload(t *testing.T, e *flowtest.Env, s *recovery.Service, f *flow.Flow, req ninsho.Request, slot, docType string, data []byte) (*flow.Answer, error) {
	t.Helper()
	loaded, err := e.Engine.Load(context.Background(), f.Realm, f.ID, req)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return s.Upload(context.Background(), loaded, req, recovery.Upload{Slot: slot, DocumentType: docType, Body: bytes.NewReader(data)})
}

// rcOpen starts a recovery for rcEmail, uploads a passport photo and a
// utility bill and submits the case.
func rcOpen(t *testing.T, e *flowtest.Env, s *recovery.Service, req ninsho.Request) *flow.Answer {
	t.Helper()
	ctx := context.Background()
	ans, err := s.Start(ctx, e.JP, req, recovery.Input{Identifier: rcEmail, Password: pw})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	if _, err := upload(t, e, s, ans.Flow, req, "front", "passport", recoverytest.MustPNG(t)); err != nil {
		t.Fatalf("upload front: %v", err)
	}
	if _, err := upload(t, e, s, ans.Flow, req, "address", "", recoverytest.MinimalPDF()); err != nil {
		t.Fatalf("upload address: %v", err)
	}
	done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitDocuments})
	if err != nil || done.Recovery == nil || done.Recovery.Status != "open" {
		t.Fatalf("submit: %+v, %v", done, err)
	}
	return done
}

var cancelToken = regexp.MustCompile(`/recovery/cancel\?token=([A-Za-z0-9_-]+)`)

// TestRecoveryFromUploadToReenrolment: a seller whose realm requires 2SV
// lost the phone. The password alone opens a recovery flow — no session,
// nothing the flow gives signs anyone in — at step upload; a passport
// needs a utility bill (documents_missing); submitted, the case has its
// reference and a due time 48 hours ahead, the owner is told on every
// verified channel with a cancel link, and a second case is refused with
// the reference. The reviewer's queue shows it; its document opens to the
// uploaded bytes under a generated name, while the stored bytes hold no
// plaintext and do not open without the key or under another case. An
// approval without a reason is refused; with one it turns 2SV off (no
// method), forgets the trusted devices, revokes every session, e-mails the
// owner and records the reviewer and reason; it cannot be decided twice;
// the next sign-in leads through enrolment. Thirty days later the
// documents are purged.
func TestRecoveryFromUploadToReenrolment(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		s := recoveryService(e)
		a, dev, other := rcSetup(t, e)
		makeSeller(t, e, rcEmail)
		req := flowtest.Req("203.0.113.9", dev)

		// Wrong passwords and unknown identifiers answer as sign-in does.
		_, err := s.Start(ctx, e.JP, req, recovery.Input{Identifier: rcEmail, Password: "wrong-password-1"})
		flowtest.WantCode(t, err, ninsho.CodePasswordIncorrect)
		_, err = s.Start(ctx, e.JP, req, recovery.Input{Identifier: "nobody@example.jp", Password: pw})
		flowtest.WantCode(t, err, ninsho.CodeAccountNotFound)
		if ev := lastEvent(t, e, a, event.TypeSigninFailed); ev == nil || ev.Data["via"] != "recovery" {
			t.Fatalf("a wrong password is a failed sign-in: %+v", ev)
		}

		ans, err := s.Start(ctx, e.JP, req, recovery.Input{Identifier: rcEmail, Password: pw})
		if err != nil || ans.Session != nil || ans.Flow.Kind != flow.KindRecovery || ans.Next == nil || ans.Next.Step != flow.StepUpload {
			t.Fatalf("start: %+v, %v; want the upload step and no session", ans, err)
		}
		// The flow is no session: neither its id nor the device token signs in.
		for _, token := range []string{ans.Flow.ID, dev, ans.DeviceToken} {
			if _, err := e.Signin.Authenticate(ctx, e.JP, token); !ninsho.IsCode(err, ninsho.CodeUnauthenticated) {
				t.Fatalf("Authenticate(%q) = %v, want unauthenticated", token, err)
			}
		}
		// Another client cannot use the flow.
		if _, err := e.Engine.Load(ctx, "jp", ans.Flow.ID, ninsho.Request{Client: ninsho.ClientPage}); !ninsho.IsCode(err, ninsho.CodeFlowNotFound) {
			t.Fatalf("load by a page: %v", err)
		}
		png := recoverytest.MustPNG(t)
		_, err = upload(t, e, s, ans.Flow, req, "front", "", png)
		flowtest.WantRefusals(t, err, "field_required/document_type")
		_, err = upload(t, e, s, ans.Flow, req, "front", "student_card", png)
		flowtest.WantCode(t, err, ninsho.CodeDocumentTypeNotAllowed)
		_, err = upload(t, e, s, ans.Flow, req, "front", "passport", append([]byte{0x7F, 'E', 'L', 'F'}, make([]byte, 100)...))
		flowtest.WantCode(t, err, ninsho.CodeDocumentTypeNotAllowed)
		up, err := upload(t, e, s, ans.Flow, req, "front", "passport", png)
		if err != nil || up.Recovery == nil || up.Recovery.DocumentType != "passport" || !up.Recovery.NeedsAddress ||
			len(up.Recovery.Documents) != 1 || up.Recovery.Documents[0].Mime != recovery.MimePNG || up.Recovery.Reference != "" {
			t.Fatalf("upload: %+v, %v", up.Recovery, err)
		}
		_, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitDocuments})
		flowtest.WantRefusals(t, err, "documents_missing/address")
		if _, err := upload(t, e, s, ans.Flow, req, "address", "", recoverytest.MinimalPDF()); err != nil {
			t.Fatal(err)
		}
		done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitDocuments})
		if err != nil || done.Session != nil || done.Flow.Status != flow.StatusComplete || done.Recovery == nil {
			t.Fatalf("submit: %+v, %v", done, err)
		}
		r := done.Recovery
		if !strings.HasPrefix(r.Reference, "R-") || r.Status != "open" || r.DueAt == nil || !r.DueAt.Equal(e.Clock.Now().Add(48*time.Hour)) {
			t.Fatalf("case: %+v", r)
		}
		view, err := e.Engine.View(ctx, "jp", ans.Flow.ID, req)
		if err != nil || view.Recovery == nil || view.Recovery.Reference != r.Reference || view.Recovery.Status != "open" {
			t.Fatalf("view: %+v, %v", view, err)
		}
		msgs := e.Messages(t, rcEmail)
		if msgs[0].Template != recovery.TemplateOpened || !strings.Contains(msgs[0].Text, r.Reference) || !cancelToken.MatchString(msgs[0].Text) {
			t.Fatalf("confirmation: %s\n%s", msgs[0].Template, msgs[0].Text)
		}
		_, err = s.Start(ctx, e.JP, req, recovery.Input{Identifier: rcEmail, Password: pw})
		flowtest.WantCode(t, err, ninsho.CodeRecoveryCaseOpen)
		if ninsho.ErrorOf(err).Params["reference"] != r.Reference {
			t.Fatalf("second case: %v, want the open case's reference", ninsho.ErrorOf(err).Params)
		}

		// The reviewer.
		q, err := s.Queue(ctx, e.Clock.Now(), 10)
		if err != nil || len(q) != 1 || q[0].Reference != r.Reference || q[0].AccountID != a.ID || q[0].Overdue {
			t.Fatalf("queue: %+v, %v", q, err)
		}
		if n, _ := s.OverdueCount(ctx, e.Clock.Now().Add(49*time.Hour)); n != 1 {
			t.Errorf("overdue after 49 h = %d, want 1", n)
		}
		cv, err := s.Case(ctx, r.Reference)
		if err != nil || len(cv.Documents) != 2 {
			t.Fatalf("case: %+v, %v", cv, err)
		}
		var front *recovery.Document
		for _, d := range cv.Documents {
			if d.Slot == recovery.SlotFront {
				front = d
			}
		}
		if _, err := s.Document(ctx, r.Reference, "../etc/passwd"); !ninsho.IsCode(err, ninsho.CodeNotFound) {
			t.Fatalf("a document id that is no id: %v", err)
		}
		if _, err := s.OpenDocument(ctx, "staff:s1", flowtest.Req("192.0.2.200", ""), r.Reference, front.ID); err != nil {
			t.Fatal(err)
		}
		if ev := lastEvent(t, e, a, recovery.EventDocumentOpened); ev == nil || ev.Actor != "staff:s1" || ev.Data["document"] != front.ID {
			t.Fatalf("document opened event: %+v", ev)
		}
		opened, err := s.Document(ctx, r.Reference, front.ID)
		if err != nil || !bytes.Equal(opened.Data, png) || opened.Mime != recovery.MimePNG || opened.Filename != r.Reference+"-front.png" {
			t.Fatalf("document: %v, %v", opened, err)
		}
		stored, err := e.DB.Document(ctx, cv.Case.ID, front.ID)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(stored.Sealed, png[8:40]) || bytes.Contains(stored.Sealed, []byte("IHDR")) {
			t.Fatal("the stored document contains its plaintext")
		}
		otherKey, _ := secret.NewBox(ninsho.NewSeededRandom(1), []byte("another-key-0123456789abcdef0123"))
		if _, err := otherKey.Open(stored.Sealed, recovery.AdditionalData("jp", cv.Case.ID, front.ID)); err == nil {
			t.Fatal("the document opens under another key")
		}
		if _, err := e.Box.Open(stored.Sealed, recovery.AdditionalData("jp", ninsho.NewID(e.Clock, ninsho.NewSeededRandom(2)), front.ID)); err == nil {
			t.Fatal("the document opens as another case's")
		}

		sreq := flowtest.Req("192.0.2.200", "")
		alertsBefore := templates(t, e, rcEmail, message.TemplateTwoStepChanged)
		_, err = s.Approve(ctx, "staff:s1", sreq, r.Reference, "  ")
		flowtest.WantRefusals(t, err, "field_required/reason")
		if _, err := s.Approve(ctx, "staff:s1", sreq, r.Reference, "Passport photo and bill match the account name."); err != nil {
			t.Fatalf("approve: %v", err)
		}
		_, err = s.Approve(ctx, "staff:s2", sreq, r.Reference, "again")
		flowtest.WantCode(t, err, ninsho.CodeRecoveryCaseDecided)
		_, err = s.Reject(ctx, "staff:s2", sreq, r.Reference, "again", "x", "")
		flowtest.WantCode(t, err, ninsho.CodeRecoveryCaseDecided)
		if st, _ := e.DB.State(ctx, "jp", a.ID); st.Enabled {
			t.Fatal("2SV still on after approval")
		}
		if creds, _ := e.DB.Credentials(ctx, "jp", a.ID); len(creds) != 0 {
			t.Fatalf("%d methods left after approval", len(creds))
		}
		if n := trustedCount(t, e, a); n != 0 {
			t.Fatalf("%d trusted devices after approval", n)
		}
		if _, err := e.Signin.Authenticate(ctx, e.JP, other); !ninsho.IsCode(err, ninsho.CodeUnauthenticated) {
			t.Fatalf("the other session after approval: %v", err)
		}
		ev := lastEvent(t, e, a, recovery.EventApproved)
		if ev == nil || ev.Actor != "staff:s1" || ev.Data["case"] != r.Reference || ev.Data["reason"] != "Passport photo and bill match the account name." || ev.IP != "192.0.2.200" {
			t.Fatalf("approval event: %+v", ev)
		}
		if templates(t, e, rcEmail, recovery.TemplateApproved) != 1 {
			t.Fatal("no approval message")
		}
		// The approval's message is the notice: no two-step alert with its
		// "this wasn't me" link, and the removals are the reviewer's, so
		// the history offers no "this wasn't me" on them.
		if n := templates(t, e, rcEmail, message.TemplateTwoStepChanged) - alertsBefore; n != 0 {
			t.Fatalf("%d two-step alerts after a staff approval, want none", n)
		}
		for _, typ := range []string{event.TypeTwoStepMethodRemoved, event.TypeTwoStepDisabled} {
			rm := lastEvent(t, e, a, typ)
			if rm == nil || rm.Actor != "staff:s1" || rm.IP != "" {
				t.Fatalf("%s after approval: %+v, want by staff:s1 without the reviewer's address", typ, rm)
			}
			if sessions.CarriesNotMe(rm, &session.Session{ID: "s-owner", AccountID: a.ID}) {
				t.Fatalf("%s by staff carries \"this wasn't me\"", typ)
			}
		}
		if v, _ := e.Engine.View(ctx, "jp", ans.Flow.ID, req); v.Recovery.Status != "approved" || v.Recovery.DecidedAt == nil {
			t.Fatalf("the owner's view after approval: %+v", v.Recovery)
		}

		// The next sign-in leads through enrolment (sellers must have 2SV).
		e.Clock.Advance(time.Minute)
		next, err := e.Signin.Start(ctx, e.JP, req, signin.Input{Identifier: rcEmail, Password: pw})
		if err != nil || next.Session != nil || next.Next == nil || next.Next.Step != flow.StepEnrolSecondFactor {
			t.Fatalf("sign-in after approval: %+v, %v; want the enrolment step", next, err)
		}

		// Thirty days after the decision the documents go; the case stays.
		if n, err := s.Purge(ctx, e.Clock.Now().Add(29*24*time.Hour)); err != nil || n != 0 {
			t.Fatalf("purge before 30 days = %d, %v", n, err)
		}
		if n, err := s.Purge(ctx, e.Clock.Now().Add(31*24*time.Hour)); err != nil || n != 2 {
			t.Fatalf("purge after 30 days = %d, %v; want 2", n, err)
		}
		if _, err := s.Document(ctx, r.Reference, front.ID); !ninsho.IsCode(err, ninsho.CodeNotFound) {
			t.Fatalf("document after purge: %v", err)
		}
		if cv, err := s.Case(ctx, r.Reference); err != nil || cv.Case.Status != recovery.StatusApproved || len(cv.Documents) != 0 {
			t.Fatalf("case after purge: %+v, %v", cv, err)
		}
	})
}

// TestRecoveryRejectAndCancel: a rejection needs a reason and what to send
// instead, e-mails both, changes nothing of the account and lets the owner
// open a new case; the owner's cancel link (in the confirmation) stops an
// open case once; a draft can be cancelled from its flow; an account with
// 2SV off is told it needs no recovery.
func TestRecoveryRejectAndCancel(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		s := recoveryService(e)
		a, dev, _ := rcSetup(t, e)
		req := flowtest.Req("203.0.113.9", dev)
		sreq := flowtest.Req("192.0.2.200", "")

		first := rcOpen(t, e, s, req).Recovery
		_, err := s.Reject(ctx, "staff:s1", sreq, first.Reference, "The photo is blurred.", "", "")
		flowtest.WantRefusals(t, err, "field_required/instead")
		_, err = s.Reject(ctx, "staff:s1", sreq, first.Reference, "", "x", strings.Repeat("n", recovery.MaxReason+1))
		flowtest.WantRefusals(t, err, "field_required/reason", "field_too_long/note")
		if _, err := s.Reject(ctx, "staff:s1", sreq, first.Reference, "The photo is blurred.", "A sharp photo of your passport.", "Second blurred upload from this customer; internal only."); err != nil {
			t.Fatalf("reject: %v", err)
		}
		var rejected string
		for _, m := range e.Messages(t, rcEmail) {
			if m.Template == recovery.TemplateRejected {
				rejected = m.Text
			}
		}
		if !strings.Contains(rejected, "The photo is blurred.") || !strings.Contains(rejected, "A sharp photo of your passport.") || strings.Contains(rejected, "internal only") {
			t.Fatalf("rejection message (the reason and what instead, not the internal note):\n%s", rejected)
		}
		if st, _ := e.DB.State(ctx, "jp", a.ID); !st.Enabled {
			t.Fatal("2SV turned off by a rejection")
		}
		if ev := lastEvent(t, e, a, recovery.EventRejected); ev == nil || ev.Actor != "staff:s1" || ev.Data["decision"] != "rejected" ||
			ev.Data["note"] != "Second blurred upload from this customer; internal only." {
			t.Fatalf("rejection event: %+v", ev)
		}

		// A new case; the owner cancels it with the link.
		second := rcOpen(t, e, s, req).Recovery
		var token string
		for _, m := range e.Messages(t, rcEmail) {
			if m.Template == recovery.TemplateOpened && strings.Contains(m.Text, second.Reference) {
				token = cancelToken.FindStringSubmatch(m.Text)[1]
			}
		}
		c, err := s.Cancel(ctx, e.JP, flowtest.Req("198.51.100.1", ""), token)
		if err != nil || c.Reference != second.Reference || c.Status != recovery.StatusCancelled {
			t.Fatalf("cancel: %+v, %v", c, err)
		}
		_, err = s.Cancel(ctx, e.JP, flowtest.Req("198.51.100.1", ""), token)
		flowtest.WantCode(t, err, ninsho.CodeNotFound)
		_, err = s.Approve(ctx, "staff:s1", sreq, second.Reference, "too late")
		flowtest.WantCode(t, err, ninsho.CodeRecoveryCaseDecided)
		if q, _ := s.Queue(ctx, e.Clock.Now(), 10); len(q) != 0 {
			t.Fatalf("queue after cancel: %+v", q)
		}

		// A draft cancelled from its flow: its files go at once.
		ans, err := s.Start(ctx, e.JP, req, recovery.Input{Identifier: rcEmail, Password: pw})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := upload(t, e, s, ans.Flow, req, "front", "drivers_license", recoverytest.MustJPEG(t)); err != nil {
			t.Fatal(err)
		}
		gone, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionCancel})
		if err != nil || gone.Flow.Status != flow.StatusFailed || gone.Recovery.Status != "dropped" || len(gone.Recovery.Documents) != 0 {
			t.Fatalf("cancel the draft: %+v, %v", gone.Recovery, err)
		}

		// Drafts per account: StartsPerAccount an hour (5 so far: the two
		// cases, the cancelled draft, and two more here).
		for i := range 2 {
			if _, err := s.Start(ctx, e.JP, req, recovery.Input{Identifier: rcEmail, Password: pw}); err != nil {
				t.Fatalf("draft %d: %v", i, err)
			}
		}
		_, err = s.Start(ctx, e.JP, req, recovery.Input{Identifier: rcEmail, Password: pw})
		flowtest.WantCode(t, err, ninsho.CodeRateLimited)
		e.Clock.Advance(recovery.StartWindow)

		// Suspended and closed accounts are told as at sign-in, after the
		// right password only.
		for _, st := range []account.Status{account.StatusSuspended, account.StatusClosed} {
			a.Status = st
			if err := e.DB.UpdateAccount(ctx, a); err != nil {
				t.Fatal(err)
			}
			e.Signin.ForgetAccount(a.ID)
			_, err = s.Start(ctx, e.JP, req, recovery.Input{Identifier: rcEmail, Password: "wrong-password-2"})
			flowtest.WantCode(t, err, ninsho.CodePasswordIncorrect)
			_, err = s.Start(ctx, e.JP, req, recovery.Input{Identifier: rcEmail, Password: pw})
			flowtest.WantCode(t, err, map[account.Status]ninsho.Code{account.StatusSuspended: ninsho.CodeAccountSuspended, account.StatusClosed: ninsho.CodeAccountClosed}[st])
		}
		// A suspension made by staff is told with its reference and
		// reason, as at sign-in; a new password staff require stops
		// recovery too (the password may be what was stolen).
		e.Signin.Holds = e.DB
		defer func() { e.Signin.Holds = nil }()
		a.Status = account.StatusSuspended
		if err := e.DB.UpdateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
		sus := &account.Suspension{Reference: "S-7KP4-MX3C", Realm: e.JP.ID, AccountID: a.ID,
			Reason: account.SuspensionReason("unusual_activity"), Note: "staff note", By: "staff:x", At: e.Clock.Now()}
		if err := e.DB.AddSuspension(ctx, sus); err != nil {
			t.Fatal(err)
		}
		_, err = s.Start(ctx, e.JP, req, recovery.Input{Identifier: rcEmail, Password: pw})
		flowtest.WantCode(t, err, ninsho.CodeAccountSuspended)
		var ne *ninsho.Error
		if !errors.As(err, &ne) || ne.Params["reference"] != "S-7KP4-MX3C" || ne.Params["reason"] != "unusual_activity" {
			t.Fatalf("suspended recovery start = %v, want the suspension's reference and reason", err)
		}
		if _, err := e.DB.LiftSuspension(ctx, a.ID, "staff:x", "lifted", e.Clock.Now()); err != nil {
			t.Fatal(err)
		}
		a.Status = account.StatusActive
		if err := e.DB.UpdateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
		if err := e.DB.RequirePasswordReset(ctx, a.ID, "staff:x", e.Clock.Now()); err != nil {
			t.Fatal(err)
		}
		_, err = s.Start(ctx, e.JP, req, recovery.Input{Identifier: rcEmail, Password: pw})
		flowtest.WantCode(t, err, ninsho.CodePasswordResetRequired)
		if _, err := e.DB.ClearPasswordReset(ctx, a.ID); err != nil {
			t.Fatal(err)
		}

		// 2SV off: nothing to recover.
		e.MustSignUp(t, e.JP, "plain@example.jp", pw, "plain@example.jp")
		_, err = s.Start(ctx, e.JP, req, recovery.Input{Identifier: "plain@example.jp", Password: pw})
		flowtest.WantCode(t, err, ninsho.CodeRecoveryNotNeeded)
		// A safe realm answers an unknown identifier like a wrong password.
		_, err = s.Start(ctx, e.Safe, req, recovery.Input{Identifier: "nobody@example.com", Password: pw})
		flowtest.WantCode(t, err, ninsho.CodeCredentialsIncorrect)
	})
}
