package flowtest_test

import (
	"bytes"
	"context"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/recovery"
	"github.com/ninsho/ninsho/internal/recovery/recoverytest"
	"github.com/ninsho/ninsho/internal/signin"
)

// TestRecoveryStorageBounded: storage cannot be filled by start → upload →
// submit → cancel → start again. A case cancelled with its link loses its
// files at once (nothing is left to review), and a new start supersedes
// the account's earlier draft (cancelled, files deleted, its flow can
// upload no more): one account holds at most the files of one case.
func TestRecoveryStorageBounded(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		s := recoveryService(e)
		a, dev, _ := rcSetup(t, e)
		req := flowtest.Req("203.0.113.9", dev)

		opened := rcOpen(t, e, s, req).Recovery
		var token string
		for _, m := range e.Messages(t, rcEmail) {
			if m.Template == recovery.TemplateOpened && strings.Contains(m.Text, opened.Reference) {
				token = cancelToken.FindStringSubmatch(m.Text)[1]
			}
		}
		_, err := s.Cancel(ctx, e.JP, flowtest.Req("198.51.100.1", ""), "")
		flowtest.WantRefusals(t, err, "field_required/token")
		c, err := s.Cancel(ctx, e.JP, flowtest.Req("198.51.100.1", ""), token)
		if err != nil || c.Status != recovery.StatusCancelled {
			t.Fatalf("cancel: %+v, %v", c, err)
		}
		if docs, err := e.DB.Documents(ctx, c.ID); err != nil || len(docs) != 0 {
			t.Fatalf("documents of a cancelled case: %d, %v; want none at once", len(docs), err)
		}
		if ev := lastEvent(t, e, a, recovery.EventCancelled); ev == nil || ev.Data["documents_deleted"] != float64(2) {
			t.Fatalf("cancel event: %+v", ev)
		}

		// A draft with files, then a new start: the first draft is
		// superseded.
		first, err := s.Start(ctx, e.JP, req, recovery.Input{Identifier: rcEmail, Password: pw})
		if err != nil {
			t.Fatal(err)
		}
		for _, slot := range []string{"front", "back", "address"} {
			if _, err := upload(t, e, s, first.Flow, req, slot, "passport", recoverytest.MustPNG(t)); err != nil {
				t.Fatalf("upload %s: %v", slot, err)
			}
		}
		second, err := s.Start(ctx, e.JP, req, recovery.Input{Identifier: rcEmail, Password: pw})
		if err != nil {
			t.Fatal(err)
		}
		drafts, err := e.DB.Drafts(ctx, "jp", a.ID)
		if err != nil || len(drafts) != 1 || drafts[0].FlowID != second.Flow.ID {
			t.Fatalf("drafts after a second start: %d, %v; want only the second", len(drafts), err)
		}
		// The superseded draft was never sent for review: it is not a
		// cancelled case in the owner's history.
		if ev := lastEvent(t, e, a, recovery.EventDraftDropped); ev == nil || ev.Data["via"] != "superseded" || ev.Data["documents_deleted"] != float64(3) {
			t.Fatalf("superseded draft's event: %+v", ev)
		}
		for _, typ := range signin.HistoryTypes {
			if typ == recovery.EventDraftDropped {
				t.Fatal("a dropped draft shows in the owner's history")
			}
		}
		view, err := e.Engine.View(ctx, "jp", first.Flow.ID, req)
		// The superseded draft is dropped (never a case staff see) and its
		// flow ended: it says so instead of asking for files.
		if err != nil || view.Recovery == nil || view.Recovery.Status != "dropped" || len(view.Recovery.Documents) != 0 ||
			view.Flow.Status != flow.StatusFailed || view.Next != nil {
			t.Fatalf("superseded draft: %+v, %v", view, err)
		}
		if _, err := s.Case(ctx, view.Recovery.Reference); !ninsho.IsCode(err, ninsho.CodeNotFound) {
			t.Fatalf("staff see the superseded draft: %v", err)
		}
		_, err = upload(t, e, s, first.Flow, req, "front", "passport", recoverytest.MustPNG(t))
		flowtest.WantCode(t, err, ninsho.CodeFlowCompleted)
		_, err = e.Engine.Act(ctx, "jp", first.Flow.ID, req, flow.Action{Name: flow.ActionSubmitDocuments})
		if err == nil {
			t.Fatal("a superseded draft was submitted")
		}
		if _, err := upload(t, e, s, second.Flow, req, "front", "passport", recoverytest.MustPNG(t)); err != nil {
			t.Fatalf("upload to the new draft: %v", err)
		}
	})
}

// blockingBody is an upload body that tells when it is first read and then
// blocks until released, when it gives its data.
type blockingBody struct {
	started chan struct{}
	release chan struct{}
	data    io.Reader
	once    sync.Once
}

func newBlockingBody(data []byte) *blockingBody {
	return &blockingBody{started: make(chan struct{}), release: make(chan struct{}), data: bytes.NewReader(data)}
}

func (b *blockingBody) Read(p []byte) (int, error) {
	b.once.Do(func() { close(b.started) })
	<-b.release
	return b.data.Read(p)
}

// untouched is a body that must not be read.
type untouched struct{ t *testing.T }

func (u untouched) Read([]byte) (int, error) {
	u.t.Error("a refused upload's body was read")
	return 0, io.EOF
}

// TestRecoveryUploadGate: while one upload to a flow is reading its body,
// a second to the same flow is conflict and an upload to another flow,
// with the process's gate full, is overloaded with retry_after_s — both
// at once, without reading their bodies. Once the first ends, uploads go
// through again.
func TestRecoveryUploadGate(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		s := recoveryService(e)
		s.Uploads = recovery.NewUploadGate(1)
		_, dev, _ := rcSetup(t, e)
		req := flowtest.Req("203.0.113.9", dev)
		const other = "taro@example.jp"
		odev := e.MustSignUp(t, e.JP, other, pw, other)
		enrolTOTP(t, e, other)
		oreq := flowtest.Req("203.0.113.10", odev)

		first, err := s.Start(ctx, e.JP, req, recovery.Input{Identifier: rcEmail, Password: pw})
		if err != nil {
			t.Fatal(err)
		}
		second, err := s.Start(ctx, e.JP, oreq, recovery.Input{Identifier: other, Password: pw})
		if err != nil {
			t.Fatal(err)
		}
		load := func(f *flow.Flow, req ninsho.Request) *flow.Flow {
			loaded, err := e.Engine.Load(ctx, f.Realm, f.ID, req)
			if err != nil {
				t.Fatal(err)
			}
			return loaded
		}
		body := newBlockingBody(recoverytest.MustPNG(t))
		done := make(chan error, 1)
		go func() {
			_, err := s.Upload(ctx, load(first.Flow, req), req, recovery.Upload{Slot: "front", DocumentType: "passport", Body: body})
			done <- err
		}()
		<-body.started
		if n := s.Uploads.Running(); n != 1 {
			t.Fatalf("running uploads = %d, want 1", n)
		}
		ans, err := s.Upload(ctx, load(first.Flow, req), req, recovery.Upload{Slot: "back", DocumentType: "passport", Body: untouched{t}})
		flowtest.WantCode(t, err, ninsho.CodeConflict)
		if ans != nil {
			t.Errorf("conflict with an answer: %+v", ans)
		}
		// A new start of the same account supersedes the draft, but the
		// account's running upload still holds its one place: the new
		// draft's upload waits its turn (conflict), taking no other.
		third, err := s.Start(ctx, e.JP, req, recovery.Input{Identifier: rcEmail, Password: pw})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Upload(ctx, load(third.Flow, req), req, recovery.Upload{Slot: "front", DocumentType: "passport", Body: untouched{t}})
		flowtest.WantCode(t, err, ninsho.CodeConflict)
		_, err = s.Upload(ctx, load(second.Flow, oreq), oreq, recovery.Upload{Slot: "front", DocumentType: "passport", Body: untouched{t}})
		flowtest.WantCode(t, err, ninsho.CodeOverloaded)
		if ninsho.ErrorOf(err).Params["retry_after_s"] != recovery.UploadRetryAfter {
			t.Errorf("overloaded params: %v", ninsho.ErrorOf(err).Params)
		}
		close(body.release)
		if err := <-done; !ninsho.IsCode(err, ninsho.CodeFlowCompleted) {
			t.Fatalf("the first upload, its draft superseded meanwhile: %v; want flow_completed", err)
		}
		if n := s.Uploads.Running(); n != 0 {
			t.Fatalf("running uploads after the first ended = %d", n)
		}
		if _, err := upload(t, e, s, second.Flow, oreq, "front", "passport", recoverytest.MustPNG(t)); err != nil {
			t.Fatalf("upload after the gate emptied: %v", err)
		}
		// A refused file leaves the gate too.
		if _, err := upload(t, e, s, third.Flow, req, "back", "passport", []byte("<html></html>")); !ninsho.IsCode(err, ninsho.CodeDocumentTypeNotAllowed) {
			t.Fatalf("html: %v", err)
		}
		if n := s.Uploads.Running(); n != 0 {
			t.Fatalf("running uploads after a refusal = %d", n)
		}
	})
}

// TestRecoveryCaptchaAsSignin: recovery is no password oracle. After
// wrong passwords from many addresses, sign-in's risk policy asks a
// CAPTCHA before the password; so does recovery — for the right password
// and a wrong one alike, without checking either. The CAPTCHA is solved
// with submit_captcha, then the password is sent with submit_password and
// the flow goes on to the upload step.
func TestRecoveryCaptchaAsSignin(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		s := recoveryService(e)
		a, _, _ := rcSetup(t, e)
		for i := range 15 {
			req := flowtest.Req("198.51.100."+strconv.Itoa(10+i), "")
			_, err := s.Start(ctx, e.JP, req, recovery.Input{Identifier: rcEmail, Password: "wrong-password-" + strconv.Itoa(i)})
			if c := ninsho.CodeOf(err); c != ninsho.CodePasswordIncorrect && c != ninsho.CodeCaptchaRequired {
				t.Fatalf("wrong password %d: %v", i, err)
			}
		}
		fresh := flowtest.Req("192.0.2.77", "")
		_, err := e.Signin.Start(ctx, e.JP, fresh, signin.Input{Identifier: rcEmail, Password: pw})
		flowtest.WantCode(t, err, ninsho.CodeCaptchaRequired)

		_, err = s.Start(ctx, e.JP, flowtest.Req("192.0.2.78", ""), recovery.Input{Identifier: rcEmail, Password: "wrong-password-x"})
		flowtest.WantCode(t, err, ninsho.CodeCaptchaRequired)
		req := flowtest.Req("192.0.2.79", "")
		ans, err := s.Start(ctx, e.JP, req, recovery.Input{Identifier: rcEmail, Password: pw})
		flowtest.WantCode(t, err, ninsho.CodeCaptchaRequired)
		if ans == nil || ans.Next == nil || ans.Next.Step != flow.StepCaptcha || ans.Next.Captcha == nil || ans.Recovery != nil {
			t.Fatalf("held start: %+v", ans)
		}
		if drafts, _ := e.DB.Drafts(ctx, "jp", a.ID); len(drafts) != 0 {
			t.Fatalf("a held start made %d drafts", len(drafts))
		}
		req.DeviceToken = ans.DeviceToken
		// Nothing but the CAPTCHA is taken at the CAPTCHA step.
		_, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitPassword, Password: pw})
		flowtest.WantCode(t, err, ninsho.CodeActionUnknown)
		answer, err := e.Captcha.Answer(ctx, ans.Next.Captcha.ID)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCaptcha, Answer: answer})
		if err != nil || got.Next == nil || got.Next.Step != flow.StepPassword {
			t.Fatalf("solved: %+v, %v", got, err)
		}
		got, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitPassword, Password: pw})
		if err != nil || got.Next == nil || got.Next.Step != flow.StepUpload || got.Recovery == nil || got.Recovery.Status != "draft" {
			t.Fatalf("password after the CAPTCHA: %+v, %v", got, err)
		}
		if _, err := upload(t, e, s, got.Flow, req, "front", "passport", recoverytest.MustPNG(t)); err != nil {
			t.Fatalf("upload: %v", err)
		}
	})
}

// TestRecoveryUnknownMeetsTheSameCaptcha: in a safe realm an identifier
// without an account is counted like one with, so wrong passwords through
// recovery meet the CAPTCHA at the same attempt for both: the answers do
// not tell which exists.
func TestRecoveryUnknownMeetsTheSameCaptcha(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		s := recoveryService(e)
		e.MustSignUp(t, e.Safe, "known@example.com", pw, "known@example.com")
		codes := func(ident string, net int) []ninsho.Code {
			var out []ninsho.Code
			for i := range 8 {
				req := flowtest.Req("203.0."+strconv.Itoa(net+i)+".9", "")
				_, err := s.Start(ctx, e.Safe, req, recovery.Input{Identifier: ident, Password: "wrong-password-" + strconv.Itoa(i)})
				out = append(out, ninsho.CodeOf(err))
			}
			return out
		}
		known, unknown := codes("known@example.com", 10), codes("nobody@example.com", 100)
		if !slices.Equal(known, unknown) {
			t.Fatalf("answers differ:\nknown   %v\nunknown %v", known, unknown)
		}
		if !slices.Contains(known, ninsho.CodeCaptchaRequired) {
			t.Fatalf("no CAPTCHA after 8 wrong passwords: %v", known)
		}
	})
}
