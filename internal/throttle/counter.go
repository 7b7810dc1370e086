package throttle

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"time"

	"github.com/ninsho/ninsho/internal/ninsho"
)

// Buckets: a window is counted in buckets of window/Buckets, at least
// MinBucket long. A count over the window therefore covers between
// window-bucket and window of history: the oldest bucket leaves the window
// whole, never partly.
const (
	Buckets   = 15
	MinBucket = time.Second
)

// Counter counts events per key over sliding windows, in buckets kept in the
// Store, so that every instance sharing the store sees the same counts. A
// key is always counted over the same window: Hit and Count of one key must
// agree on it, since the bucket size and the buckets' lifetime follow from
// the window given to Hit.
//
// A Counter is safe for concurrent use: concurrent Hits add up exactly
// (each is one atomic upsert). Its methods take part in the transaction
// carried by ctx.
type Counter struct {
	Store Store
	Clock ninsho.Clock
}

// bucketSize returns the bucket length for window.
func bucketSize(window time.Duration) time.Duration {
	return max(window/Buckets, MinBucket)
}

// Hit adds n events to key now. It keeps the bucket until it can no longer
// fall inside window. n of 0 does nothing; a negative n or a window shorter
// than a second is a programming error and fails.
func (c *Counter) Hit(ctx context.Context, key string, n int, window time.Duration) error {
	if n == 0 {
		return nil
	}
	if n < 0 || window < MinBucket {
		return ninsho.Internal("throttle: hit %q with n=%d over %v", key, n, window)
	}
	size := bucketSize(window)
	start := c.Clock.Now().Truncate(size)
	return c.Store.AddToBucket(ctx, key, start, n, start.Add(window+size))
}

// Count returns the events of key within window before now.
func (c *Counter) Count(ctx context.Context, key string, window time.Duration) (int, error) {
	m, err := c.Counts(ctx, []string{key}, window)
	if err != nil {
		return 0, err
	}
	return m[key], nil
}

// Counts returns, for each of keys, its events within window before now, in
// one query. Keys without events map to 0.
func (c *Counter) Counts(ctx context.Context, keys []string, window time.Duration) (map[string]int, error) {
	if window < MinBucket {
		return nil, ninsho.Internal("throttle: count over %v", window)
	}
	if len(keys) == 0 {
		return map[string]int{}, nil
	}
	return c.Store.SumBuckets(ctx, keys, since(c.Clock.Now(), window))
}

// since returns the start of the oldest bucket inside the window that ends at
// now: the first bucket boundary after now-window.
func since(now time.Time, window time.Duration) time.Time {
	size := bucketSize(window)
	return now.Add(-window).Truncate(size).Add(size)
}

// HitDistinct records member in the set setKey and returns the number of
// distinct members the set has seen within window, this one included: for
// example the distinct identifiers tried from one address, with setKey a
// Key of the address and member the identifier.
//
// A member counts once per window: it is added to the set, with a marker of
// its own (a key derived from setKey and member), only when its marker has
// no event within window. Two concurrent calls for the same member may both
// add it; the count then errs high, towards protection.
func (c *Counter) HitDistinct(ctx context.Context, setKey, member string, window time.Duration) (int, error) {
	marker := MemberKey(setKey, member)
	seen, err := c.Count(ctx, marker, window)
	if err != nil {
		return 0, err
	}
	if seen == 0 {
		if err := c.Hit(ctx, marker, 1, window); err != nil {
			return 0, err
		}
		if err := c.Hit(ctx, setKey, 1, window); err != nil {
			return 0, err
		}
	}
	return c.Count(ctx, setKey, window)
}

// MemberKey returns the key of the marker that HitDistinct keeps for member
// of the set setKey.
func MemberKey(setKey, member string) string {
	h := sha256.New()
	writePart(h, setKey)
	writePart(h, member)
	return "distinct|~" + base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// writePart writes s length-prefixed, so that no two (setKey, member) pairs
// hash alike.
func writePart(h hash.Hash, s string) {
	n := len(s)
	h.Write([]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
	h.Write([]byte(s))
}
