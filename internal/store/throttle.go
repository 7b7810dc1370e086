package store

import (
	"context"
	"strings"
	"time"

	"github.com/ninsho/ninsho/internal/throttle"
)

var _ throttle.Store = (*DB)(nil)

// AddToBucket adds n to the bucket (key, start), creating it, and keeps it
// until expires (the later of the stored and the given expiry). It is one
// upsert, so concurrent additions add up exactly on both databases.
func (db *DB) AddToBucket(ctx context.Context, key string, start time.Time, n int, expires time.Time) error {
	_, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO throttle_bucket (key, start, count, expires_at)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (key, start) DO UPDATE SET
			count = throttle_bucket.count + excluded.count,
			expires_at = CASE WHEN excluded.expires_at > throttle_bucket.expires_at
				THEN excluded.expires_at ELSE throttle_bucket.expires_at END`,
		key, us(start), int64(n), us(expires))
	if err != nil {
		return internal("add to throttle bucket", err)
	}
	return nil
}

// sumBucketsChunk bounds the keys of one SumBuckets query.
const sumBucketsChunk = 64

// SumBuckets returns, for each key, the sum of its buckets that start at or
// after since (0 for keys without any).
func (db *DB) SumBuckets(ctx context.Context, keys []string, since time.Time) (map[string]int, error) {
	out := make(map[string]int, len(keys))
	uniq := make([]string, 0, len(keys))
	for _, k := range keys {
		if _, ok := out[k]; !ok {
			out[k] = 0
			uniq = append(uniq, k)
		}
	}
	for len(uniq) > 0 {
		chunk := uniq[:min(len(uniq), sumBucketsChunk)]
		uniq = uniq[len(chunk):]
		if err := db.sumBuckets(ctx, chunk, since, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (db *DB) sumBuckets(ctx context.Context, keys []string, since time.Time, out map[string]int) error {
	var q strings.Builder
	q.WriteString(`SELECT key, CAST(SUM(count) AS BIGINT) FROM throttle_bucket WHERE start >= $1 AND key IN (`)
	args := make([]any, 0, len(keys)+1)
	args = append(args, us(since))
	for i, k := range keys {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString(sprintf("$%d", i+2))
		args = append(args, k)
	}
	q.WriteString(`) GROUP BY key`)
	rows, err := db.reader(ctx).QueryContext(ctx, q.String(), args...)
	if err != nil {
		return internal("sum throttle buckets", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			key string
			sum int64
		)
		if err := rows.Scan(&key, &sum); err != nil {
			return internal("sum throttle buckets", err)
		}
		out[key] = int(sum)
	}
	if err := rows.Err(); err != nil {
		return internal("sum throttle buckets", err)
	}
	return nil
}

// DeleteExpiredBuckets removes buckets that expired before t.
func (db *DB) DeleteExpiredBuckets(ctx context.Context, before time.Time) (int, error) {
	res, err := db.writer(ctx).ExecContext(ctx, `DELETE FROM throttle_bucket WHERE expires_at < $1`, us(before))
	if err != nil {
		return 0, internal("delete expired throttle buckets", err)
	}
	return rowsAffected("delete expired throttle buckets", res)
}
