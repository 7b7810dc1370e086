package flowtest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/recovery"
	"github.com/ninsho/ninsho/internal/recovery/recoverytest"
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
		view, err := e.Engine.View(ctx, "jp", first.Flow.ID, req)
		if err != nil || view.Recovery == nil || view.Recovery.Status != "cancelled" || len(view.Recovery.Documents) != 0 {
			t.Fatalf("superseded draft: %+v, %v", view, err)
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
