package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/caseref"
	"github.com/ninsho/ninsho/internal/help"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// NewHelpRequest returns an unsaved open help request of realm to contact,
// created at created and due 48 hours later.
func NewHelpRequest(realm, contact string, created time.Duration) *help.Request {
	return &help.Request{
		Ref: caseref.New(caseref.KindHelp, ninsho.SecureRandom), Realm: realm, Identifier: "taro@example.jp",
		Step: help.StepCodeNotReceived, QuotedRef: "S-7KP4-MX3C", Description: "<b>届きません</b>", Locale: "ja",
		Channel: "email", Contact: contact, Status: help.StatusOpen, CreatedAt: at(created), DueAt: at(created + 48*time.Hour),
	}
}

// MustCreateHelpRequest stores r or fails tb.
func MustCreateHelpRequest(tb testing.TB, s help.Store, r *help.Request) *help.Request {
	tb.Helper()
	if err := s.CreateHelpRequest(context.Background(), r); err != nil {
		tb.Fatalf("CreateHelpRequest: %v", err)
	}
	return r
}

// Help checks help.Store: the round trip with answers, a taken reference,
// the queue's order (earliest due first, closed ones left out) and limit,
// the overdue count, the open count per contact, an account's requests,
// closing once (conflict after, not_found for an unknown one), and the
// purge of closed requests with their answers in bounded batches.
func Help(t *testing.T, open func(tb testing.TB) Stores) {
	ctx := context.Background()

	t.Run("round trip and answers", func(t *testing.T) {
		s := open(t)
		r := NewHelpRequest("jp", "contact@example.jp", 0)
		r.AccountID = NewID()
		MustCreateHelpRequest(t, s, r)
		got, err := s.HelpRequest(ctx, r.Ref)
		mustNil(t, "HelpRequest", err)
		if got.Description != r.Description || got.AccountID != r.AccountID || got.Step != r.Step || !got.DueAt.Equal(r.DueAt) ||
			got.ClosedAt != nil || len(got.Answers) != 0 {
			t.Fatalf("HelpRequest: got %s, want %s", show(got), show(r))
		}
		for i, text := range []string{"one", "two"} {
			mustNil(t, "AddHelpAnswer", s.AddHelpAnswer(ctx, &help.Answer{ID: NewID(), Ref: r.Ref, Actor: "staff:1", Text: text,
				Channel: "email", MessageID: NewID(), CreatedAt: at(time.Duration(i+1) * time.Minute)}))
		}
		got, err = s.HelpRequest(ctx, r.Ref)
		mustNil(t, "HelpRequest", err)
		if len(got.Answers) != 2 || got.Answers[0].Text != "one" || got.Answers[1].Text != "two" {
			t.Errorf("answers: got %s, want one then two", show(got.Answers))
		}
		if err := s.AddHelpAnswer(ctx, &help.Answer{ID: NewID(), Ref: "H-AAAA-AAAA", Actor: "staff:1", Text: "x", CreatedAt: at(0)}); !ninsho.IsCode(err, ninsho.CodeNotFound) {
			t.Errorf("AddHelpAnswer to unknown ref: got %v, want not_found", err)
		}
		if _, err := s.HelpRequest(ctx, "H-AAAA-AAAA"); !ninsho.IsCode(err, ninsho.CodeNotFound) {
			t.Errorf("HelpRequest unknown: got %v, want not_found", err)
		}
		dup := NewHelpRequest("jp", "x@example.jp", 0)
		dup.Ref = r.Ref
		if err := s.CreateHelpRequest(ctx, dup); !ninsho.IsCode(err, ninsho.CodeConflict) {
			t.Errorf("CreateHelpRequest with a taken ref: got %v, want conflict", err)
		}
		none := NewHelpRequest("jp", "y@example.jp", 0)
		MustCreateHelpRequest(t, s, none)
		if got, _ := s.HelpRequest(ctx, none.Ref); got == nil || got.AccountID != "" {
			t.Errorf("unlinked request: got %s, want account_id empty", show(got))
		}
	})

	t.Run("queue, overdue, counts, close", func(t *testing.T) {
		s := open(t)
		late := MustCreateHelpRequest(t, s, NewHelpRequest("jp", "a@example.jp", 0))
		mid := MustCreateHelpRequest(t, s, NewHelpRequest("us", "a@example.jp", time.Hour))
		soon := MustCreateHelpRequest(t, s, NewHelpRequest("jp", "a@example.jp", 2*time.Hour))
		closed := MustCreateHelpRequest(t, s, NewHelpRequest("jp", "b@example.jp", -time.Hour))
		mustNil(t, "CloseHelpRequest", s.CloseHelpRequest(ctx, closed.Ref, at(time.Minute), "staff:1", "done"))
		q, total, err := s.HelpQueue(ctx, help.QueueFilter{Limit: 10})
		mustNil(t, "HelpQueue", err)
		if len(q) != 3 || total != 3 || q[0].Ref != late.Ref || q[1].Ref != mid.Ref || q[2].Ref != soon.Ref {
			t.Fatalf("HelpQueue: got %s (%d in all), want late, mid, soon", show(q), total)
		}
		if q, _, _ := s.HelpQueue(ctx, help.QueueFilter{Limit: 1}); len(q) != 1 {
			t.Errorf("HelpQueue limit 1: got %d rows", len(q))
		}
		for _, tt := range []struct {
			now  time.Duration
			want int
		}{{47 * time.Hour, 0}, {48*time.Hour + time.Second, 1}, {51 * time.Hour, 3}} {
			n, err := s.CountOverdueHelpRequests(ctx, at(tt.now))
			mustNil(t, "CountOverdueHelpRequests", err)
			if n != tt.want {
				t.Errorf("CountOverdueHelpRequests(%v): got %d, want %d", tt.now, n, tt.want)
			}
		}
		if n, _ := s.CountOpenHelpRequestsTo(ctx, "jp", "a@example.jp"); n != 2 {
			t.Errorf("CountOpenHelpRequestsTo jp a: got %d, want 2", n)
		}
		if n, _ := s.CountOpenHelpRequestsTo(ctx, "jp", "b@example.jp"); n != 0 {
			t.Errorf("CountOpenHelpRequestsTo closed: got %d, want 0", n)
		}
		got, _ := s.HelpRequest(ctx, closed.Ref)
		if got.Status != help.StatusClosed || got.ClosedAt == nil || !got.ClosedAt.Equal(at(time.Minute)) || got.ClosedBy != "staff:1" || got.CloseReason != "done" {
			t.Errorf("closed: got %s", show(got))
		}
		if err := s.CloseHelpRequest(ctx, closed.Ref, at(time.Hour), "staff:2", "again"); !ninsho.IsCode(err, ninsho.CodeConflict) {
			t.Errorf("close twice: got %v, want conflict", err)
		}
		if err := s.CloseHelpRequest(ctx, "H-AAAA-AAAA", at(time.Hour), "staff:2", "x"); !ninsho.IsCode(err, ninsho.CodeNotFound) {
			t.Errorf("close unknown: got %v, want not_found", err)
		}
	})

	t.Run("account requests", func(t *testing.T) {
		s := open(t)
		acct := NewID()
		older := NewHelpRequest("jp", "a@example.jp", 0)
		older.AccountID = acct
		newer := NewHelpRequest("jp", "b@example.jp", time.Hour)
		newer.AccountID = acct
		other := NewHelpRequest("us", "c@example.jp", time.Hour)
		other.AccountID = acct
		for _, r := range []*help.Request{older, newer, other, NewHelpRequest("jp", "d@example.jp", 0)} {
			MustCreateHelpRequest(t, s, r)
		}
		got, err := s.AccountHelpRequests(ctx, "jp", acct)
		mustNil(t, "AccountHelpRequests", err)
		if len(got) != 2 || got[0].Ref != newer.Ref || got[1].Ref != older.Ref {
			t.Errorf("AccountHelpRequests: got %s, want newer, older", show(got))
		}
	})

	t.Run("queue pages and filters", func(t *testing.T) {
		s := open(t)
		var all []*help.Request
		for i := 0; i < 5; i++ {
			r := NewHelpRequest("jp", fmt.Sprintf("spam%d@example.jp", i), time.Duration(i)*time.Minute)
			all = append(all, MustCreateHelpRequest(t, s, r))
		}
		linked := NewHelpRequest("jp", "real@example.jp", time.Hour)
		linked.AccountID, linked.Identifier = NewID(), "hanako@example.jp"
		all = append(all, MustCreateHelpRequest(t, s, linked))
		closed := MustCreateHelpRequest(t, s, NewHelpRequest("jp", "real@example.jp", 0))
		mustNil(t, "CloseHelpRequest", s.CloseHelpRequest(ctx, closed.Ref, at(time.Minute), "staff:1", "done"))
		q, n, err := s.HelpQueue(ctx, help.QueueFilter{Offset: 4, Limit: 2})
		mustNil(t, "HelpQueue", err)
		if n != 6 || len(q) != 2 || q[0].Ref != all[4].Ref || q[1].Ref != all[5].Ref {
			t.Errorf("HelpQueue page 3 of 2: got %d %s, want 6, the last two", n, show(q))
		}
		if q, n, _ := s.HelpQueue(ctx, help.QueueFilter{Offset: 6, Limit: 2}); n != 6 || len(q) != 0 {
			t.Errorf("HelpQueue past the end: got %d %s", n, show(q))
		}
		if q, n, _ := s.HelpQueue(ctx, help.QueueFilter{Linked: true, Limit: 10}); n != 1 || len(q) != 1 || q[0].Ref != linked.Ref {
			t.Errorf("HelpQueue linked: got %d %s, want the linked one", n, show(q))
		}
		for _, v := range [][]string{{"real@example.jp"}, {linked.Ref}, {"x", "hanako@example.jp"}} {
			if q, n, _ := s.HelpQueue(ctx, help.QueueFilter{Values: v, Limit: 10}); n != 1 || len(q) != 1 || q[0].Ref != linked.Ref {
				t.Errorf("HelpQueue %v: got %d %s, want the open one to real@", v, n, show(q))
			}
		}
		if _, n, _ := s.HelpQueue(ctx, help.QueueFilter{Values: []string{"spam1@example.jp"}, Linked: true, Limit: 10}); n != 0 {
			t.Errorf("HelpQueue unlinked value with linked: got %d, want 0", n)
		}
	})

	t.Run("purge closed in batches", func(t *testing.T) {
		s := open(t)
		var refs []string
		for i := range 3 {
			r := MustCreateHelpRequest(t, s, NewHelpRequest("jp", "a@example.jp", 0))
			mustNil(t, "AddHelpAnswer", s.AddHelpAnswer(ctx, &help.Answer{ID: NewID(), Ref: r.Ref, Actor: "staff:1", Text: "x",
				Channel: "email", MessageID: NewID(), CreatedAt: at(time.Minute)}))
			mustNil(t, "CloseHelpRequest", s.CloseHelpRequest(ctx, r.Ref, at(time.Duration(i)*time.Hour), "staff:1", "done"))
			refs = append(refs, r.Ref)
		}
		open := MustCreateHelpRequest(t, s, NewHelpRequest("jp", "b@example.jp", 0))
		n, err := s.PurgeHelpRequests(ctx, at(10*time.Hour), 2)
		mustNil(t, "PurgeHelpRequests", err)
		if n != 2 {
			t.Errorf("PurgeHelpRequests limit 2: got %d, want 2", n)
		}
		n, err = s.PurgeHelpRequests(ctx, at(90*time.Minute), 10)
		mustNil(t, "PurgeHelpRequests", err)
		if n != 0 {
			t.Errorf("PurgeHelpRequests before the last one closed: got %d, want 0", n)
		}
		n, _ = s.PurgeHelpRequests(ctx, at(10*time.Hour), 10)
		if n != 1 {
			t.Errorf("PurgeHelpRequests rest: got %d, want 1", n)
		}
		for _, ref := range refs {
			if _, err := s.HelpRequest(ctx, ref); !ninsho.IsCode(err, ninsho.CodeNotFound) {
				t.Errorf("purged %s: got %v, want not_found", ref, err)
			}
		}
		if _, err := s.HelpRequest(ctx, open.Ref); err != nil {
			t.Errorf("open request after purge: %v", err)
		}
	})
}
