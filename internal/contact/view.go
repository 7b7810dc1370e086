package contact

import (
	"context"

	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
)

// Kinds of the caps' rate_limited refusals (parameter "kind"): each has a
// message of its own (catalogue error.rate_limited.<kind>). The API shows
// no parameters for them; the wait is the Retry-After header.
const (
	// LimitSession: the session started StartsPerSession changes within
	// StartWindow.
	LimitSession = "contact_session"
	// LimitAddresses: codes went to AddressesPerHour different new
	// addresses of the account this hour.
	LimitAddresses = "contact_addresses"
	// LimitCodes: the account was sent CodesPerHour codes this hour.
	LimitCodes = "contact_codes"
)

// UndoChange returns the change the undo link with token would undo, for
// the link's page to say what it undoes, without using the link; nil when
// the link cannot be used (unknown, used, expired, of another realm, or its
// change already undone).
func (s *Service) UndoChange(ctx context.Context, rl *realm.Realm, token string) (*Change, error) {
	c, err := s.Kit.Codes.UsableLink(ctx, rl.ID, code.PurposeContactUndo, token)
	if err != nil || c == nil {
		return nil, err
	}
	ch, err := s.Store.ContactChange(ctx, rl.ID, c.FlowID)
	if ninsho.IsCode(err, ninsho.CodeNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if ch.UndoneAt != nil || ch.AccountID != c.AccountID {
		return nil, nil
	}
	return ch, nil
}

// UndoChain returns what following the undo link with token would roll
// back, oldest first: the link's own change and every later change of the
// account not undone yet (Undo rolls them all back). It uses nothing; nil
// when the link cannot be used (UndoChange).
func (s *Service) UndoChain(ctx context.Context, rl *realm.Realm, token string) ([]*Change, error) {
	ch, err := s.UndoChange(ctx, rl, token)
	if err != nil || ch == nil {
		return nil, err
	}
	chain, err := s.Store.ContactChain(ctx, ch)
	if err != nil {
		return nil, err
	}
	if len(chain) == 0 || chain[0].ID != ch.ID {
		return nil, nil
	}
	return chain, nil
}
