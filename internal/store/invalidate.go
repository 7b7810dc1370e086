package store

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ninsho/ninsho/internal/invalidate"
)

var _ invalidate.Publisher = (*DB)(nil)

// channelPrefix starts the PostgreSQL notification channel of a schema:
// instances on one schema share it; other schemas in the same database
// (tests, a second deployment) do not hear them.
const channelPrefix = "ninsho_invalidate:"

// Publish sends a notice to every instance on this database
// (invalidate.Publisher). On PostgreSQL it is pg_notify on the schema's
// channel, in the transaction of ctx when there is one, so that it leaves
// at commit and never after a rollback. SQLite is one process: nothing is
// sent.
func (db *DB) Publish(ctx context.Context, kind invalidate.Kind, key string) error {
	if db.channel == "" {
		return nil
	}
	if _, err := db.writer(ctx).ExecContext(ctx, `SELECT pg_notify($1, $2)`, db.channel, invalidate.Payload(kind, key)); err != nil {
		return internal("notify", err)
	}
	return nil
}

// Notifies reports whether instances on this database hear each other's
// notices: PostgreSQL (and YugabyteDB with LISTEN/NOTIFY turned on) yes;
// SQLite (one process) and engines without pg_notify (CockroachDB) no, and
// then the caches' own lifetimes are the only bound.
func (db *DB) Notifies() bool { return db.channel != "" }

// probeNotify sends one empty notice (listeners ignore it) to learn
// whether the engine has pg_notify; without it Publish sends nothing and
// there is no listener. Any other failure is an error.
func (db *DB) probeNotify(ctx context.Context) error {
	_, err := db.w.ExecContext(ctx, `SELECT pg_notify($1, '')`, db.channel)
	switch {
	case err == nil:
		return nil
	case notifyUnsupported(err):
		db.channel = ""
		return nil
	default:
		return internal("probe notify", err)
	}
}

// notifyUnsupported reports whether err says the engine has no pg_notify
// or LISTEN: an undefined function (CockroachDB), a feature not supported
// or a syntax error (YugabyteDB with LISTEN/NOTIFY turned off).
func notifyUnsupported(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code {
	case "42883", "0A000", "42601":
		return true
	}
	return false
}

// schemaChannel names the notification channel of the schema the pool
// uses (current_schema(), set by search_path), at most 63 bytes, the
// length of a PostgreSQL identifier.
func (db *DB) schemaChannel(ctx context.Context) (string, error) {
	var schema string
	if err := db.r.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return "", internal("current schema", err)
	}
	ch := channelPrefix + schema
	if len(ch) > 63 {
		ch = ch[:63]
	}
	return ch, nil
}

// Listener receives the notices of every instance on one PostgreSQL
// database (DB.Publish) over a connection of its own that LISTENs on the
// schema's channel, and hands them to a Hub. When the connection breaks it
// reconnects with doubling back-off (from MinBackoff to MaxBackoff); after
// every (re)connection it tells the Hub that notices may have been lost
// (Hub.Lost), since those sent while it was away are gone.
type Listener struct {
	url     string
	channel string
	hub     *invalidate.Hub
	log     *slog.Logger

	// MinBackoff and MaxBackoff bound the wait between connection
	// attempts (defaults 100 ms and 5 s).
	MinBackoff, MaxBackoff time.Duration

	pid       atomic.Uint32 // the listening backend's process id, 0 when not listening
	connected atomic.Int64  // connections made, for tests and logs
}

// Listener returns the listener of db's notices, delivering to hub, or nil
// on SQLite (one process: nothing to hear).
func (db *DB) Listener(hub *invalidate.Hub, logger *slog.Logger) *Listener {
	if db.channel == "" {
		return nil
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Listener{url: db.url, channel: db.channel, hub: hub, log: logger,
		MinBackoff: 100 * time.Millisecond, MaxBackoff: 5 * time.Second}
}

// Run listens until ctx ends.
func (l *Listener) Run(ctx context.Context) {
	wait := l.MinBackoff
	for ctx.Err() == nil {
		listened, err := l.listen(ctx)
		if ctx.Err() != nil {
			return
		}
		if listened {
			wait = l.MinBackoff // it was up: start the back-off over
		}
		l.log.Warn("invalidation listener: connection lost; caches fall back to their lifetime until it is back",
			"err", err, "retry_in", wait.String())
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(2*wait, l.MaxBackoff)
	}
}

// listen connects, LISTENs and delivers notices until the connection
// fails or ctx ends; listened reports whether it got as far as LISTEN.
func (l *Listener) listen(ctx context.Context) (listened bool, err error) {
	conn, err := pgx.Connect(ctx, l.url)
	if err != nil {
		return false, err
	}
	defer func() {
		l.pid.Store(0)
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn.Close(closeCtx)
		cancel()
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{l.channel}.Sanitize()); err != nil {
		return false, err
	}
	l.pid.Store(conn.PgConn().PID())
	if n := l.connected.Add(1); n > 1 {
		l.log.Info("invalidation listener: connected again", "connections", n)
	}
	// Notices sent before LISTEN (at start, or while reconnecting) are
	// gone: the subscribers check everything once.
	l.hub.Lost()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, err
		}
		if kind, key, ok := invalidate.Parse(n.Payload); ok {
			l.hub.Deliver(kind, key)
		}
	}
}

// PID returns the process id of the listening PostgreSQL backend, or 0
// while not listening.
func (l *Listener) PID() uint32 { return l.pid.Load() }

// Connections returns how many times the listener has connected and
// LISTENed.
func (l *Listener) Connections() int64 { return l.connected.Load() }
