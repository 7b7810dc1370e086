package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
)

// writeTx is a transaction InTx opened: the statements run on it, and it
// ends with one commit or rollback.
type writeTx interface {
	querier
	commit() error
	// rollback ends the transaction; after the end it returns sql.ErrTxDone.
	rollback() error
}

// begin opens a write transaction: on PostgreSQL a *sql.Tx, on SQLite a
// transaction on the one writer connection (sqliteTx). Both wait for a
// connection only as long as ctx lasts.
func (db *DB) begin(ctx context.Context) (writeTx, error) {
	if db.d.name != sqliteDialect.name {
		tx, err := db.w.BeginTx(ctx, nil)
		if err != nil {
			return nil, err
		}
		return sqlTx{tx}, nil
	}
	conn, err := db.w.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(context.WithoutCancel(ctx), sqliteBegin); err != nil {
		return nil, errors.Join(err, conn.Close())
	}
	return &sqliteTx{conn: conn}, nil
}

// sqlTx is a database/sql transaction (PostgreSQL).
type sqlTx struct{ *sql.Tx }

func (t sqlTx) commit() error   { return t.Commit() }
func (t sqlTx) rollback() error { return t.Rollback() }

// SQLite statement texts of a write transaction; cachingConn knows them, to
// count write transactions (DB.WriteTransactions).
const (
	sqliteBegin    = "BEGIN IMMEDIATE"
	sqliteCommit   = "COMMIT"
	sqliteRollback = "ROLLBACK"
)

// sqliteTx is a write transaction on SQLite's one writer connection, held
// as a *sql.Conn from BEGIN IMMEDIATE to COMMIT or ROLLBACK, rather than a
// *sql.Tx. database/sql watches every *sql.Tx with a goroutine of its own,
// and the rows of every query in one with another (to roll back or close
// them when the context ends): four goroutines for a sign-in, each woken
// again at the commit, and each waking an idle processor. The statements of
// a sqliteTx run with their contexts unwatched, like SQLite's reads: the
// writer connection is awaited only as long as the caller's context lasts
// (begin), and a statement given a context that has ended fails with its
// error, so that the transaction rolls back; but a statement already
// running is not interrupted when the client goes away (each is a bounded,
// indexed one), and nothing rolls back between two statements.
type sqliteTx struct {
	conn  *sql.Conn
	ended bool
}

func (t *sqliteTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.conn.ExecContext(unwatched(ctx), query, args...)
}

func (t *sqliteTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.conn.QueryContext(unwatched(ctx), query, args...)
}

func (t *sqliteTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return t.conn.QueryRowContext(unwatched(ctx), query, args...)
}

// commit commits and gives the writer connection back. A COMMIT that
// fails leaves SQLite's transaction open, so it is rolled back.
func (t *sqliteTx) commit() error {
	if t.ended {
		return sql.ErrTxDone
	}
	if _, err := t.conn.ExecContext(context.Background(), sqliteCommit); err != nil {
		return errors.Join(err, t.rollback())
	}
	t.ended = true
	return t.conn.Close()
}

// rollback rolls back and gives the writer connection back. Where the
// ROLLBACK fails, the connection's state is unknown, and database/sql is
// told to close it rather than hand it to the next writer. (SQLite has
// rolled back already after some errors, a full disk or an I/O error; the
// ROLLBACK then fails with "no transaction is active", and the connection
// is replaced all the same, which costs only its prepared statements.)
func (t *sqliteTx) rollback() error {
	if t.ended {
		return sql.ErrTxDone
	}
	t.ended = true
	_, err := t.conn.ExecContext(context.Background(), sqliteRollback)
	if err != nil {
		_ = t.conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	if cerr := t.conn.Close(); cerr != nil && !errors.Is(cerr, sql.ErrConnDone) {
		err = errors.Join(err, cerr)
	}
	return err
}
