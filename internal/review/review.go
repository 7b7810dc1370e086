// Package review is how staff decide document recovery cases (issue 13):
// the reviewers' queue, a case with its account and its documents'
// metadata, opening a document, approving and rejecting with a written
// reason. Every call checks the staff member's role here (staff.Can), so
// no console page can forget it: agents see none of it. It also plugs
// recovery cases into the desk: a desk.Finder for R-… reference numbers
// and a desk.Source adding each case to its account's timeline.
//
// It holds rules only; internal/console is its HTTP adapter.
package review

import (
	"context"
	"fmt"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/caseref"
	"github.com/ninsho/ninsho/internal/desk"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/recovery"
	"github.com/ninsho/ninsho/internal/staff"
	"github.com/ninsho/ninsho/internal/twostep"
)

// KindRecovery is the desk timeline kind of a recovery case.
const KindRecovery = "recovery"

// QueueLimit is how many open cases the queue shows.
const QueueLimit = 200

// RecentSignIns is how many recent sign-in events a case page shows.
const RecentSignIns = 5

// Service decides recovery cases for staff. Recovery is required.
type Service struct {
	Recovery *recovery.Service
}

var (
	_ desk.Finder = (*Service)(nil)
	_ desk.Source = (*Service)(nil)
)

// mayReview lets reviewers and admins (who may decide cases or open their
// documents) see the queue and the cases; anyone else is forbidden.
func mayReview(p *staff.Principal) error {
	if p.Can(staff.PermRecoveryDecisions) || p.Can(staff.PermRecoveryDocuments) {
		return nil
	}
	return ninsho.E(ninsho.CodeForbidden)
}

// Queue returns the open cases of every realm for p, the earliest due
// first (so the overdue ones lead), each marked overdue at now.
func (s *Service) Queue(ctx context.Context, p *staff.Principal, now time.Time) ([]recovery.QueueItem, error) {
	if err := mayReview(p); err != nil {
		return nil, err
	}
	return s.Recovery.Queue(ctx, now, QueueLimit)
}

// Case is what a case page shows: the case, its documents' metadata (never
// their content), and its account with the second-factor methods it has and
// its latest sign-ins.
type Case struct {
	Case      *recovery.Case
	Documents []*recovery.Document
	Account   *account.Account
	TwoStepOn bool
	Methods   []twostep.MethodInfo
	SignIns   []*event.Event
}

// Case returns the case with the reference ref (as staff typed it: any
// case, full-width, no hyphens) for p; not_found when there is none.
func (s *Service) Case(ctx context.Context, p *staff.Principal, ref string) (*Case, error) {
	if err := mayReview(p); err != nil {
		return nil, err
	}
	ref, ok := parse(ref)
	if !ok {
		return nil, ninsho.E(ninsho.CodeNotFound)
	}
	v, err := s.Recovery.Case(ctx, ref)
	if err != nil {
		return nil, err
	}
	k := s.Recovery.Kit
	out := &Case{Case: v.Case, Documents: v.Documents}
	a, err := k.Accounts.Account(ctx, v.Case.AccountID)
	switch {
	case ninsho.IsCode(err, ninsho.CodeAccountNotFound):
		return out, nil // purged since
	case err != nil:
		return nil, err
	}
	out.Account = a
	if rl := s.Recovery.Realms.ByID(a.Realm); rl != nil {
		st, err := k.TwoStep.State(ctx, rl, a)
		if err != nil {
			return nil, err
		}
		out.TwoStepOn = st.Enabled
		if out.Methods, err = k.TwoStep.Methods(ctx, rl, a); err != nil {
			return nil, err
		}
	}
	events, err := k.Events.AccountEvents(ctx, a.ID, time.Time{}, desk.TimelineLimit)
	if err != nil {
		return nil, err
	}
	for _, e := range events {
		if len(out.SignIns) == RecentSignIns {
			break
		}
		switch e.Type {
		case event.TypeSigninSucceeded, event.TypeSigninFailed, event.TypeSigninSecondFactorFailed:
			out.SignIns = append(out.SignIns, e)
		}
	}
	return out, nil
}

// OpenDocument gives p the content of the document docID of the case ref
// (recovery.Service.OpenDocument records recovery.document_opened with
// p as actor and req's address, browser and request id). Only reviewers and
// admins may (staff.PermRecoveryDocuments).
func (s *Service) OpenDocument(ctx context.Context, p *staff.Principal, req ninsho.Request, ref, docID string) (*recovery.Opened, error) {
	if err := p.Require(staff.PermRecoveryDocuments); err != nil {
		return nil, err
	}
	ref, ok := parse(ref)
	if !ok {
		return nil, ninsho.E(ninsho.CodeNotFound)
	}
	return s.Recovery.OpenDocument(ctx, p.Staff.Actor(), req, ref, docID)
}

// Approve approves the open case ref by p with the written reason why
// (recovery.Service.Approve: 2SV off, trusted devices forgotten, sessions
// revoked, the owner told). Only reviewers and admins may.
func (s *Service) Approve(ctx context.Context, p *staff.Principal, req ninsho.Request, ref, why string) (*recovery.Case, error) {
	if err := p.Require(staff.PermRecoveryDecisions); err != nil {
		return nil, err
	}
	ref, ok := parse(ref)
	if !ok {
		return nil, ninsho.E(ninsho.CodeNotFound)
	}
	return s.Recovery.Approve(ctx, p.Staff.Actor(), req, ref, why)
}

// Reject rejects the open case ref by p with the reason why and what to
// send instead, both told to the owner, and an optional internal note
// kept in the audit record only. Only reviewers and admins may.
func (s *Service) Reject(ctx context.Context, p *staff.Principal, req ninsho.Request, ref, why, instead, note string) (*recovery.Case, error) {
	if err := p.Require(staff.PermRecoveryDecisions); err != nil {
		return nil, err
	}
	ref, ok := parse(ref)
	if !ok {
		return nil, ninsho.E(ninsho.CodeNotFound)
	}
	return s.Recovery.Reject(ctx, p.Staff.Actor(), req, ref, why, instead, note)
}

// OverdueCount counts the open cases past their due time at now: the
// counter the console's banner of overdue cases shows.
func (s *Service) OverdueCount(ctx context.Context, now time.Time) (int, error) {
	return s.Recovery.OverdueCount(ctx, now)
}

// FindReference finds the account of a submitted recovery case (desk.Finder).
func (s *Service) FindReference(ctx context.Context, ref string, kind byte) (string, bool, error) {
	if kind != caseref.KindRecovery {
		return "", false, nil
	}
	v, err := s.Recovery.Case(ctx, ref)
	if ninsho.IsCode(err, ninsho.CodeNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return v.Case.AccountID, true, nil
}

// Timeline adds a's recovery cases (desk.Source), each at its submission:
// the reference, the status, the document type, the due time, when and by
// whom it was decided and how many documents it still holds — never their
// content, nor the written reason (which the decision's event carries).
func (s *Service) Timeline(ctx context.Context, a *account.Account, limit int) ([]desk.Entry, error) {
	cs, err := s.Recovery.Store.AccountCases(ctx, a.ID, limit)
	if err != nil {
		return nil, err
	}
	out := make([]desk.Entry, 0, len(cs))
	for _, c := range cs {
		docs, err := s.Recovery.Documents.Documents(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		at := c.CreatedAt
		if c.SubmittedAt != nil {
			at = *c.SubmittedAt
		}
		e := desk.Entry{At: at, Kind: KindRecovery, Type: string(c.Status), Actor: "account:" + c.AccountID, Details: []desk.Detail{
			{Label: "reference", Value: c.Reference},
			{Label: "status", Value: string(c.Status)},
			{Label: "document_type", Value: string(c.DocumentType)},
		}}
		if c.DueAt != nil {
			e.Details = append(e.Details, desk.Detail{Label: "due_at", Value: stamp(*c.DueAt)})
		}
		if c.DecidedAt != nil {
			e.Details = append(e.Details, desk.Detail{Label: "decided_at", Value: stamp(*c.DecidedAt)},
				desk.Detail{Label: "decided_by", Value: c.DecidedBy})
		}
		e.Details = append(e.Details, desk.Detail{Label: "documents", Value: fmt.Sprint(len(docs))})
		out = append(out, e)
	}
	return out, nil
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

// parse reads a recovery case's reference as staff typed it.
func parse(s string) (string, bool) {
	ref, kind, ok := caseref.Parse(s)
	return ref, ok && kind == caseref.KindRecovery
}
