package ninsho

import "errors"

// Catalogue codes of an outage of the database (issue 16, fault tests). The
// store (internal/store, the one package that knows the drivers) returns
// them for connection-level failures; the answer is 503 with Retry-After,
// and nothing of the request was written.
const (
	// CodeUnavailable: the database cannot be reached (refused or lost
	// connection, the server shutting down or starting, a disk read or
	// write error). Nothing was saved; the person tries again shortly
	// (503, Retry-After: UnavailableRetryAfter).
	CodeUnavailable Code = "unavailable"
	// CodeStorageFull: the database's disk is full, so nothing can be
	// saved; what only reads still works (503, Retry-After:
	// StorageFullRetryAfter).
	CodeStorageFull Code = "storage_full"
)

// The seconds an outage answer asks the client to wait (Retry-After).
const (
	UnavailableRetryAfter = 2
	StorageFullRetryAfter = 30
)

// Unavailable returns the error for a database that cannot be reached,
// with cause err (logged, never shown).
func Unavailable(err error) *Error {
	return (&Error{Code: CodeUnavailable, Err: err}).WithParam("retry_after_s", UnavailableRetryAfter)
}

// StorageFull returns the error for a database whose disk is full, with
// cause err (logged, never shown).
func StorageFull(err error) *Error {
	return (&Error{Code: CodeStorageFull, Err: err}).WithParam("retry_after_s", StorageFullRetryAfter)
}

// IsOutage reports whether code says the database is out of reach or out
// of space: a failure on our side that passes, not a bug.
func IsOutage(code Code) bool { return code == CodeUnavailable || code == CodeStorageFull }

// outageUnder returns the outage error under an internal e — a service that
// wrapped a store's outage as its own internal failure — or nil.
func outageUnder(e *Error) *Error {
	if e.Code != CodeInternal || e.Err == nil {
		return nil
	}
	var inner *Error
	if errors.As(e.Err, &inner) && IsOutage(inner.Code) {
		return inner
	}
	if inner != nil && inner.Code == CodeInternal {
		return outageUnder(inner)
	}
	return nil
}
