package store

import (
	"context"
	"embed"
	"hash/fnv"
	"io/fs"
	"regexp"
	"testing/fstest"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/ninsho/ninsho/internal/ninsho"
)

//go:embed migrations/*.sql
var migrations embed.FS

// blobType matches the portable BLOB column type, which PostgreSQL calls BYTEA.
var blobType = regexp.MustCompile(`\bBLOB\b`)

// migrationFS returns the migrations rewritten for d.
func migrationFS(d dialect) (fs.FS, error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	out := fstest.MapFS{}
	for _, name := range names {
		b, err := migrations.ReadFile(name)
		if err != nil {
			return nil, err
		}
		out[name[len("migrations/"):]] = &fstest.MapFile{Data: []byte(d.rewriteDDL(string(b))), Mode: 0o444}
	}
	return out, nil
}

// Migrate applies the migrations the database has not run yet. On
// PostgreSQL a session advisory lock, one per schema, keeps instances that
// start together from migrating at once; on SQLite the single writer does.
func (db *DB) Migrate(ctx context.Context) error {
	fsys, err := migrationFS(db.d)
	if err != nil {
		return ninsho.Internal("store: read migrations: %w", err)
	}
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	dialect := goose.DialectSQLite3
	if db.d.name == postgresDialect.name {
		dialect = goose.DialectPostgres
		// Advisory locks are per database, not per schema: a lock id of
		// the schema lets deployments (and tests) in separate schemas of
		// one database migrate side by side.
		var schema string
		if err := db.w.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
			return ninsho.Internal("store: migration lock: %w", err)
		}
		h := fnv.New64a()
		h.Write([]byte("ninsho migrations " + schema))
		locker, err := lock.NewPostgresSessionLocker(
			lock.WithLockID(int64(h.Sum64()>>1)),
			lock.WithLockTimeout(1, 300), // retry every second, up to five minutes
		)
		if err != nil {
			return ninsho.Internal("store: migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, db.w, fsys, opts...)
	if err != nil {
		return ninsho.Internal("store: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return ninsho.Internal("store: migrate: %w", err)
	}
	return nil
}
