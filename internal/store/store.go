// Package store is the one database adapter: it implements every feature's
// Store interface and ninsho.TxRunner on database/sql, over SQLite (the
// default, pure Go, no set-up) or PostgreSQL (several instances).
//
// The queries are hand-written in one portable SQL subset with $1..$n
// placeholders that modernc SQLite and pgx both accept, and that distributed
// PostgreSQL-compatible engines also run. The few dialect differences live in
// the dialect type. Driver errors become catalogue errors (*ninsho.Error) at
// this boundary.
//
// A DB is safe for concurrent use. On SQLite every write and every
// transaction goes through one writer connection (BEGIN IMMEDIATE), and reads
// outside a transaction through a pool of reader connections, so no caller
// ever sees "database is locked" from its own process.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/device"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/message/providers/devinbox"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/session"
)

var (
	_ ninsho.TxRunner      = (*DB)(nil)
	_ account.Store        = (*DB)(nil)
	_ account.LockStore    = (*DB)(nil)
	_ device.NetworkStore  = (*DB)(nil)
	_ flow.Store           = (*DB)(nil)
	_ code.Store           = (*DB)(nil)
	_ session.Store        = (*DB)(nil)
	_ device.Store         = (*DB)(nil)
	_ event.Store          = (*DB)(nil)
	_ message.Store        = (*DB)(nil)
	_ message.BacklogStore = (*DB)(nil)
	_ devinbox.Store       = (*DB)(nil)
)

// Options configure Open.
type Options struct {
	// DataDir holds the SQLite file ninsho.db when URL is "" or "sqlite:".
	DataDir string
	// URL selects the database: "" or "sqlite:" for <DataDir>/ninsho.db,
	// "sqlite:PATH" for a SQLite file at PATH, "postgres://…" or
	// "postgresql://…" for PostgreSQL (a pgx connection string; runtime
	// parameters such as search_path may be given as query parameters).
	URL string
	// Clock tells the time; nil means ninsho.SystemClock. The store writes
	// only the times its callers pass (never the database's clock), so today
	// nothing reads it; it is here for housekeeping that will need "now".
	Clock ninsho.Clock
	// Exclusive makes a SQLite file this process's alone while it is open
	// (serve): a second process opening it Exclusive is refused with a
	// clear error instead of sharing the file with a second server. The
	// short-lived commands (ninsho realms, clients, …) open it without, next
	// to a running server. PostgreSQL ignores it.
	Exclusive bool
}

// DB is the database adapter. It implements account.Store, flow.Store,
// code.Store, session.Store, device.Store, event.Store, message.Store,
// devinbox.Store, twostep.Store, twostep.BackupStore and ninsho.TxRunner.
type DB struct {
	w *sql.DB // writes and transactions; SQLite: one connection
	r *sql.DB // reads outside a transaction; PostgreSQL: the same pool as w
	// read is how reads outside a transaction reach r: on SQLite without
	// their contexts' cancellation (unwatchedQuerier), on PostgreSQL r itself.
	read  querier
	d     dialect
	clock ninsho.Clock
	// writes counts SQLite's write transactions (WriteTransactions).
	writes *atomic.Int64
	// release drops the Exclusive lock (nil without one).
	release func() error
	// url and channel: PostgreSQL's connection string and the schema's
	// notification channel (Publish, Listener); "" on SQLite.
	url, channel string
}

// Open opens the database that o names and brings its schema up to date.
func Open(ctx context.Context, o Options) (*DB, error) {
	clock := o.Clock
	if clock == nil {
		clock = ninsho.SystemClock{}
	}
	var (
		db  *DB
		err error
	)
	switch u := o.URL; {
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		db, err = openPostgres(u)
	case u == "" || strings.HasPrefix(u, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(u, "sqlite:"), "//")
		if path == "" {
			if o.DataDir == "" {
				return nil, ninsho.Internal("store: no data directory for the SQLite database")
			}
			path = filepath.Join(o.DataDir, "ninsho.db")
		}
		var release func() error
		if o.Exclusive {
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				return nil, ninsho.Internal("store: create data directory: %w", err)
			}
			if release, err = holdExclusive(path); err != nil {
				return nil, err
			}
		}
		if db, err = openSQLite(path); err != nil && release != nil {
			release()
		} else if err == nil {
			db.release = release
		}
	default:
		return nil, ninsho.Internal("store: unsupported database URL scheme in %q", redactURL(u))
	}
	if err != nil {
		return nil, err
	}
	db.clock = clock
	if err := db.Ping(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if db.url != "" {
		if db.channel, err = db.schemaChannel(ctx); err != nil {
			db.Close()
			return nil, err
		}
		if err := db.probeNotify(ctx); err != nil {
			db.Close()
			return nil, err
		}
	}
	return db, nil
}

// sqlitePragmas apply to every SQLite connection. busy_timeout comes first
// so that the others wait instead of failing while another process holds
// the file.
const sqlitePragmas = "_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"

func openSQLite(path string) (*DB, error) {
	if path == ":memory:" || strings.ContainsAny(path, "?#") {
		return nil, ninsho.Internal("store: unsupported SQLite path %q: give a file name without ? or #", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, ninsho.Internal("store: create data directory: %w", err)
	}
	// The writer is opened and used first so that the file exists and is in
	// WAL mode before any reader connects.
	writes := new(atomic.Int64)
	wc, err := newStmtCachingConnector(path+"?"+sqlitePragmas+"&_pragma=journal_mode(WAL)&_txlock=immediate", writes)
	if err != nil {
		return nil, ninsho.Internal("store: open sqlite writer: %w", err)
	}
	w := sql.OpenDB(wc)
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.Ping(); err != nil {
		w.Close()
		return nil, ninsho.Internal("store: open sqlite %s: %w", path, err)
	}
	rc, err := newStmtCachingConnector(path+"?"+sqlitePragmas+"&_pragma=query_only(1)", nil)
	if err != nil {
		w.Close()
		return nil, ninsho.Internal("store: open sqlite readers: %w", err)
	}
	r := sql.OpenDB(rc)
	n := max(4, 2*runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxIdleTime(5 * time.Minute)
	return &DB{w: w, r: r, read: unwatchedQuerier{r}, d: sqliteDialect, writes: writes}, nil
}

func openPostgres(url string) (*DB, error) {
	p, err := sql.Open("pgx", url)
	if err != nil {
		return nil, ninsho.Internal("store: open postgres %s: %w", redactURL(url), err)
	}
	p.SetMaxOpenConns(max(16, 4*runtime.GOMAXPROCS(0)))
	p.SetMaxIdleConns(max(16, 4*runtime.GOMAXPROCS(0)))
	p.SetConnMaxIdleTime(5 * time.Minute)
	return &DB{w: p, r: p, read: p, d: postgresDialect, url: url}, nil
}

// redactURL hides the password of a database URL for error messages.
func redactURL(u string) string {
	at := strings.LastIndexByte(u, '@')
	scheme := strings.Index(u, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return u
	}
	userinfo := u[scheme+3 : at]
	if i := strings.IndexByte(userinfo, ':'); i >= 0 {
		return u[:scheme+3] + userinfo[:i] + ":xxxxx" + u[at:]
	}
	return u
}

// Dialect names the database behind the DB: "sqlite" or "postgres".
func (db *DB) Dialect() string { return db.d.name }

// WriteTransactions returns how many write transactions SQLite's one writer
// connection has run since the database was opened: every transaction
// (InTx) and every statement outside one, each of which takes the writer
// and, when it changes anything, commits on its own. Tests and benchmarks
// read it to count what an operation costs the writer. It is 0 on
// PostgreSQL, which has no one writer.
func (db *DB) WriteTransactions() int64 {
	if db.writes == nil {
		return 0
	}
	return db.writes.Load()
}

// Ping checks that the database answers, for readiness probes.
func (db *DB) Ping(ctx context.Context) error {
	// The readers answer for the database: on SQLite the single writer
	// connection may be queued behind a burst of writes, and a readiness
	// probe must not wait in that queue (nor take a turn from it).
	if err := db.r.PingContext(ctx); err != nil {
		return internal("ping", err)
	}
	return nil
}

// Close closes the database. Transactions still open fail.
func (db *DB) Close() error {
	err := db.w.Close()
	if db.r != db.w {
		err = errors.Join(err, db.r.Close())
	}
	if db.release != nil {
		err = errors.Join(err, db.release())
		db.release = nil
	}
	if err != nil {
		return ninsho.Internal("store: close: %w", err)
	}
	return nil
}

// dialect holds what differs between the databases. Everything else is one
// query set.
type dialect struct {
	name string
	// skipLocked follows the candidate subquery of ClaimMessages so that
	// concurrent claimers pass over rows another one is taking. SQLite needs
	// none: its single writer runs one claim at a time.
	skipLocked string
	// rowLock follows a SELECT whose rows the transaction holds until it
	// ends (account.Holder). SQLite needs none: a write transaction
	// (BEGIN IMMEDIATE) already excludes every other writer.
	rowLock string
	// savepoints says that a failed statement aborts the enclosing
	// transaction, so statements whose failure a caller may handle (a taken
	// identifier) run under a savepoint inside transactions.
	savepoints bool
	// rewriteDDL adapts the portable migrations.
	rewriteDDL func(string) string
}

var (
	sqliteDialect = dialect{
		name:       "sqlite",
		rewriteDDL: func(s string) string { return s },
	}
	postgresDialect = dialect{
		name:       "postgres",
		skipLocked: " FOR UPDATE SKIP LOCKED",
		rowLock:    " FOR UPDATE",
		savepoints: true,
		rewriteDDL: func(s string) string { return blobType.ReplaceAllString(s, "BYTEA") },
	}
)

// querier is what *sql.DB, *sql.Tx and a writeTx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// txKey is the context key of the transaction InTx opened.
type txKey struct{}

// txState is a transaction of one DB; another DB's transaction in the same
// context is ignored.
type txState struct {
	db *DB
	tx writeTx
}

func (db *DB) tx(ctx context.Context) writeTx {
	if s, ok := ctx.Value(txKey{}).(*txState); ok && s.db == db {
		return s.tx
	}
	return nil
}

// reader returns the transaction in ctx, or the reader pool (on SQLite one
// that does not watch a cancellation, see unwatched).
func (db *DB) reader(ctx context.Context) querier {
	if tx := db.tx(ctx); tx != nil {
		return tx
	}
	return db.read
}

// unwatchedQuerier runs q's statements with their contexts unwatched (see
// unwatched): database/sql starts a goroutine to watch a context that can
// end for every query's rows. It is SQLite's reader pool and the writer
// connection a sqliteTx holds.
type unwatchedQuerier struct{ q querier }

func (u unwatchedQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return u.q.ExecContext(unwatched(ctx), query, args...)
}

func (u unwatchedQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return u.q.QueryContext(unwatched(ctx), query, args...)
}

func (u unwatchedQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return u.q.QueryRowContext(unwatched(ctx), query, args...)
}

// writer returns the transaction in ctx, or the writer.
func (db *DB) writer(ctx context.Context) querier {
	if tx := db.tx(ctx); tx != nil {
		return tx
	}
	return db.w
}

// InTx runs fn in one transaction; store methods called with the ctx fn
// receives take part in it. An error or a panic from fn rolls back (the
// panic is re-raised after the rollback); a nested InTx joins the outer
// transaction, and only the outermost one commits. Nothing is retried.
// Functions given to ninsho.AfterCommit inside fn run after the outermost
// commit, and not at all after a rollback.
//
// Inside fn, use fn's ctx for every store call: on SQLite a write made with
// another context waits for the one writer connection, which fn holds.
func (db *DB) InTx(ctx context.Context, fn func(ctx context.Context) error) (err error) {
	if db.tx(ctx) != nil {
		return fn(ctx)
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return internal("begin transaction", err)
	}
	done := false
	defer func() {
		if !done {
			_ = tx.rollback() // fn panicked; the panic goes on
		}
	}()
	ctx, hooks := ninsho.WithCommitHooks(context.WithValue(ctx, txKey{}, &txState{db: db, tx: tx}))
	err = fn(ctx)
	done = true
	if err != nil {
		if rbErr := tx.rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			return errors.Join(err, internal("rollback", rbErr))
		}
		if o := outage(err); o != nil && !errors.As(err, new(*ninsho.Error)) {
			return o // a driver's error fn passed on as it was
		}
		return err
	}
	if err := tx.commit(); err != nil {
		return internal("commit", err)
	}
	hooks.Run()
	return nil
}

// guarded runs fn, which executes one statement, so that its failure does
// not abort the caller's transaction on databases where a failed statement
// would (PostgreSQL): inside a transaction it runs under a savepoint.
func (db *DB) guarded(ctx context.Context, fn func(q querier) error) error {
	tx := db.tx(ctx)
	if tx == nil || !db.d.savepoints {
		return fn(db.writer(ctx))
	}
	if _, err := tx.ExecContext(ctx, "SAVEPOINT ninsho_stmt"); err != nil {
		return internal("savepoint", err)
	}
	if err := fn(tx); err != nil {
		if _, rbErr := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT ninsho_stmt"); rbErr != nil {
			return errors.Join(err, internal("rollback to savepoint", rbErr))
		}
		return err
	}
	if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT ninsho_stmt"); err != nil {
		return internal("release savepoint", err)
	}
	return nil
}

// isUniqueViolation reports whether err is a violated unique index (not a
// primary key).
func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505" && !strings.HasSuffix(pe.ConstraintName, "_pkey")
	}
	return false
}

// internal wraps a driver error as ninsho.Internal naming the operation,
// or, when the error says the database is out of reach or out of space, as
// that outage (ninsho.Unavailable, ninsho.StorageFull: 503).
func internal(op string, err error) error {
	if o := outage(err); o != nil {
		if o.Err == err {
			o.Err = fmt.Errorf("store: %s: %w", op, err)
		}
		return o
	}
	return ninsho.Internal("store: %s: %w", op, err)
}

// notFound maps sql.ErrNoRows to the error with code c and any other error
// to internal.
func notFound(op string, err error, c ninsho.Code) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ninsho.E(c)
	}
	return internal(op, err)
}

// Times are stored as unix microseconds UTC.

// us returns t for a NOT NULL column: the zero time is 0.
func us(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// nullUS returns t for a nullable column: the zero time is NULL.
func nullUS(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// nullUSPtr returns *t for a nullable column: nil is NULL.
func nullUSPtr(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// fromUS reads a NOT NULL time column.
func fromUS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

// fromNullUS reads a nullable time column as a value (zero for NULL).
func fromNullUS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromUS(v.Int64)
}

// fromNullUSPtr reads a nullable time column as a pointer (nil for NULL).
func fromNullUSPtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromUS(v.Int64)
	return &t
}

// nullStr stores "" as NULL.
func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// rowsAffected returns the count of a statement's changed rows.
func rowsAffected(op string, res sql.Result) (int, error) {
	n, err := res.RowsAffected()
	if err != nil {
		return 0, internal(op, err)
	}
	return int(n), nil
}

// scanner is *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
