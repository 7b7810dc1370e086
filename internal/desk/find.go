package desk

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/caseref"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/identifier"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/risk"
	"github.com/ninsho/ninsho/internal/staff"
)

// How an account was found.
const (
	ViaEmail      = "email"
	ViaPhone      = "phone"
	ViaID         = "id"
	ViaReference  = "reference" // a case's reference number (S-…, or a Finder's)
	ViaRequest    = "request"   // the reference number of an error page
	MaxQuery      = 320
	maxRequestHit = 20
)

// Match is an account a search found, and how.
type Match struct {
	Account *account.Account
	Via     string
	// Request, for ViaRequest, is what the request recorded about the
	// account: anyone can quote a request id, and the request may have
	// been an outsider's attempt against the account, not its owner's.
	Request []RequestEvent
}

// RequestEvent is one event an error page's request recorded about an
// account: its type, actor, when, the client network, the outcome
// ("reason" of the event: a refusal's code) and whether the device had
// signed in to the account before ("yes", "no", or "" when not recorded).
type RequestEvent struct {
	Type, Actor, Network, Reason, FamiliarDevice string
	At                                           time.Time
}

// requestEvent describes e for staff.
func requestEvent(e *event.Event) RequestEvent {
	out := RequestEvent{Type: e.Type, Actor: e.Actor, At: e.At, Network: risk.Prefix(e.IP)}
	if p, ok := e.Data["prefix"].(string); ok && p != "" {
		out.Network = p
	}
	if r, ok := e.Data["reason"].(string); ok {
		out.Reason = r
	}
	if f, ok := e.Data["familiar_device"].(bool); ok {
		out.FamiliarDevice = map[bool]string{true: "yes", false: "no"}[f]
	}
	return out
}

// Finder finds the account of a reference number of its own kind
// (recovery cases R-…, help requests H-…). ok is false when ref is not of
// its kind or names nothing it knows.
type Finder interface {
	FindReference(ctx context.Context, ref string, kind byte) (accountID string, ok bool, err error)
}

// Find looks for accounts in the realm realmID ("" for every realm) by
// what staff typed: an e-mail address, a phone number as the owner would
// type it (normalised with each realm's region), an account id, a
// reference number (S-… of a suspension, or a Finder's kind), or the
// reference number of an error page (the request id: the accounts its
// events belong to). Nothing found is an empty list.
func (s *Service) Find(ctx context.Context, p *staff.Principal, realmID, q string) ([]Match, error) {
	if err := p.Require(staff.PermFindAccounts); err != nil {
		return nil, err
	}
	q = strings.TrimSpace(norm.NFKC.String(q))
	switch {
	case q == "":
		return nil, ninsho.FieldError(ninsho.CodeFieldRequired, "q")
	case utf8.RuneCountInString(q) > MaxQuery:
		return nil, ninsho.FieldError(ninsho.CodeFieldTooLong, "q").WithParam("max", MaxQuery)
	}
	realms := s.Realms.All()
	if realmID != "" {
		rl := s.Realms.ByID(realmID)
		if rl == nil {
			return nil, ninsho.FieldError(ninsho.CodeRequestInvalid, "realm")
		}
		realms = []*realm.Realm{rl}
	}
	inRealm := func(a *account.Account) bool { return realmID == "" || a.Realm == realmID }
	var out []Match
	seen := map[string]bool{}
	add := func(a *account.Account, via string) {
		if a != nil && inRealm(a) && !seen[a.ID] {
			seen[a.ID] = true
			out = append(out, Match{Account: a, Via: via})
		}
	}
	k := s.Kit
	if ref, kind, ok := caseref.Parse(q); ok {
		if kind == caseref.KindSuspension {
			sus, err := s.Suspensions.SuspensionByReference(ctx, ref)
			switch {
			case err == nil:
				a, err := k.Accounts.Account(ctx, sus.AccountID)
				if err != nil && !ninsho.IsCode(err, ninsho.CodeAccountNotFound) {
					return nil, err
				}
				add(a, ViaReference)
			case !ninsho.IsCode(err, ninsho.CodeNotFound):
				return nil, err
			}
		}
		for _, f := range s.Finders {
			id, ok, err := f.FindReference(ctx, ref, kind)
			if err != nil {
				return nil, err
			}
			if ok {
				if err := s.addByID(ctx, id, ViaReference, add); err != nil {
					return nil, err
				}
			}
		}
		return out, nil
	}
	if ninsho.ValidID(strings.ToLower(q)) {
		id := strings.ToLower(q)
		if err := s.addByID(ctx, id, ViaID, add); err != nil {
			return nil, err
		}
		events, err := s.Lookup.EventsByRequest(ctx, id, maxRequestHit)
		if err != nil {
			return nil, err
		}
		for _, e := range events {
			if e.AccountID != "" {
				if err := s.addByID(ctx, e.AccountID, ViaRequest, add); err != nil {
					return nil, err
				}
			}
		}
		for i := range out {
			if out[i].Via != ViaRequest {
				continue
			}
			for _, e := range events {
				if e.AccountID == out[i].Account.ID {
					out[i].Request = append(out[i].Request, requestEvent(e))
				}
			}
		}
		return out, nil
	}
	for _, rl := range realms {
		id, err := identifier.Parse(q, rl.PhoneRegion)
		if err != nil {
			continue
		}
		var a *account.Account
		via := ViaEmail
		if id.Kind == identifier.KindEmail {
			a, err = k.Accounts.AccountByEmail(ctx, rl.ID, id.Value)
		} else {
			via = ViaPhone
			a, err = k.Accounts.AccountByPhone(ctx, rl.ID, id.Value)
		}
		switch {
		case err == nil:
			add(a, via)
		case !ninsho.IsCode(err, ninsho.CodeAccountNotFound):
			return nil, err
		}
	}
	return out, nil
}

func (s *Service) addByID(ctx context.Context, id, via string, add func(*account.Account, string)) error {
	a, err := s.Kit.Accounts.Account(ctx, id)
	switch {
	case err == nil:
		add(a, via)
	case !ninsho.IsCode(err, ninsho.CodeAccountNotFound):
		return err
	}
	return nil
}

// newReference draws a suspension's reference number.
func newReference(r ninsho.Random) string { return caseref.New(caseref.KindSuspension, r) }
