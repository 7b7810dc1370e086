package help

import (
	"context"
	"strconv"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/caseref"
	"github.com/ninsho/ninsho/internal/desk"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// KindDesk is the kind of the timeline entries help requests add
// (desk.Entry.Kind).
const KindDesk = "help"

// The console's seams: Service is a desk.Finder (an H-… reference finds
// the linked account) and a desk.Source (an account's timeline shows the
// requests linked to it).
var (
	_ desk.Finder = (*Service)(nil)
	_ desk.Source = (*Service)(nil)
)

// FindReference returns the account linked to the help request ref (kind
// caseref.KindHelp); ok is false for another kind, an unknown request or
// one linked to no account.
func (s *Service) FindReference(ctx context.Context, ref string, kind byte) (string, bool, error) {
	if kind != caseref.KindHelp {
		return "", false, nil
	}
	r, err := s.Store.HelpRequest(ctx, ref)
	switch {
	case ninsho.IsCode(err, ninsho.CodeNotFound):
		return "", false, nil
	case err != nil:
		return "", false, err
	}
	return r.AccountID, r.AccountID != "", nil
}

// Timeline returns an entry for each of the account's help requests (at
// most limit): when it was made, its status and, as details, its
// reference, the step that failed, its due time, how many answers were
// sent and when it was closed. Never the description or the contact.
func (s *Service) Timeline(ctx context.Context, a *account.Account, limit int) ([]desk.Entry, error) {
	list, err := s.ForAccount(ctx, a.Realm, a.ID)
	if err != nil {
		return nil, err
	}
	if len(list) > limit {
		list = list[:limit]
	}
	out := make([]desk.Entry, 0, len(list))
	for _, x := range list {
		full, err := s.Store.HelpRequest(ctx, x.Ref)
		if err != nil {
			return nil, err
		}
		en := desk.Entry{At: full.CreatedAt, Kind: KindDesk, Type: string(full.Status), Actor: "anonymous", Details: []desk.Detail{
			{Label: "reference", Value: full.Ref},
			{Label: "step", Value: string(full.Step)},
			{Label: "due", Value: full.DueAt.UTC().Format(time.RFC3339)},
			{Label: "answers", Value: strconv.Itoa(len(full.Answers))},
		}}
		if full.ClosedAt != nil {
			en.Details = append(en.Details, desk.Detail{Label: "closed", Value: full.ClosedAt.UTC().Format(time.RFC3339)},
				desk.Detail{Label: "closed_by", Value: full.ClosedBy})
		}
		out = append(out, en)
	}
	return out, nil
}
