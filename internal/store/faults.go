package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/ninsho/ninsho/internal/ninsho"
)

// outage classifies a driver error that says the database is out of reach
// or out of space, rather than that a statement was wrong: it returns
// ninsho.StorageFull for a full disk (SQLite SQLITE_FULL, PostgreSQL
// 53100 disk_full), ninsho.Unavailable for a connection-level failure, and
// nil for anything else (which stays internal). The cause is kept for the
// log.
//
// Connection-level failures are: pgx's failure to connect (refused, reset,
// the server starting or shutting down), PostgreSQL's classes 08
// (connection exception) and 57P01–57P03 (admin or crash shutdown, cannot
// connect now), 53300 (too many connections), a connection closed or reset
// under a statement (EOF, ECONNRESET, EPIPE, a network error, database/sql's
// bad or done connection), and SQLite's SQLITE_IOERR (a disk read or write
// failing) and SQLITE_CANTOPEN. A request's own cancelled context is never
// an outage: the client went away.
//
// Nothing here holds a connection: database/sql drops a connection whose
// driver says it is bad, and the next statement dials anew, so the store
// recovers by itself once the database answers again.
func outage(err error) *ninsho.Error {
	if err == nil || errors.Is(err, context.Canceled) {
		return nil
	}
	var e *ninsho.Error
	if errors.As(err, &e) && ninsho.IsOutage(e.Code) {
		return e
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff { // the primary code of an extended one
		case sqlite3.SQLITE_FULL:
			return ninsho.StorageFull(err)
		case sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN:
			return ninsho.Unavailable(err)
		}
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "53100":
			return ninsho.StorageFull(err)
		case strings.HasPrefix(pe.Code, "08"), pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03", pe.Code == "53300":
			return ninsho.Unavailable(err)
		}
		return nil
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &ce),
		errors.Is(err, driver.ErrBadConn),
		errors.Is(err, sql.ErrConnDone),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed),
		errors.Is(err, pgconn.ErrConnClosed),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE),
		errors.As(err, &ne),
		pgconn.SafeToRetry(err) && !errors.Is(err, context.DeadlineExceeded):
		return ninsho.Unavailable(err)
	}
	return nil
}
