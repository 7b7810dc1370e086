package review_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/caseref"
	"github.com/ninsho/ninsho/internal/desk"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/recovery"
	"github.com/ninsho/ninsho/internal/review"
	"github.com/ninsho/ninsho/internal/staff"
	"github.com/ninsho/ninsho/internal/twostep"
)

func principal(role staff.Role) *staff.Principal {
	return &staff.Principal{Staff: &staff.Staff{ID: "01a21000-0000-7000-8000-00000000000" + string(role[0]), Role: role}}
}

// TestReview: agents may do nothing here and reviewers may; the finder
// knows only submitted R-… cases; the timeline shows a case's reference,
// status, decision and document count, never the written reason.
func TestReview(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		rs := &recovery.Service{Kit: e.Kit, Realms: e.Realms, Signin: e.Signin, Gate: e.Gate, Store: e.DB, Documents: e.DB, Box: e.Box}
		s := &review.Service{Recovery: rs}
		e.MustSignUp(t, e.JP, "kaori@example.jp", "sakura-fubuki-2026", "kaori@example.jp")
		a, err := e.DB.AccountByEmail(ctx, "jp", "kaori@example.jp")
		if err != nil {
			t.Fatal(err)
		}
		c := &recovery.Case{ID: ninsho.NewID(e.Clock, e.Kit.Random), Realm: "jp", AccountID: a.ID, FlowID: ninsho.NewID(e.Clock, e.Kit.Random),
			Reference: caseref.New(caseref.KindRecovery, e.Kit.Random), Status: recovery.StatusDraft, DocumentType: recovery.Passport, CreatedAt: e.Clock.Now()}
		if err := e.DB.CreateCase(ctx, c); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := s.FindReference(ctx, c.Reference, caseref.KindRecovery); ok || err != nil {
			t.Errorf("FindReference of a draft: %v, %v; want nothing", ok, err)
		}
		now := e.Clock.Now()
		due := now.Add(48 * time.Hour)
		c.Status, c.SubmittedAt, c.DueAt = recovery.StatusOpen, &now, &due
		if err := e.DB.UpdateCase(ctx, c, recovery.StatusDraft); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			ref    string
			kind   byte
			wantOK bool
		}{
			{c.Reference, caseref.KindRecovery, true},
			{c.Reference, caseref.KindHelp, false},
			{caseref.New(caseref.KindRecovery, e.Kit.Random), caseref.KindRecovery, false},
		} {
			id, ok, err := s.FindReference(ctx, tc.ref, tc.kind)
			if err != nil || ok != tc.wantOK || (ok && id != a.ID) {
				t.Errorf("FindReference(%s, %c) = %q, %v, %v; want ok %v", tc.ref, tc.kind, id, ok, err, tc.wantOK)
			}
		}

		agent, reviewer := principal(staff.RoleAgent), principal(staff.RoleReviewer)
		req := flowtest.Req("192.0.2.44", "")
		_, err = s.Queue(ctx, agent, now)
		flowtest.WantCode(t, err, ninsho.CodeForbidden)
		_, err = s.Case(ctx, agent, c.Reference)
		flowtest.WantCode(t, err, ninsho.CodeForbidden)
		_, err = s.OpenDocument(ctx, agent, req, c.Reference, ninsho.NewID(e.Clock, e.Kit.Random))
		flowtest.WantCode(t, err, ninsho.CodeForbidden)
		_, err = s.Approve(ctx, agent, req, c.Reference, "looks fine")
		flowtest.WantCode(t, err, ninsho.CodeForbidden)
		_, err = s.Reject(ctx, agent, req, c.Reference, "blurred", "a sharper photo", "")
		flowtest.WantCode(t, err, ninsho.CodeForbidden)

		q, err := s.Queue(ctx, reviewer, now)
		if err != nil || len(q) != 1 || q[0].Reference != c.Reference || q[0].DocumentType != recovery.Passport || !q[0].SubmittedAt.Equal(now) {
			t.Fatalf("reviewer's queue: %+v, %v", q, err)
		}
		got, err := s.Case(ctx, reviewer, " "+strings.ToLower(strings.ReplaceAll(c.Reference, "-", ""))+" ")
		if err != nil || got.Case.ID != c.ID || got.Account == nil || got.Account.ID != a.ID {
			t.Fatalf("reviewer's case as typed: %+v, %v", got, err)
		}
		if _, err := s.Reject(ctx, reviewer, req, c.Reference, "The photo is blurred.", "A sharper photo.", ""); err != nil {
			t.Fatalf("reject: %v", err)
		}
		tl, err := s.Timeline(ctx, a, desk.TimelineLimit)
		if err != nil || len(tl) != 1 {
			t.Fatalf("Timeline: %+v, %v", tl, err)
		}
		details := map[string]string{}
		for _, d := range tl[0].Details {
			details[d.Label] = d.Value
		}
		if tl[0].Kind != review.KindRecovery || tl[0].Type != "rejected" || details["reference"] != c.Reference ||
			details["decided_by"] != reviewer.Staff.Actor() || details["documents"] != "0" {
			t.Errorf("timeline entry: %+v", tl[0])
		}
		if _, ok := details["reason"]; ok {
			t.Errorf("the timeline line carries the written reason: %+v", details)
		}

		// Approval of an account with an authenticator app: 2SV off; the
		// reviewer's address and browser are on recovery.approved only,
		// not on the changes the owner sees in the history.
		e.MustSignUp(t, e.JP, "hanako@example.jp", "sakura-fubuki-2026", "hanako@example.jp")
		b, err := e.DB.AccountByEmail(ctx, "jp", "hanako@example.jp")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.DB.AddCredential(ctx, &twostep.Credential{ID: ninsho.NewID(e.Clock, e.Kit.Random), Realm: "jp", AccountID: b.ID,
			Method: twostep.MethodTOTP, Sealed: []byte("lost"), CreatedAt: now, ProvedAt: &now}); err != nil {
			t.Fatal(err)
		}
		if err := e.DB.SetState(ctx, twostep.State{Realm: "jp", AccountID: b.ID, Enabled: true, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		c2 := &recovery.Case{ID: ninsho.NewID(e.Clock, e.Kit.Random), Realm: "jp", AccountID: b.ID, FlowID: ninsho.NewID(e.Clock, e.Kit.Random),
			Reference: caseref.New(caseref.KindRecovery, e.Kit.Random), Status: recovery.StatusDraft, DocumentType: recovery.Passport, CreatedAt: now}
		if err := e.DB.CreateCase(ctx, c2); err != nil {
			t.Fatal(err)
		}
		c2.Status, c2.SubmittedAt, c2.DueAt = recovery.StatusOpen, &now, &due
		if err := e.DB.UpdateCase(ctx, c2, recovery.StatusDraft); err != nil {
			t.Fatal(err)
		}
		e.Clock.Advance(time.Minute)
		if _, err := s.Approve(ctx, reviewer, req, c2.Reference, "The passport matches."); err != nil {
			t.Fatalf("approve: %v", err)
		}
		if st, err := e.DB.State(ctx, "jp", b.ID); err != nil || st.Enabled {
			t.Fatalf("2SV after approval: %+v, %v", st, err)
		}
		evs, err := e.DB.AccountEvents(ctx, b.ID, now, 100)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, ev := range evs {
			seen[ev.Type] = true
			switch {
			case ev.Type == recovery.EventApproved:
				if ev.Actor != reviewer.Staff.Actor() || ev.IP != "192.0.2.44" || ev.RequestID != req.RequestID {
					t.Errorf("recovery.approved: %+v, want the reviewer's address", ev)
				}
			case strings.HasPrefix(ev.Type, "two_step.") || strings.HasPrefix(ev.Type, "trusted_device."):
				if ev.IP != "" || ev.UserAgent != "" || ev.RequestID != req.RequestID {
					t.Errorf("%s: ip %q ua %q request %q; want the request id only", ev.Type, ev.IP, ev.UserAgent, ev.RequestID)
				}
			case ev.Type == "signin.alert_sent":
				if ev.IP != "" || ev.UserAgent != "" {
					t.Errorf("%s: ip %q ua %q; want none", ev.Type, ev.IP, ev.UserAgent)
				}
			}
		}
		if !seen[recovery.EventApproved] || !seen["two_step.disabled"] {
			t.Errorf("events after approval: %v", seen)
		}
	})
}
