// Package retention deletes what no longer needs keeping: sessions, codes,
// outbox messages and devices some time after they ended, and events after
// a fixed period. Without it every request a stranger makes would stay in
// the database for ever.
//
// A Purger deletes in bounded batches: each batch is one short statement (or
// one short transaction), and one Run executes at most a fixed number of
// batches per kind, so a housekeeping pass never holds the database (on
// SQLite: its one writer) for long, however large the backlog. What a run
// leaves, the next one continues.
package retention

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Kind names one kind of record the Purger deletes. The names are also the
// setting names of the retention configuration.
type Kind string

// Kinds, in the order a Run purges them. Devices come last: a device is
// kept while a session refers to it, so sessions go first.
const (
	Sessions Kind = "sessions"
	Codes    Kind = "codes"
	Messages Kind = "messages"
	Events   Kind = "events"
	Devices  Kind = "devices"
)

// kinds lists every kind in the order a Run purges them.
var kinds = [...]Kind{Sessions, Codes, Messages, Events, Devices}

// Bounds a valid Policy keeps within.
const (
	// MinCodes keeps every code at least an hour past its expiry: the
	// hourly cap per destination counts the codes created in the last hour,
	// and a code expires ten minutes after it was created.
	MinCodes = time.Hour
	// MinEvents keeps events at least 90 days: the account page shows the
	// sign-in history of the last 90 days (signin.HistoryWindow).
	MinEvents = 90 * 24 * time.Hour
	// MaxBatchSize bounds the rows of one statement (and the parameters of
	// the statements that list ids).
	MaxBatchSize = 10_000
)

// Policy says how long each kind is kept and how much one Run may delete.
// The zero value is not valid; start from DefaultPolicy.
type Policy struct {
	// Sessions is how long a session is kept after it ended: revoked
	// (signed out, password changed) or past its absolute expiry. A
	// session that expired by idleness counts from its absolute expiry.
	Sessions time.Duration
	// Codes is how long a verification code, used or not, is kept after it
	// expired. No code is deleted before its expiry: a "this wasn't me"
	// link lives seven days. At least MinCodes.
	Codes time.Duration
	// Messages is how long an outbox message is kept, with its delivery
	// attempts, after it was sent or failed for good (its sealed variables
	// were erased then). Pending messages are never deleted.
	Messages time.Duration
	// Devices is how long a device that no account is familiar with, that
	// no session and no flow refers to, is kept after it was last seen.
	// Such a device holds nothing but its token: deleting it only means the
	// browser gets a new token on its next visit. (Nothing updates a
	// device's last-seen time yet: it is the time it was first seen.)
	Devices time.Duration
	// Events is how long an event is kept after it occurred. At least
	// MinEvents.
	Events time.Duration
	// BatchSize is the most rows one statement deletes (1 to MaxBatchSize).
	BatchSize int
	// BatchesPerRun is the most statements one Run executes per kind; a
	// Run deletes at most BatchSize × BatchesPerRun rows of each kind.
	BatchesPerRun int
}

// DefaultPolicy returns the documented defaults (docs/operations.md,
// "Retention"):
//
//   - sessions 30 days after they ended, long enough to look into a
//     complaint about a recent sign-in;
//   - codes 7 days after expiry, well past the one-hour window of the
//     per-destination cap, and long enough to answer "I keep getting codes
//     I never asked for";
//   - messages 30 days after they were sent or failed, to answer "I never
//     got the mail" with the provider's message id and the attempts;
//   - devices 30 days after they were last seen while unattached: they
//     carry no familiarity, and a flood of strangers' devices must not
//     outlive a month;
//   - events 400 days: the 90-day sign-in history needs 90, and 13 months
//     cover a year-over-year look at an account;
//   - 1,000 rows per statement and 10 statements per kind per run, i.e. at
//     most 10,000 rows of each kind every ten minutes.
func DefaultPolicy() Policy {
	const day = 24 * time.Hour
	return Policy{
		Sessions:      30 * day,
		Codes:         7 * day,
		Messages:      30 * day,
		Devices:       30 * day,
		Events:        400 * day,
		BatchSize:     1_000,
		BatchesPerRun: 10,
	}
}

// Keep returns how long the policy keeps kind k (0 for an unknown kind).
func (p Policy) Keep(k Kind) time.Duration {
	switch k {
	case Sessions:
		return p.Sessions
	case Codes:
		return p.Codes
	case Messages:
		return p.Messages
	case Devices:
		return p.Devices
	case Events:
		return p.Events
	}
	return 0
}

// Validate returns every problem of p at once, joined; each names the
// setting it is about ("events: …", "batch_size: …").
func (p Policy) Validate() error {
	var errs []error
	for _, k := range kinds {
		if p.Keep(k) <= 0 {
			errs = append(errs, fmt.Errorf("%s: must be positive", k))
		}
	}
	if p.Codes > 0 && p.Codes < MinCodes {
		errs = append(errs, fmt.Errorf("codes: must be at least %v (the hourly code cap per destination counts the codes of the last hour)", MinCodes))
	}
	if p.Events > 0 && p.Events < MinEvents {
		errs = append(errs, fmt.Errorf("events: must be at least %v (the account page shows 90 days of sign-in history)", MinEvents))
	}
	if p.BatchSize < 1 || p.BatchSize > MaxBatchSize {
		errs = append(errs, fmt.Errorf("batch_size: must be between 1 and %d", MaxBatchSize))
	}
	if p.BatchesPerRun < 1 {
		errs = append(errs, errors.New("batches_per_run: must be at least 1"))
	}
	return errors.Join(errs...)
}

// Store deletes old records in batches. Each method deletes at most limit
// rows (none when limit <= 0) in one statement or one short transaction and
// returns how many it deleted; a count below limit means nothing more was
// due at that cutoff, or that a concurrent purge (another instance) took
// some of the rows. Each method is safe to call concurrently with the
// server's other writes and with itself: a row that stops qualifying before
// it is deleted is kept.
type Store interface {
	// PurgeSessions deletes sessions that ended before cutoff: revoked
	// before it, or whose absolute expiry is before it.
	PurgeSessions(ctx context.Context, cutoff time.Time, limit int) (int, error)
	// PurgeCodes deletes codes, used or not, that expired before cutoff.
	PurgeCodes(ctx context.Context, cutoff time.Time, limit int) (int, error)
	// PurgeMessages deletes outbox messages that reached a final status
	// (sent or failed) before cutoff, with their delivery attempts, and
	// returns how many messages it deleted. A message whose last round
	// (its due time, its sending time, or any delivery attempt) is at or
	// after cutoff is kept; pending messages are always kept.
	PurgeMessages(ctx context.Context, cutoff time.Time, limit int) (int, error)
	// PurgeEvents deletes events that occurred before cutoff.
	PurgeEvents(ctx context.Context, cutoff time.Time, limit int) (int, error)
	// PurgeDevices deletes devices last seen before cutoff that are
	// unattached: no account is familiar with them and no session or flow
	// refers to them.
	PurgeDevices(ctx context.Context, cutoff time.Time, limit int) (int, error)
}

// Report is what one Run deleted.
type Report struct {
	// Deleted counts the rows deleted per kind (messages without their
	// delivery attempts). Kinds with nothing deleted are absent.
	Deleted map[Kind]int
	// Backlog lists the kinds of which the run deleted all it may: more of
	// them may be due, and the next run goes on.
	Backlog []Kind
}

// Total returns the rows deleted of every kind.
func (r Report) Total() int {
	n := 0
	for _, c := range r.Deleted {
		n += c
	}
	return n
}

// Purger runs the retention policy against a store.
type Purger struct {
	Store  Store
	Policy Policy
}

// Run deletes the records that the policy no longer keeps at now, kind by
// kind (sessions, codes, messages, events, devices), in batches of
// Policy.BatchSize and at most Policy.BatchesPerRun batches per kind. A
// failing kind does not stop the others: Run returns what it deleted
// together with every error, joined. It stops early, returning ctx's error,
// when ctx is done. A Purger whose policy is not valid deletes nothing and
// returns the policy's problems.
func (p *Purger) Run(ctx context.Context, now time.Time) (Report, error) {
	r := Report{Deleted: map[Kind]int{}}
	if err := p.Policy.Validate(); err != nil {
		return r, fmt.Errorf("retention: %w", err)
	}
	var errs []error
	for _, k := range kinds {
		purge := p.purgeFunc(k)
		cutoff := now.Add(-p.Policy.Keep(k))
		for i := range p.Policy.BatchesPerRun {
			if err := ctx.Err(); err != nil {
				return r, errors.Join(append(errs, err)...)
			}
			n, err := purge(ctx, cutoff, p.Policy.BatchSize)
			if n > 0 {
				r.Deleted[k] += n
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("retention: purge %s: %w", k, err))
				break
			}
			if n < p.Policy.BatchSize {
				break
			}
			if i == p.Policy.BatchesPerRun-1 {
				r.Backlog = append(r.Backlog, k)
			}
		}
	}
	return r, errors.Join(errs...)
}

func (p *Purger) purgeFunc(k Kind) func(context.Context, time.Time, int) (int, error) {
	switch k {
	case Sessions:
		return p.Store.PurgeSessions
	case Codes:
		return p.Store.PurgeCodes
	case Messages:
		return p.Store.PurgeMessages
	case Events:
		return p.Store.PurgeEvents
	case Devices:
		return p.Store.PurgeDevices
	}
	panic("retention: unknown kind " + string(k))
}
