package storetest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/recovery"
)

// RecoveryStores is what the Recovery suite exercises.
type RecoveryStores interface {
	Stores
	recovery.Store
	recovery.DocumentStore
}

// NewCase returns an unsaved draft case of accountID in realm, created at
// Epoch, with a reference of its own.
func NewCase(realm, accountID string) *recovery.Case {
	id := NewID()
	return &recovery.Case{ID: id, Realm: realm, AccountID: accountID, Reference: "R-" + id[len(id)-9:len(id)-5] + "-" + id[len(id)-4:],
		FlowID: NewID(), Status: recovery.StatusDraft, DocumentType: recovery.Passport, CreatedAt: at(0)}
}

// Recovery checks recovery.Store and recovery.DocumentStore: the round
// trip, one open case per account, a decision made once, the queue by due
// time across realms, the overdue count, documents replaced per slot and
// listed without content, and the purges of decided documents and of old
// drafts in bounded batches.
func Recovery(t *testing.T, open func(tb testing.TB) RecoveryStores) {
	ctx := context.Background()
	newAccount := func(tb testing.TB, s RecoveryStores, realm string) string {
		tb.Helper()
		return MustCreateAccount(tb, s, NewAccount(realm, NewID()+"@example.jp", "")).ID
	}
	create := func(tb testing.TB, s RecoveryStores, c *recovery.Case) *recovery.Case {
		tb.Helper()
		mustNil(tb, "CreateCase", s.CreateCase(ctx, c))
		return c
	}
	submit := func(tb testing.TB, s RecoveryStores, c *recovery.Case, due time.Time) error {
		tb.Helper()
		c.Status, c.SubmittedAt, c.DueAt = recovery.StatusOpen, ptr(at(0)), ptr(due)
		return s.UpdateCase(ctx, c, recovery.StatusDraft)
	}

	t.Run("round trip, one open case per account, decided once", func(t *testing.T) {
		s := open(t)
		a := newAccount(t, s, "jp")
		c := create(t, s, NewCase("jp", a))
		got, err := s.Case(ctx, "jp", c.Reference)
		mustNil(t, "Case", err)
		if show(got) != show(c) {
			t.Fatalf("Case: got %s, want %s", show(got), show(c))
		}
		if _, err := s.Case(ctx, "us", c.Reference); !ninsho.IsCode(err, ninsho.CodeNotFound) {
			t.Errorf("Case in another realm: %v, want not_found", err)
		}
		if got, _ := s.Case(ctx, "", c.Reference); got == nil || got.ID != c.ID {
			t.Errorf("Case in any realm: %v", got)
		}
		if o, err := s.OpenCase(ctx, "jp", a); err != nil || o != nil {
			t.Fatalf("OpenCase of a draft: %v, %v; want none", o, err)
		}
		mustNil(t, "submit", submit(t, s, c, at(48*time.Hour)))
		if o, err := s.OpenCase(ctx, "jp", a); err != nil || o == nil || o.Reference != c.Reference || !o.DueAt.Equal(at(48*time.Hour)) {
			t.Fatalf("OpenCase: %s, %v", show(o), err)
		}
		second := create(t, s, NewCase("jp", a))
		if err := submit(t, s, second, at(time.Hour)); !ninsho.IsCode(err, ninsho.CodeRecoveryCaseOpen) {
			t.Fatalf("a second open case: %v, want recovery_case_open", err)
		}
		c.Status, c.DecidedAt, c.DecidedBy, c.Reason = recovery.StatusApproved, ptr(at(time.Hour)), "staff:s1", "matches"
		mustNil(t, "decide", s.UpdateCase(ctx, c, recovery.StatusOpen))
		again := *c
		again.Status = recovery.StatusRejected
		if err := s.UpdateCase(ctx, &again, recovery.StatusOpen); !ninsho.IsCode(err, ninsho.CodeRecoveryCaseDecided) {
			t.Fatalf("a second decision: %v, want recovery_case_decided", err)
		}
		if got, _ := s.Case(ctx, "jp", c.Reference); got.Status != recovery.StatusApproved || got.Reason != "matches" || got.DecidedBy != "staff:s1" {
			t.Fatalf("after decisions: %s", show(got))
		}
		mustNil(t, "submit the second", submit(t, s, second, at(time.Hour)))
	})

	t.Run("drafts of an account", func(t *testing.T) {
		s := open(t)
		a, b := newAccount(t, s, "jp"), newAccount(t, s, "jp")
		if got, err := s.Drafts(ctx, "jp", a); err != nil || len(got) != 0 {
			t.Fatalf("Drafts of none = %s, %v", show(got), err)
		}
		first := NewCase("jp", a)
		second := NewCase("jp", a)
		second.CreatedAt = at(time.Minute)
		create(t, s, second)
		create(t, s, first)
		create(t, s, NewCase("jp", b))
		open := create(t, s, NewCase("jp", a))
		mustNil(t, "submit", submit(t, s, open, at(time.Hour)))
		got, err := s.Drafts(ctx, "jp", a)
		mustNil(t, "Drafts", err)
		if len(got) != 2 || got[0].ID != first.ID || got[1].ID != second.ID || show(got[0]) != show(first) {
			t.Fatalf("Drafts = %s, want the two drafts of the account, oldest first", show(got))
		}
		if got, _ := s.Drafts(ctx, "us", a); len(got) != 0 {
			t.Errorf("Drafts in another realm = %s", show(got))
		}
	})

	t.Run("queue by due time, overdue count", func(t *testing.T) {
		s := open(t)
		var refs []string
		for i, due := range []time.Duration{30 * time.Hour, 2 * time.Hour, 10 * time.Hour} {
			realm := []string{"jp", "us", "jp"}[i]
			c := create(t, s, NewCase(realm, newAccount(t, s, realm)))
			mustNil(t, "submit", submit(t, s, c, at(due)))
			refs = append(refs, c.Reference)
		}
		create(t, s, NewCase("jp", newAccount(t, s, "jp"))) // a draft is not queued
		got, err := s.OpenCases(ctx, 10)
		mustNil(t, "OpenCases", err)
		if len(got) != 3 || got[0].Reference != refs[1] || got[1].Reference != refs[2] || got[2].Reference != refs[0] {
			t.Fatalf("OpenCases: %s", show(got))
		}
		if got, _ := s.OpenCases(ctx, 1); len(got) != 1 {
			t.Errorf("OpenCases limit 1: %d", len(got))
		}
		for _, c := range []struct {
			t    time.Duration
			want int
		}{{time.Hour, 0}, {2 * time.Hour, 1}, {11 * time.Hour, 2}, {31 * time.Hour, 3}} {
			n, err := s.CountDueBefore(ctx, at(c.t))
			if err != nil || n != c.want {
				t.Errorf("CountDueBefore(+%v) = %d, %v; want %d", c.t, n, err, c.want)
			}
		}
	})

	t.Run("an account's cases, newest first, drafts left out", func(t *testing.T) {
		s := open(t)
		a, other := newAccount(t, s, "jp"), newAccount(t, s, "jp")
		old := create(t, s, NewCase("jp", a))
		mustNil(t, "submit", submit(t, s, old, at(48*time.Hour)))
		old.Status, old.DecidedAt, old.DecidedBy, old.Reason = recovery.StatusRejected, ptr(at(time.Hour)), "staff:s1", "blurred"
		mustNil(t, "reject", s.UpdateCase(ctx, old, recovery.StatusOpen))
		newer := NewCase("jp", a)
		newer.CreatedAt = at(2 * time.Hour)
		create(t, s, newer)
		mustNil(t, "submit", submit(t, s, newer, at(50*time.Hour)))
		draft := NewCase("jp", a)
		draft.CreatedAt = at(3 * time.Hour)
		create(t, s, draft)
		create(t, s, NewCase("jp", other))
		got, err := s.AccountCases(ctx, a, 10)
		mustNil(t, "AccountCases", err)
		if len(got) != 2 || got[0].Reference != newer.Reference || got[1].Reference != old.Reference {
			t.Fatalf("AccountCases: got %s, want the newer then the rejected case", show(got))
		}
		if got[1].Status != recovery.StatusRejected || got[1].DecidedBy != "staff:s1" {
			t.Errorf("AccountCases: the rejected case reads %s", show(got[1]))
		}
		if got, _ := s.AccountCases(ctx, a, 1); len(got) != 1 {
			t.Errorf("AccountCases limit 1: %d", len(got))
		}
		if got, _ := s.AccountCases(ctx, newAccount(t, s, "jp"), 10); len(got) != 0 {
			t.Errorf("AccountCases of an account without cases: %s", show(got))
		}
	})

	t.Run("documents per slot, purges", func(t *testing.T) {
		s := open(t)
		a := newAccount(t, s, "jp")
		c := create(t, s, NewCase("jp", a))
		doc := func(slot recovery.Slot, sealed string) *recovery.Document {
			return &recovery.Document{ID: NewID(), CaseID: c.ID, Realm: "jp", AccountID: a, Slot: slot, Mime: recovery.MimePNG,
				Size: int64(len(sealed)), SHA256: bytes.Repeat([]byte{7}, 32), Sealed: []byte(sealed), CreatedAt: at(0)}
		}
		first := doc(recovery.SlotFront, "sealed-1")
		mustNil(t, "PutDocument", s.PutDocument(ctx, first))
		front := doc(recovery.SlotFront, "sealed-2")
		mustNil(t, "PutDocument again", s.PutDocument(ctx, front))
		mustNil(t, "PutDocument address", s.PutDocument(ctx, doc(recovery.SlotAddress, "sealed-3")))
		list, err := s.Documents(ctx, c.ID)
		mustNil(t, "Documents", err)
		if len(list) != 2 || list[0].Slot != recovery.SlotAddress || list[1].ID != front.ID || list[1].Sealed != nil {
			t.Fatalf("Documents: %s", show(list))
		}
		got, err := s.Document(ctx, c.ID, front.ID)
		mustNil(t, "Document", err)
		if string(got.Sealed) != "sealed-2" || !bytes.Equal(got.SHA256, front.SHA256) || got.Size != front.Size {
			t.Fatalf("Document: %s", show(got))
		}
		if _, err := s.Document(ctx, c.ID, first.ID); !ninsho.IsCode(err, ninsho.CodeNotFound) {
			t.Errorf("replaced document: %v, want not_found", err)
		}
		if _, err := s.Document(ctx, NewID(), front.ID); !ninsho.IsCode(err, ninsho.CodeNotFound) {
			t.Errorf("document of another case: %v, want not_found", err)
		}
		// DeleteDocuments empties one case only.
		other := create(t, s, NewCase("jp", a))
		gone := &recovery.Document{ID: NewID(), CaseID: other.ID, Realm: "jp", AccountID: a, Slot: recovery.SlotFront, Mime: recovery.MimePDF,
			Size: 1, SHA256: bytes.Repeat([]byte{1}, 32), Sealed: []byte("x"), CreatedAt: at(0)}
		mustNil(t, "PutDocument other", s.PutDocument(ctx, gone))
		if n, err := s.DeleteDocuments(ctx, other.ID); err != nil || n != 1 {
			t.Fatalf("DeleteDocuments = %d, %v; want 1", n, err)
		}
		if list, _ := s.Documents(ctx, c.ID); len(list) != 2 {
			t.Fatalf("DeleteDocuments touched another case: %s", show(list))
		}
		// A draft older than the cutoff goes with its documents; a newer one stays.
		if n, err := s.PurgeDrafts(ctx, at(0), 10); err != nil || n != 0 {
			t.Fatalf("PurgeDrafts before creation = %d, %v", n, err)
		}
		old := create(t, s, NewCase("jp", a))
		mustNil(t, "submit", submit(t, s, c, at(time.Hour)))
		if n, err := s.PurgeDrafts(ctx, at(time.Second), 10); err != nil || n != 2 {
			t.Fatalf("PurgeDrafts = %d, %v; want 2", n, err)
		}
		if _, err := s.Case(ctx, "jp", old.Reference); !ninsho.IsCode(err, ninsho.CodeNotFound) {
			t.Errorf("purged draft: %v", err)
		}
		// Documents of an open case stay; of a decided case they go after the cutoff, in batches.
		if n, _ := s.PurgeDocuments(ctx, at(100*time.Hour), 10); n != 0 {
			t.Fatalf("PurgeDocuments of an open case = %d", n)
		}
		c.Status, c.DecidedAt = recovery.StatusRejected, ptr(at(2*time.Hour))
		mustNil(t, "decide", s.UpdateCase(ctx, c, recovery.StatusOpen))
		if n, _ := s.PurgeDocuments(ctx, at(2*time.Hour), 10); n != 0 {
			t.Fatalf("PurgeDocuments at the decision = %d", n)
		}
		if n, err := s.PurgeDocuments(ctx, at(3*time.Hour), 1); err != nil || n != 1 {
			t.Fatalf("PurgeDocuments batch of 1 = %d, %v", n, err)
		}
		if n, err := s.PurgeDocuments(ctx, at(3*time.Hour), 10); err != nil || n != 1 {
			t.Fatalf("PurgeDocuments rest = %d, %v", n, err)
		}
		if list, _ := s.Documents(ctx, c.ID); len(list) != 0 {
			t.Fatalf("documents after purge: %s", show(list))
		}
		if got, _ := s.Case(ctx, "jp", c.Reference); got == nil || got.Status != recovery.StatusRejected {
			t.Errorf("the case row stays after the purge: %v", got)
		}
	})
}
