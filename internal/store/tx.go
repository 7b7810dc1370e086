package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
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
	t := &sqliteTx{unwatchedQuerier: unwatchedQuerier{conn}, conn: conn}
	if err := t.driver(func(c driver.Conn) (err error) {
		b, ok := c.(driver.ConnBeginTx)
		if !ok {
			return fmt.Errorf("store: sqlite connection %T cannot begin a transaction", c)
		}
		t.tx, err = b.BeginTx(ctx, driver.TxOptions{})
		return err
	}); err != nil {
		return nil, errors.Join(err, conn.Close())
	}
	return t, nil
}

// sqlTx is a database/sql transaction (PostgreSQL).
type sqlTx struct{ *sql.Tx }

func (t sqlTx) commit() error   { return t.Commit() }
func (t sqlTx) rollback() error { return t.Rollback() }

// sqliteTx is a write transaction on SQLite's one writer connection: the
// driver's own transaction (BEGIN IMMEDIATE, counted by cachingConn.BeginTx)
// on a *sql.Conn held from its begin to its end, rather than a *sql.Tx.
// database/sql watches every *sql.Tx with a goroutine of its own, and the
// rows of every query in one with another (to roll back or close them when
// the context ends): four goroutines for a sign-in, each woken again at the
// commit, and each waking an idle processor. The statements of a sqliteTx
// run with their contexts unwatched, like SQLite's reads: the writer
// connection is awaited only as long as the caller's context lasts (begin),
// and a statement given a context that has ended fails with its error, so
// that the transaction rolls back; but a statement already running is not
// interrupted when the client goes away (each is a bounded, indexed one),
// and nothing rolls back between two statements.
type sqliteTx struct {
	unwatchedQuerier // over conn
	conn             *sql.Conn
	tx               driver.Tx
	ended            bool
}

// driver runs fn on the writer's driver connection; an error from it other
// than driver.ErrBadConn leaves the connection in use.
func (t *sqliteTx) driver(fn func(driver.Conn) error) error {
	return t.conn.Raw(func(c any) error { return fn(c.(driver.Conn)) })
}

// commit commits and gives the writer connection back.
func (t *sqliteTx) commit() error {
	return t.end(driver.Tx.Commit)
}

// rollback rolls back and gives the writer connection back.
func (t *sqliteTx) rollback() error {
	return t.end(driver.Tx.Rollback)
}

// end ends the transaction with how (the driver's Commit or Rollback) and
// gives the writer connection back. Where it fails, the connection's state
// is not known (the driver rolls a failed COMMIT back, and SQLite has
// rolled back already after some errors, a full disk or an I/O error), so
// database/sql is told to close it rather than hand it to the next writer,
// which costs only its prepared statements.
func (t *sqliteTx) end(how func(driver.Tx) error) error {
	if t.ended {
		return sql.ErrTxDone
	}
	t.ended = true
	var err error
	_ = t.driver(func(driver.Conn) error {
		if err = how(t.tx); err != nil {
			return driver.ErrBadConn // to database/sql only: err is the answer
		}
		return nil
	})
	if cerr := t.conn.Close(); cerr != nil && !errors.Is(cerr, sql.ErrConnDone) {
		err = errors.Join(err, cerr)
	}
	return err
}
