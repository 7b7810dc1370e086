package store

import "context"

// CountForTest runs a SELECT COUNT(*) … on the reader, for tests that check
// what a table holds after a purge.
func (db *DB) CountForTest(ctx context.Context, query string, args ...any) (int, error) {
	var n int
	err := db.r.QueryRowContext(ctx, query, args...).Scan(&n)
	return n, err
}
