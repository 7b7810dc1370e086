// Package throttle keeps sliding-window counters in the store, so that every
// instance of a deployment sees the same counts: attempts per address, per
// prefix, per identifier, per account and per device.
package throttle

import (
	"context"
	"time"
)

// Store keeps counter buckets. A bucket is (key, start) with a count; the
// counter of a key over a window is the sum of its buckets that start inside
// the window. Methods take part in the transaction carried by ctx.
type Store interface {
	// AddToBucket adds n to the bucket (key, start), creating it, and keeps
	// it until expires.
	AddToBucket(ctx context.Context, key string, start time.Time, n int, expires time.Time) error
	// SumBuckets returns, for each key, the sum of its buckets that start at
	// or after since (0 for keys without any).
	SumBuckets(ctx context.Context, keys []string, since time.Time) (map[string]int, error)
	// DeleteExpiredBuckets removes buckets that expired before t.
	DeleteExpiredBuckets(ctx context.Context, before time.Time) (int, error)
}
