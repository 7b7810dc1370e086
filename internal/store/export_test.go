package store

import "context"

// ExecForTest runs a statement on the writer, for tests that need a row the
// store's methods no longer write (rows of earlier releases).
func (db *DB) ExecForTest(ctx context.Context, query string, args ...any) error {
	_, err := db.w.ExecContext(ctx, query, args...)
	return err
}
