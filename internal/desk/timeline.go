package desk

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/identifier"
	"github.com/ninsho/ninsho/internal/staff"
)

// Kinds of timeline entries. A Source adds its own.
const (
	KindEvent      = "event"
	KindMessage    = "message"
	KindSuspension = "suspension"
)

// Detail is one labelled value of an entry: never a secret, a code or a
// message body.
type Detail struct {
	Label string // a stable key ("reason", "channel", "to", …)
	Value string
}

// Entry is one line of an account's timeline.
type Entry struct {
	At        time.Time
	Kind      string // KindEvent, KindMessage, KindSuspension or a Source's
	Type      string // the event type, message template or suspension state
	Actor     string // who: "account:<id>", "staff:<id>", "system", "anonymous"
	IP        string
	UserAgent string
	RequestID string
	Details   []Detail
}

// Source adds entries of its own to every account's timeline: document
// recovery cases and help requests plug in here without changing this
// package. Timeline returns at most limit entries about a, any order.
type Source interface {
	Timeline(ctx context.Context, a *account.Account, limit int) ([]Entry, error)
}

// TimelineLimit is how many entries of each kind a timeline reads.
const TimelineLimit = 200

// Timeline returns the account's timeline, newest first: its events
// (sign-ins with their reasons, locks, changes, staff actions with their
// written reasons), the messages sent to its addresses (template, channel,
// masked destination, delivery status, never the body), its suspensions
// and what every Source adds.
func (s *Service) Timeline(ctx context.Context, p *staff.Principal, a *account.Account) ([]Entry, error) {
	if err := p.Require(staff.PermTimeline); err != nil {
		return nil, err
	}
	var out []Entry
	events, err := s.Kit.Events.AccountEvents(ctx, a.ID, time.Time{}, TimelineLimit)
	if err != nil {
		return nil, err
	}
	for _, e := range events {
		out = append(out, eventEntry(e))
	}
	var to []string
	for _, v := range []string{a.Email, a.Phone} {
		if v != "" {
			to = append(to, v)
		}
	}
	region := ""
	if rl := s.Realms.ByID(a.Realm); rl != nil {
		region = rl.PhoneRegion
	}
	msgs, err := s.Lookup.MessagesTo(ctx, a.Realm, to, TimelineLimit)
	if err != nil {
		return nil, err
	}
	for _, m := range msgs {
		out = append(out, Entry{At: m.CreatedAt, Kind: KindMessage, Type: m.Template, Actor: "system", Details: []Detail{
			{"channel", string(m.Channel)},
			{"to", identifier.Mask(identifier.Normalized(m.To), region)},
			{"delivery", string(m.Delivery)},
			{"attempts", fmt.Sprint(m.Attempts)},
			{"provider", m.Provider},
		}})
	}
	sus, err := s.Suspensions.Suspensions(ctx, a.ID, TimelineLimit)
	if err != nil {
		return nil, err
	}
	for _, x := range sus {
		out = append(out, Entry{At: x.At, Kind: KindSuspension, Type: "suspended", Actor: x.By, Details: []Detail{
			{"reference", x.Reference}, {"public_reason", string(x.Reason)}, {"reason", x.Note},
		}})
		if x.LiftedAt != nil {
			out = append(out, Entry{At: *x.LiftedAt, Kind: KindSuspension, Type: "lifted", Actor: x.LiftedBy, Details: []Detail{
				{"reference", x.Reference}, {"reason", x.LiftNote},
			}})
		}
	}
	for _, src := range s.Sources {
		more, err := src.Timeline(ctx, a, TimelineLimit)
		if err != nil {
			return nil, err
		}
		out = append(out, more...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.After(out[j].At) })
	return out, nil
}

// eventEntry shows an event: its data as details, sorted by key, lists
// joined.
func eventEntry(e *event.Event) Entry {
	en := Entry{At: e.At, Kind: KindEvent, Type: e.Type, Actor: e.Actor, IP: e.IP, UserAgent: e.UserAgent, RequestID: e.RequestID}
	keys := make([]string, 0, len(e.Data))
	for k := range e.Data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := e.Data[k]
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case []any, []string:
			s = fmt.Sprint(event.DataStrings(x))
		case float64:
			s = fmt.Sprint(x)
		default:
			s = fmt.Sprint(x)
		}
		en.Details = append(en.Details, Detail{Label: k, Value: s})
	}
	return en
}
