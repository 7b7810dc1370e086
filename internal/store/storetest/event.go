package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/event"
)

// Event checks event.Store: an account's events newest first, bounded by
// time and count, with their data.
func Event(t *testing.T, open func(tb testing.TB) Stores) {
	ctx := context.Background()
	s := open(t)
	mine, other := NewID(), NewID()
	newEvent := func(accountID, typ string, d time.Duration, data map[string]any) *event.Event {
		return &event.Event{
			ID: NewID(), Realm: "jp", AccountID: accountID, Type: typ, Actor: "account:" + accountID,
			IP: "203.0.113.7", UserAgent: "Mozilla/5.0 (test)", DeviceID: NewID(), RequestID: "req-1",
			Data: data, At: at(d),
		}
	}
	events := []*event.Event{
		newEvent(mine, event.TypeSignupStarted, -time.Hour, nil),
		newEvent(mine, event.TypeSignupCompleted, 0, map[string]any{"device": "familiar", "reasons": []any{"new_ip"}}),
		newEvent(mine, event.TypeSigninFailed, time.Minute, map[string]any{"reason": "password_incorrect", "locked": false}),
		newEvent(mine, event.TypeSigninSucceeded, 2*time.Minute, map[string]any{}),
		newEvent(other, event.TypeSigninSucceeded, time.Minute, nil),
		newEvent("", event.TypeSigninFailed, time.Minute, map[string]any{"identifier": "unknown"}),
	}
	for _, e := range events {
		mustNil(t, "AppendEvent", s.AppendEvent(ctx, e))
	}
	cases := []struct {
		name    string
		account string
		since   time.Time
		limit   int
		want    []*event.Event
	}{
		{"all, newest first", mine, at(-2 * time.Hour), 10, []*event.Event{events[3], events[2], events[1], events[0]}},
		{"limited", mine, at(-2 * time.Hour), 2, []*event.Event{events[3], events[2]}},
		{"since is inclusive", mine, Epoch, 10, []*event.Event{events[3], events[2], events[1]}},
		{"nothing since", mine, at(time.Hour), 10, nil},
		{"another account", other, Epoch, 10, []*event.Event{events[4]}},
		{"no limit", mine, Epoch, 0, nil},
	}
	for _, tc := range cases {
		got, err := s.AccountEvents(ctx, tc.account, tc.since, tc.limit)
		mustNil(t, "AccountEvents", err)
		if len(got) == 0 && len(tc.want) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("AccountEvents(%s):\ngot  %s\nwant %s", tc.name, show(got), show(tc.want))
		}
	}
}
