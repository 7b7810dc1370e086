package event

import (
	"context"

	"github.com/ninsho/ninsho/internal/ninsho"
)

// Observer is told of the events the database kept: metrics and the
// security log watch the audit trail instead of every service counting for
// itself. Observe runs after the transaction that appended e has committed
// (never after a rollback), on the goroutine that committed it; it must not
// block and must not change e.
type Observer interface {
	Observe(e *Event)
}

// Observed is a Store that tells Observers of every event it appends, once
// the event's transaction has committed (ninsho.AfterCommit).
type Observed struct {
	Store
	Observers []Observer
}

// AppendEvent stores e and, after commit, tells the observers.
func (o *Observed) AppendEvent(ctx context.Context, e *Event) error {
	if err := o.Store.AppendEvent(ctx, e); err != nil {
		return err
	}
	if len(o.Observers) > 0 {
		ninsho.AfterCommit(ctx, func() {
			for _, ob := range o.Observers {
				ob.Observe(e)
			}
		})
	}
	return nil
}
