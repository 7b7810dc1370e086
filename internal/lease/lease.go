// Package lease makes periodic work run once per period across the
// instances that share one database: before a pass, an instance takes the
// job's lease (a row naming the holder and until when); the instances that
// find it held by another skip the period. The holder renews it at its next
// pass; when it stops (closed, killed) the lease expires and another
// instance takes the job over at its next tick.
//
// A lease is a row, not a database lock: plain SQL that every
// PostgreSQL-wire engine runs (CockroachDB has no advisory locks), and
// SQLite alike.
package lease

import (
	"context"
	"time"

	"github.com/ninsho/ninsho/internal/ninsho"
)

// Store keeps the leases. Each method is one statement (or two) that is
// atomic against the other instances.
type Store interface {
	// TakeLease gives name to holder until until when nobody holds it,
	// its holder's time ended at or before now, or holder holds it
	// already (a renewal), and reports whether holder has it now.
	TakeLease(ctx context.Context, name, holder string, now, until time.Time) (bool, error)
	// ReleaseLease ends holder's lease of name (nothing if another holds
	// it), so that another may take it at once; a released lease leaves no
	// row behind.
	ReleaseLease(ctx context.Context, name, holder string) error
}

// Jobs takes the leases of one instance's periodic jobs.
type Jobs struct {
	Store Store
	Clock ninsho.Clock
	// Holder names this instance (random at start).
	Holder string
}

// Take reports whether this instance runs name's pass of this period: it
// takes (or renews) the lease for one period from now. An instance that
// stops holding it is replaced after at most one period.
func (j *Jobs) Take(ctx context.Context, name string, period time.Duration) (bool, error) {
	now := j.Clock.Now()
	return j.Store.TakeLease(ctx, name, j.Holder, now, now.Add(period))
}

// Release gives name up (at close), so that another instance takes the
// job at its next tick instead of after the lease expires.
func (j *Jobs) Release(ctx context.Context, name string) error {
	return j.Store.ReleaseLease(ctx, name, j.Holder)
}
