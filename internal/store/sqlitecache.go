package store

import (
	"context"
	"database/sql/driver"
	"fmt"
	"sync/atomic"

	"modernc.org/sqlite"
)

// SQLite spends as long preparing a point query as running it, and the store
// runs a small, fixed set of queries; so each SQLite connection keeps its
// prepared statements. (pgx keeps a statement cache of its own.)

// maxCachedStmts bounds each connection's cache; statements past it are
// prepared and finalized per use, as without the cache.
const maxCachedStmts = 256

// stmtCachingConnector opens SQLite connections that cache their statements.
type stmtCachingConnector struct {
	driver.Connector
	// writes, for the writer's connector, counts its write transactions
	// (DB.WriteTransactions); nil for readers.
	writes *atomic.Int64
}

func newStmtCachingConnector(dsn string, writes *atomic.Int64) (driver.Connector, error) {
	c, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return stmtCachingConnector{Connector: c, writes: writes}, nil
}

// sqliteConn is what the store needs of a modernc connection.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// sqliteStmt is what the store needs of a modernc statement.
type sqliteStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

// Connect opens a connection with an empty statement cache.
func (c stmtCachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	sc, ok := conn.(sqliteConn)
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("store: sqlite connection %T lacks a context method", conn)
	}
	return &cachingConn{sqliteConn: sc, stmts: map[string]*cachedStmt{}, writes: c.writes}, nil
}

// cachingConn is one SQLite connection with its statement cache. Like every
// driver connection it is used by one goroutine at a time, so the cache
// needs no lock.
type cachingConn struct {
	sqliteConn
	stmts map[string]*cachedStmt
	// writes counts, on the writer's connection, every transaction begun
	// and every statement run outside one (each is a transaction of its
	// own); inTx is set while a transaction is open.
	writes *atomic.Int64
	inTx   bool
}

// unwatched is ctx for a SQLite statement: with its values, but without a
// cancellation that comes with no deadline (a request's context, which ends
// when the client goes away); a context that cannot end (one unwatched
// already: statements pass here twice, in unwatchedQuerier and in cachingConn),
// one with a deadline, or one that has ended already (the statement then
// fails with its error), is kept as it is.
// modernc watches a context that can end with a goroutine of its own for
// every statement (to interrupt it) and a progress handler, and database/sql
// with another for every query's rows: a sign-in runs 19 statements, and
// each of those goroutines wakes an idle processor. The store's statements
// are bounded, indexed ones that take well under a millisecond; a write
// transaction still waits for the one writer connection only while the
// request lasts (sqliteTx), and a wait for another process's lock ends at
// busy_timeout.
func unwatched(ctx context.Context) context.Context {
	if ctx.Done() == nil {
		return ctx
	}
	if _, ok := ctx.Deadline(); ok || ctx.Err() != nil {
		return ctx
	}
	return context.WithoutCancel(ctx)
}

// BeginTx begins a transaction and, on the writer, counts it.
func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := c.sqliteConn.BeginTx(unwatched(ctx), opts)
	if err != nil || c.writes == nil {
		return tx, err
	}
	c.writes.Add(1)
	c.inTx = true
	return &countedTx{Tx: tx, c: c}, nil
}

// countedTx notes on its connection that it ended.
type countedTx struct {
	driver.Tx
	c *cachingConn
}

func (t *countedTx) Commit() error {
	t.c.inTx = false
	return t.Tx.Commit()
}

func (t *countedTx) Rollback() error {
	t.c.inTx = false
	return t.Tx.Rollback()
}

// counted counts a statement the writer runs outside a transaction.
func (c *cachingConn) counted() {
	if c.writes != nil && !c.inTx {
		c.writes.Add(1)
	}
}

// cachedStmt is a prepared statement. busy is set while rows of it are open:
// a statement has one cursor, so a second use meanwhile prepares afresh.
type cachedStmt struct {
	s     sqliteStmt
	busy  bool
	owned bool // in the cache; otherwise closed after this use
}

var (
	_ driver.ExecerContext  = (*cachingConn)(nil)
	_ driver.QueryerContext = (*cachingConn)(nil)
)

func (c *cachingConn) stmt(ctx context.Context, query string) (*cachedStmt, error) {
	cs, ok := c.stmts[query]
	if ok && !cs.busy {
		return cs, nil
	}
	ds, err := c.sqliteConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s, isStmt := ds.(sqliteStmt)
	if !isStmt {
		ds.Close()
		return nil, fmt.Errorf("store: sqlite statement %T lacks a context method", ds)
	}
	cs = &cachedStmt{s: s}
	if !ok && len(c.stmts) < maxCachedStmts {
		cs.owned = true
		c.stmts[query] = cs
	}
	return cs, nil
}

// release ends one use of cs.
func (cs *cachedStmt) release() {
	cs.busy = false
	if !cs.owned {
		cs.s.Close()
	}
}

// ExecContext runs query with the connection's prepared statement.
func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	c.counted()
	cs, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	defer cs.release()
	return cs.s.ExecContext(unwatched(ctx), args)
}

// QueryContext runs query with the connection's prepared statement; the
// statement is free again when the rows are closed.
func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	c.counted()
	cs, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	rows, err := cs.s.QueryContext(unwatched(ctx), args)
	if err != nil {
		cs.release()
		return nil, err
	}
	cs.busy = true
	return &cachedRows{Rows: rows, stmt: cs}, nil
}

// Close finalizes the cached statements and closes the connection.
func (c *cachingConn) Close() error {
	for _, cs := range c.stmts {
		cs.s.Close()
	}
	c.stmts = nil
	return c.sqliteConn.Close()
}

// cachedRows frees its statement when closed.
type cachedRows struct {
	driver.Rows
	stmt *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	if r.stmt != nil {
		r.stmt.release()
		r.stmt = nil
	}
	return err
}
