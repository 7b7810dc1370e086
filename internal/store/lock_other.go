//go:build !unix

package store

// holdExclusive does nothing where flock(2) does not exist: a second
// server on the same SQLite file is not refused there.
func holdExclusive(string) (func() error, error) { return func() error { return nil }, nil }
