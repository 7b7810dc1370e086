package retention_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/retention"
	"github.com/ninsho/ninsho/internal/signin"
)

var now = time.Date(2026, 11, 25, 1, 2, 3, 0, time.UTC)

// call is one purge a Purger made.
type call struct {
	kind   retention.Kind
	cutoff time.Time
	limit  int
}

// backlogStore holds a number of due rows per kind and records the calls.
// It is not a store fake: it checks how the Purger drives any store.
type backlogStore struct {
	due   map[retention.Kind]int
	fail  map[retention.Kind]error
	calls []call
	// cancel, when set, is called after the first call.
	cancel context.CancelFunc
}

var _ retention.Store = (*backlogStore)(nil)

func (s *backlogStore) purge(k retention.Kind, cutoff time.Time, limit int) (int, error) {
	s.calls = append(s.calls, call{k, cutoff, limit})
	if s.cancel != nil {
		s.cancel()
	}
	if err := s.fail[k]; err != nil {
		return 0, err
	}
	n := min(s.due[k], limit)
	s.due[k] -= n
	return n, nil
}

func (s *backlogStore) PurgeSessions(_ context.Context, c time.Time, l int) (int, error) {
	return s.purge(retention.Sessions, c, l)
}
func (s *backlogStore) PurgeCodes(_ context.Context, c time.Time, l int) (int, error) {
	return s.purge(retention.Codes, c, l)
}
func (s *backlogStore) PurgeMessages(_ context.Context, c time.Time, l int) (int, error) {
	return s.purge(retention.Messages, c, l)
}
func (s *backlogStore) PurgeEvents(_ context.Context, c time.Time, l int) (int, error) {
	return s.purge(retention.Events, c, l)
}
func (s *backlogStore) PurgeDevices(_ context.Context, c time.Time, l int) (int, error) {
	return s.purge(retention.Devices, c, l)
}

func TestRunDeletesInBoundedBatches(t *testing.T) {
	p := retention.DefaultPolicy()
	p.BatchSize, p.BatchesPerRun = 10, 3
	cases := []struct {
		name        string
		due         map[retention.Kind]int
		wantDeleted map[retention.Kind]int
		wantBacklog []retention.Kind
		wantCalls   map[retention.Kind]int
	}{
		{
			name:        "nothing due: one call per kind",
			due:         map[retention.Kind]int{},
			wantDeleted: map[retention.Kind]int{},
			wantCalls:   map[retention.Kind]int{retention.Sessions: 1, retention.Codes: 1, retention.Messages: 1, retention.Events: 1, retention.Devices: 1},
		},
		{
			name:        "less than a batch",
			due:         map[retention.Kind]int{retention.Codes: 7},
			wantDeleted: map[retention.Kind]int{retention.Codes: 7},
			wantCalls:   map[retention.Kind]int{retention.Sessions: 1, retention.Codes: 1, retention.Messages: 1, retention.Events: 1, retention.Devices: 1},
		},
		{
			name:        "exactly one batch: a second call finds nothing",
			due:         map[retention.Kind]int{retention.Events: 10},
			wantDeleted: map[retention.Kind]int{retention.Events: 10},
			wantCalls:   map[retention.Kind]int{retention.Sessions: 1, retention.Codes: 1, retention.Messages: 1, retention.Events: 2, retention.Devices: 1},
		},
		{
			name:        "a flood: at most batches × size per kind, the rest left for the next run",
			due:         map[retention.Kind]int{retention.Sessions: 25, retention.Devices: 1000, retention.Messages: 30},
			wantDeleted: map[retention.Kind]int{retention.Sessions: 25, retention.Devices: 30, retention.Messages: 30},
			wantBacklog: []retention.Kind{retention.Messages, retention.Devices},
			wantCalls:   map[retention.Kind]int{retention.Sessions: 3, retention.Codes: 1, retention.Messages: 3, retention.Events: 1, retention.Devices: 3},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &backlogStore{due: tc.due}
			r, err := (&retention.Purger{Store: s, Policy: p}).Run(context.Background(), now)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if !reflect.DeepEqual(r.Deleted, tc.wantDeleted) {
				t.Errorf("Deleted: got %v, want %v", r.Deleted, tc.wantDeleted)
			}
			if !reflect.DeepEqual(r.Backlog, tc.wantBacklog) {
				t.Errorf("Backlog: got %v, want %v", r.Backlog, tc.wantBacklog)
			}
			gotCalls := map[retention.Kind]int{}
			for _, c := range s.calls {
				gotCalls[c.kind]++
				if c.limit != p.BatchSize {
					t.Errorf("%s purged with limit %d, want %d", c.kind, c.limit, p.BatchSize)
				}
				if want := now.Add(-p.Keep(c.kind)); !c.cutoff.Equal(want) {
					t.Errorf("%s purged with cutoff %v, want now - %v = %v", c.kind, c.cutoff, p.Keep(c.kind), want)
				}
			}
			if !reflect.DeepEqual(gotCalls, tc.wantCalls) {
				t.Errorf("calls per kind: got %v, want %v", gotCalls, tc.wantCalls)
			}
			if got, want := r.Total(), sum(tc.wantDeleted); got != want {
				t.Errorf("Total: got %d, want %d", got, want)
			}
		})
	}
}

func TestRunOrder(t *testing.T) {
	s := &backlogStore{due: map[retention.Kind]int{}}
	if _, err := (&retention.Purger{Store: s, Policy: retention.DefaultPolicy()}).Run(context.Background(), now); err != nil {
		t.Fatalf("Run: %v", err)
	}
	var got []retention.Kind
	for _, c := range s.calls {
		got = append(got, c.kind)
	}
	// Devices last: a device stays while a session refers to it.
	want := []retention.Kind{retention.Sessions, retention.Codes, retention.Messages, retention.Events, retention.Devices}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("order: got %v, want %v", got, want)
	}
}

func TestRunGoesOnAfterAFailingKind(t *testing.T) {
	boom := errors.New("disk on fire")
	s := &backlogStore{
		due:  map[retention.Kind]int{retention.Sessions: 3, retention.Events: 4},
		fail: map[retention.Kind]error{retention.Codes: boom},
	}
	r, err := (&retention.Purger{Store: s, Policy: retention.DefaultPolicy()}).Run(context.Background(), now)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "purge codes") {
		t.Errorf("Run: got error %v, want one naming codes and wrapping %v", err, boom)
	}
	if want := map[retention.Kind]int{retention.Sessions: 3, retention.Events: 4}; !reflect.DeepEqual(r.Deleted, want) {
		t.Errorf("Deleted: got %v, want %v (the other kinds purged)", r.Deleted, want)
	}
}

func TestRunStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := &backlogStore{due: map[retention.Kind]int{retention.Sessions: 5000}, cancel: cancel}
	r, err := (&retention.Purger{Store: s, Policy: retention.DefaultPolicy()}).Run(ctx, now)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run: got error %v, want context.Canceled", err)
	}
	if len(s.calls) != 1 || r.Deleted[retention.Sessions] != 1000 {
		t.Errorf("Run after cancel: got %d calls deleting %v, want the one batch before the cancel", len(s.calls), r.Deleted)
	}
}

func TestRunRefusesAnInvalidPolicy(t *testing.T) {
	p := retention.DefaultPolicy()
	p.Events = time.Hour
	s := &backlogStore{due: map[retention.Kind]int{retention.Events: 10}}
	_, err := (&retention.Purger{Store: s, Policy: p}).Run(context.Background(), now)
	if err == nil || !strings.Contains(err.Error(), "events") {
		t.Errorf("Run with events kept an hour: got %v, want an error about events", err)
	}
	if len(s.calls) != 0 {
		t.Errorf("Run with an invalid policy: got %d purges, want none", len(s.calls))
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		edit func(*retention.Policy)
		want string // "" for valid
	}{
		{"default", func(*retention.Policy) {}, ""},
		{"minimums", func(p *retention.Policy) {
			p.Codes, p.Events, p.Sessions, p.Messages, p.Devices = retention.MinCodes, retention.MinEvents, time.Second, time.Second, time.Second
			p.BatchSize, p.BatchesPerRun = 1, 1
		}, ""},
		{"largest batch", func(p *retention.Policy) { p.BatchSize = retention.MaxBatchSize }, ""},
		{"codes under an hour", func(p *retention.Policy) { p.Codes = 59 * time.Minute }, "codes: must be at least 1h"},
		{"events under 90 days", func(p *retention.Policy) { p.Events = retention.MinEvents - time.Second }, "events: must be at least 2160h"},
		{"no sessions", func(p *retention.Policy) { p.Sessions = 0 }, "sessions: must be positive"},
		{"negative devices", func(p *retention.Policy) { p.Devices = -time.Hour }, "devices: must be positive"},
		{"no messages", func(p *retention.Policy) { p.Messages = 0 }, "messages: must be positive"},
		{"batch too large", func(p *retention.Policy) { p.BatchSize = retention.MaxBatchSize + 1 }, "batch_size"},
		{"no batches", func(p *retention.Policy) { p.BatchesPerRun = 0 }, "batches_per_run"},
		{"zero value", func(p *retention.Policy) { *p = retention.Policy{} }, "sessions: must be positive"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := retention.DefaultPolicy()
			tc.edit(&p)
			err := p.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate: got %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Validate: got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestEventsOutliveTheSignInHistory ties MinEvents to what the account page
// shows: a shorter retention would empty the history early.
func TestEventsOutliveTheSignInHistory(t *testing.T) {
	if retention.MinEvents < signin.HistoryWindow {
		t.Errorf("MinEvents = %v, want at least signin.HistoryWindow = %v", retention.MinEvents, signin.HistoryWindow)
	}
	if d := retention.DefaultPolicy().Events; d < signin.HistoryWindow {
		t.Errorf("DefaultPolicy().Events = %v, want at least signin.HistoryWindow = %v", d, signin.HistoryWindow)
	}
}

func sum(m map[retention.Kind]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
