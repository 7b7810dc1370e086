package message

import (
	"context"
	"time"
)

// Backlog is the outbox's pending work: how many messages wait for a
// delivery (first or retried) and when the oldest of them was enqueued.
type Backlog struct {
	Pending int
	Oldest  time.Time // zero when Pending is 0
}

// BacklogStore reads the backlog. It is a read of its own, outside any
// transaction; its cost grows with the number of pending messages only.
type BacklogStore interface {
	OutboxBacklog(ctx context.Context) (Backlog, error)
}
