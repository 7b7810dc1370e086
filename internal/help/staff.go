package help

import (
	"context"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ninsho/ninsho/internal/caseref"
	"github.com/ninsho/ninsho/internal/identifier"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// The staff's side of help requests, for the console: the queue, one
// request, an answer to its proved contact, closing, the overdue count and
// an account's requests. actor is "staff:<id>"; ninsho.Request says from
// where.

// Queue returns at most limit open requests, the earliest due first (so
// the overdue ones lead): QueuePage's first page, unfiltered.
func (s *Service) Queue(ctx context.Context, now time.Time, limit int) ([]Request, error) {
	if limit <= 0 || limit > 500 {
		limit = 500
	}
	list, _, err := s.QueuePage(ctx, "", false, 1, limit)
	return list, err
}

// QueuePage returns page (from 1) of size open requests, the earliest due
// first, and how many match in all. q, when not blank, keeps the requests
// whose reference number (as people type it), contact or identifier tried
// is what was typed: an e-mail address or phone number is normalised as at
// sign-in, with each realm's phone region. linked keeps only the requests
// linked to an account.
func (s *Service) QueuePage(ctx context.Context, q string, linked bool, page, size int) ([]Request, int, error) {
	size = min(max(size, 1), 500)
	page = max(page, 1)
	f := QueueFilter{Linked: linked, Limit: size, Offset: (page - 1) * size}
	if q = strings.TrimSpace(q); q != "" {
		if len(q) > 320 {
			q = q[:320]
		}
		f.Values = queueValues(q, s.regions())
	}
	return s.Store.HelpQueue(ctx, f)
}

// queueValues are what q may be stored as: as typed, a reference number,
// and an identifier normalised with each region.
func queueValues(q string, regions []string) []string {
	out := []string{q}
	add := func(v string) {
		for _, x := range out {
			if x == v {
				return
			}
		}
		out = append(out, v)
	}
	if ref, kind, ok := caseref.Parse(q); ok && kind == caseref.KindHelp {
		add(ref)
	}
	for _, rg := range regions {
		if id, err := identifier.Parse(q, rg); err == nil {
			add(id.Value)
		}
	}
	return out
}

// regions are the realms' phone regions.
func (s *Service) regions() []string {
	if s.Realms == nil {
		return []string{"JP"}
	}
	var out []string
	for _, rl := range s.Realms.All() {
		out = append(out, rl.PhoneRegion)
	}
	return out
}

// Request returns the request with the reference number as people quote it
// (caseref.Parse), with its answers; ninsho.CodeNotFound when there is none.
func (s *Service) Request(ctx context.Context, ref string) (*Request, error) {
	r, kind, ok := caseref.Parse(ref)
	if !ok || kind != caseref.KindHelp {
		return nil, ninsho.E(ninsho.CodeNotFound)
	}
	return s.Store.HelpRequest(ctx, r)
}

// OverdueCount counts the open requests due before now.
func (s *Service) OverdueCount(ctx context.Context, now time.Time) (int, error) {
	return s.Store.CountOverdueHelpRequests(ctx, now)
}

// ForAccount returns the realm's requests linked to the account, newest
// first (the account's timeline).
func (s *Service) ForAccount(ctx context.Context, realmID, accountID string) ([]Request, error) {
	return s.Store.AccountHelpRequests(ctx, realmID, accountID)
}

// staffActor checks that actor names a staff member.
func staffActor(actor string) error {
	if !strings.HasPrefix(actor, "staff:") || len(actor) == len("staff:") {
		return ninsho.Internal("help: actor %q is not staff", actor)
	}
	return nil
}

// Answer sends text (at most MaxAnswer characters, required) to the
// request's proved contact through the outbox, in the request's language,
// keeps it with the request and records help.answered (without the text);
// with close, the request is closed too (reason "answered"). A closed
// request is ninsho.CodeConflict.
func (s *Service) Answer(ctx context.Context, actor string, req ninsho.Request, ref, text string, close bool) (*Answer, error) {
	if err := staffActor(actor); err != nil {
		return nil, err
	}
	text = strings.TrimFunc(strings.ToValidUTF8(text, ""), unicode.IsSpace)
	switch {
	case text == "":
		return nil, ninsho.FieldError(ninsho.CodeFieldRequired, "text")
	case utf8.RuneCountInString(text) > MaxAnswer:
		return nil, ninsho.FieldError(ninsho.CodeFieldTooLong, "text").WithParam("max", MaxAnswer)
	}
	k := s.Kit
	var ans *Answer
	err := k.Tx.InTx(ctx, func(ctx context.Context) error {
		r, err := s.Request(ctx, ref)
		if err != nil {
			return err
		}
		if r.Status != StatusOpen {
			return ninsho.E(ninsho.CodeConflict).WithParam("reason", ninsho.ConflictClosed)
		}
		if r.Channel != "email" && utf8.RuneCountInString(text) > MaxSMSAnswer {
			return ninsho.FieldError(ninsho.CodeFieldTooLong, "text").WithParam("max", MaxSMSAnswer)
		}
		rl := s.Realms.ByID(r.Realm)
		if rl == nil {
			return ninsho.E(ninsho.CodeNotFound)
		}
		m, err := k.Notice(ctx, rl, message.Channel(r.Channel), r.Contact, TemplateAnswer, r.Locale, map[string]string{
			"name": "", "ref": r.Ref, "text": text,
		})
		if err != nil {
			return err
		}
		now := k.Clock.Now()
		ans = &Answer{ID: ninsho.NewID(k.Clock, k.Random), Ref: r.Ref, Actor: actor, Text: text,
			Channel: r.Channel, MessageID: m.ID, CreatedAt: now}
		if err := s.Store.AddHelpAnswer(ctx, ans); err != nil {
			return err
		}
		if err := s.record(ctx, rl, r.AccountID, actor, TypeAnswered, req, "", map[string]any{
			"ref": r.Ref, "channel": r.Channel, "message": m.ID, "closed": close,
		}); err != nil {
			return err
		}
		if close {
			return s.close(ctx, r, actor, req, "answered")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	k.Outbox.Wake()
	return ans, nil
}

// Close closes the open request ref for reason (required, at most
// MaxReason characters) and records help.closed with it. A closed request
// is ninsho.CodeConflict.
func (s *Service) Close(ctx context.Context, actor string, req ninsho.Request, ref, reason string) error {
	if err := staffActor(actor); err != nil {
		return err
	}
	reason = strings.TrimFunc(strings.ToValidUTF8(reason, ""), unicode.IsSpace)
	switch {
	case reason == "":
		return ninsho.FieldError(ninsho.CodeFieldRequired, "reason")
	case utf8.RuneCountInString(reason) > MaxReason:
		return ninsho.FieldError(ninsho.CodeFieldTooLong, "reason").WithParam("max", MaxReason)
	}
	return s.Kit.Tx.InTx(ctx, func(ctx context.Context) error {
		r, err := s.Request(ctx, ref)
		if err != nil {
			return err
		}
		if r.Status != StatusOpen {
			return ninsho.E(ninsho.CodeConflict).WithParam("reason", ninsho.ConflictClosed)
		}
		return s.close(ctx, r, actor, req, reason)
	})
}

func (s *Service) close(ctx context.Context, r *Request, actor string, req ninsho.Request, reason string) error {
	if err := s.Store.CloseHelpRequest(ctx, r.Ref, s.Kit.Clock.Now(), actor, reason); err != nil {
		return err
	}
	rl := s.Realms.ByID(r.Realm)
	if rl == nil {
		return ninsho.E(ninsho.CodeNotFound)
	}
	// A staff reason is the staff's own words, not the person's: kept.
	return s.record(ctx, rl, r.AccountID, actor, TypeClosed, req, "", map[string]any{"ref": r.Ref, "reason": reason})
}

// Purge deletes requests closed longer than the retention ago, with their
// answers, in bounded batches (at most 10 of DefaultPurgeBatch per call),
// and returns how many it deleted.
func (s *Service) Purge(ctx context.Context) (int, error) {
	keep := s.Retention
	if keep <= 0 {
		keep = DefaultRetention
	}
	before := s.Kit.Clock.Now().Add(-keep)
	total := 0
	for range 10 {
		n, err := s.Store.PurgeHelpRequests(ctx, before, DefaultPurgeBatch)
		total += n
		if err != nil || n < DefaultPurgeBatch {
			return total, err
		}
	}
	return total, nil
}
