// Package cli is the ninsho command line: it parses subcommands and flags,
// loads the configuration and wires the server together by explicit
// construction (see app.go). Tests start the same App on port 0.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/ninsho/ninsho/internal/config"
	"github.com/ninsho/ninsho/internal/store"
)

const usage = `ninsho — sign-in, verification and account recovery server

Usage:
  ninsho serve   [--addr ADDR] [--data-dir DIR] [--dev] [--config FILE] [--trusted-proxy CIDR]...
  ninsho migrate [--data-dir DIR] [--config FILE]
  ninsho help

With nothing production-like configured (no database_url, https public_url,
SMTP host or keys) and a loopback address, serve runs in development mode:
SQLite in ./ninsho-data and every message delivered to the development inbox
at /dev/inbox. Otherwise it runs in production mode unless --dev or
NINSHO_MODE=development asks for development mode, which only listens on
loopback. NINSHO_DATABASE_URL=postgres://… selects PostgreSQL. See
docs/operations.md.
`

// Main runs the command line with args (without the program name) and returns
// the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch args[0] {
	case "serve":
		err = serve(ctx, args[1:], stdout, stderr)
	case "migrate":
		err = migrate(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "ninsho: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "ninsho: %v\n", err)
		return 1
	}
	return 0
}

// proxyFlags collects repeated --trusted-proxy flags.
type proxyFlags []string

func (p *proxyFlags) String() string     { return fmt.Sprint(*p) }
func (p *proxyFlags) Set(v string) error { *p = append(*p, v); return nil }

// loadConfig parses the common flags of serve and migrate and returns the
// validated configuration, its mode decided by config.ResolveMode once every
// flag is applied.
func loadConfig(name string, args []string, stderr io.Writer) (config.Config, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "", "listen address (default 127.0.0.1:8080)")
	dataDir := fs.String("data-dir", "", "directory of the SQLite database (default ./ninsho-data)")
	dev := fs.Bool("dev", false, "development mode: every message goes to the built-in inbox (loopback addresses only)")
	file := fs.String("config", "", "configuration file (JSON); see docs/operations.md")
	var proxies proxyFlags
	fs.Var(&proxies, "trusted-proxy", "CIDR of a reverse proxy whose X-Forwarded-For is trusted (repeatable)")
	if err := fs.Parse(args); err != nil {
		return config.Config{}, err
	}
	if fs.NArg() > 0 {
		return config.Config{}, fmt.Errorf("%s: unexpected argument %q", name, fs.Arg(0))
	}
	cfg, err := config.Load(*file, nil)
	if err != nil {
		return cfg, err
	}
	if *addr != "" {
		cfg.Addr = *addr
	}
	if *dataDir != "" {
		cfg.DataDir = *dataDir
	}
	if *dev {
		cfg.RequestMode(config.ModeDevelopment, "--dev")
	}
	cfg.TrustedProxies = append(cfg.TrustedProxies, proxies...)
	cfg.ResolveMode()
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("invalid configuration for %s mode (%s):\n%w", cfg.Mode, cfg.ModeReason(), err)
	}
	return cfg, nil
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig("serve", args, stderr)
	if err != nil {
		return err
	}
	app, err := NewApp(ctx, cfg, Options{LogOutput: stderr})
	if err != nil {
		return err
	}
	defer app.Close()
	if err := app.Start(); err != nil {
		return err
	}
	base := app.URL()
	fmt.Fprintf(stdout, "Ninsho is running at %s\n  sign up:  %s/signup\n  sign in:  %s/signin\n", base, base, base)
	if cfg.Dev() {
		fmt.Fprintf(stdout, "  inbox:    %s/dev/inbox   (development mode: every message lands here)\n", base)
	}
	<-ctx.Done()
	return nil
}

func migrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig("migrate", args, stderr)
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, store.Options{DataDir: cfg.DataDir, URL: string(cfg.DatabaseURL)})
	if err != nil {
		return err
	}
	defer db.Close()
	fmt.Fprintf(stdout, "database schema is up to date (%s)\n", db.Dialect())
	return nil
}
