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
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"github.com/ninsho/ninsho/internal/config"
	"github.com/ninsho/ninsho/internal/password"
	"github.com/ninsho/ninsho/internal/store"
)

const usage = `ninsho — sign-in, verification and account recovery server

Usage:
  ninsho serve   [--addr ADDR] [--data-dir DIR] [--dev] [--config FILE] [--trusted-proxy CIDR]...
  ninsho migrate [--data-dir DIR] [--config FILE]
  ninsho messages [--limit N] [--realm ID] [--status S] [--delivery S] [--data-dir DIR] [--config FILE]
  ninsho staff create --email ADDRESS --role agent|reviewer|admin [--name NAME]
  ninsho staff list | ninsho staff disable --email ADDRESS
  ninsho keys rotate --realm ID [--alg ES256|RS256] | ninsho keys list [--realm ID]
  ninsho clients create --name NAME --type confidential|public --redirect-uri URI... [flags]
  ninsho clients list | ninsho clients show ID | ninsho clients delete ID   [--realm ID]
  ninsho realms list | ninsho realms show ID
  ninsho realms create ID [key=value ...] [--file F.json] | ninsho realms set ID key=value ... [--file F.json]
  ninsho import  --realm ID [--firebase-signer-key B64 --firebase-salt-separator B64 --firebase-rounds N --firebase-mem-cost N] FILE|-
  ninsho bench --url URL [--scenario signin|session|code|refresh|mix] [--rate N/s] [--duration D] [--seed N | --accounts FILE] [--json]
  ninsho version
  ninsho help

With nothing production-like configured (no database_url, https public_url,
SMTP host or keys) and a loopback address, serve runs in development mode:
SQLite in ./ninsho-data and every message delivered to the development inbox
at /dev/inbox. Otherwise it runs in production mode unless --dev or
NINSHO_MODE=development asks for development mode, which only listens on
loopback. NINSHO_DATABASE_URL=postgres://… selects PostgreSQL. Each command's
--help lists its flags. See docs/operations.md.
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
	case "messages":
		err = messages(ctx, args[1:], stdout, stderr)
	case "staff":
		err = staffCmd(ctx, args[1:], stdout, stderr)
	case "keys":
		err = keysCmd(ctx, args[1:], stdout, stderr)
	case "clients":
		err = clientsCmd(ctx, args[1:], stdout, stderr)
	case "realms":
		err = realmsCmd(ctx, args[1:], stdout, stderr)
	case "import":
		err = importCmd(ctx, args[1:], stdout, stderr)
	case "bench":
		err = bench(ctx, args[1:], stdout, stderr)
	case "version", "--version":
		err = version(args[1:], stdout, stderr)
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
	var code exitCode
	if errors.As(err, &code) {
		return int(code)
	}
	if err != nil {
		// A catalogue error says "ninsho: <code>: …" already.
		fmt.Fprintf(stderr, "ninsho: %s\n", strings.TrimPrefix(err.Error(), "ninsho: "))
		return 1
	}
	return 0
}

// proxyFlags collects repeated --trusted-proxy flags.
type proxyFlags []string

func (p *proxyFlags) String() string     { return fmt.Sprint(*p) }
func (p *proxyFlags) Set(v string) error { *p = append(*p, v); return nil }

// command is one subcommand's flag set: each command has its own, so that
// its --help lists only the flags it takes.
type command struct {
	fs *flag.FlagSet

	// What the flags set; a flag the command does not define stays zero.
	addr, dataDir, file string
	dev                 bool
	proxies             proxyFlags
}

// newCommand returns the flag set of the command name, whose arguments are
// described by synopsis; define adds its flags.
func newCommand(name, synopsis, about string, stderr io.Writer, define func(c *command)) *command {
	c := &command{fs: flag.NewFlagSet(name, flag.ContinueOnError)}
	c.fs.SetOutput(stderr)
	define(c)
	c.fs.Usage = func() {
		w := c.fs.Output()
		fmt.Fprintf(w, "Usage: ninsho %s\n\n%s\n", strings.TrimSpace(name+" "+synopsis), about)
		if hasFlags(c.fs) {
			fmt.Fprint(w, "\nFlags:\n")
			c.fs.PrintDefaults()
		}
	}
	return c
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

func (c *command) dataDirFlag() {
	c.fs.StringVar(&c.dataDir, "data-dir", "", "`directory` of the SQLite database (default ./ninsho-data)")
}

func (c *command) configFlag() {
	c.fs.StringVar(&c.file, "config", "", "configuration `file` (JSON); see docs/operations.md")
}

// parse parses args and refuses arguments beyond the flags.
func (c *command) parse(args []string) error {
	if err := c.fs.Parse(args); err != nil {
		return err
	}
	if c.fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q", c.fs.Name(), c.fs.Arg(0))
	}
	return nil
}

// loadConfig returns the validated configuration with the command's flags
// applied, its mode decided by config.ResolveMode once every flag is.
func (c *command) loadConfig() (config.Config, error) {
	cfg, err := config.Load(c.file, nil)
	if err != nil {
		return cfg, err
	}
	if c.addr != "" {
		cfg.Addr = c.addr
	}
	if c.dataDir != "" {
		cfg.DataDir = c.dataDir
	}
	if c.dev {
		cfg.RequestMode(config.ModeDevelopment, "--dev")
	}
	cfg.TrustedProxies = append(cfg.TrustedProxies, c.proxies...)
	cfg.ResolveMode()
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("invalid configuration for %s mode (%s):\n%w", cfg.Mode, cfg.ModeReason(), err)
	}
	return cfg, nil
}

// configCommand returns the flag set of serve or migrate, the commands
// that read the configuration.
func configCommand(name string, stderr io.Writer) *command {
	if name == "migrate" {
		return newCommand("migrate", "[flags]", "Brings the database schema up to date and exits.", stderr, func(c *command) {
			c.dataDirFlag()
			c.configFlag()
		})
	}
	return newCommand("serve", "[flags]", "Serves the pages, the JSON API and /metrics, and delivers messages.", stderr, func(c *command) {
		c.fs.StringVar(&c.addr, "addr", "", "listen `address` (default 127.0.0.1:8080)")
		c.dataDirFlag()
		c.fs.BoolVar(&c.dev, "dev", false, "development mode: every message goes to the built-in inbox (loopback addresses only)")
		c.configFlag()
		c.fs.Var(&c.proxies, "trusted-proxy", "`CIDR` of a reverse proxy whose X-Forwarded-For is trusted (repeatable)")
	})
}

// loadConfig parses the flags of the command name (serve or migrate) and
// returns the validated configuration.
func loadConfig(name string, args []string, stderr io.Writer) (config.Config, error) {
	c := configCommand(name, stderr)
	if err := c.parse(args); err != nil {
		return config.Config{}, err
	}
	return c.loadConfig()
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig("serve", args, stderr)
	if err != nil {
		return err
	}
	cfg.Password.Concurrency = spareProcessor(cfg.Password.Concurrency)
	app, err := NewApp(ctx, cfg, Options{LogOutput: stderr})
	if err != nil {
		return err
	}
	defer app.Close()
	// The OpenID Connect library logs only to the process's default
	// logger: make it the server's (same format, same output).
	slog.SetDefault(app.Logger)
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

// spareProcessor sizes the Go runtime for the hashing and returns the
// hashing concurrency to use (concurrency, or the processors there were
// when 0). Unless GOMAXPROCS is set, it gives the runtime a processor for
// every hash that can run at once (password.MaxRunningFor: the slots and the
// owners' lane) and one more. A hash holds its processor from start to end,
// and a runtime whose processors all hash polls the network only at its
// monitor's pace (up to 10 ms): a request that needs no hash, a refusal
// under overload or a session check, would wait for that. The spare
// processor sleeps in the network poller and wakes at once; while the
// owners' lane is idle there are two. More cost more than they give: each
// idle processor is another thread woken to look for work (measured on 2
// cores, 5 processors instead of 4: refusals' p99 under overload 1.7 ms
// instead of 2.6, for about a point more of the server's CPU outside the
// hash at full sign-in load; 3 processors: 5.7 ms).
func spareProcessor(concurrency int) int {
	procs := runtime.GOMAXPROCS(0)
	if concurrency <= 0 {
		concurrency = procs
	}
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(max(procs, password.MaxRunningFor(concurrency)+1))
	}
	return concurrency
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

func version(args []string, stdout, stderr io.Writer) error {
	c := newCommand("version", "", "Prints the version, the source revision and the Go version of this binary.", stderr, func(*command) {})
	if err := c.parse(args); err != nil {
		return err
	}
	fmt.Fprintln(stdout, VersionString())
	return nil
}

// subcommand is one subcommand of a command with subcommands (staff,
// keys, clients): its name and the line its own help starts with.
type subcommand struct{ name, about string }

// pickSubcommand reads the subcommand of "ninsho <group> …" from args
// among subs: it returns it and its about line, or, for help, prints usage
// to stdout and returns ok false with no error; a missing or unknown one
// prints usage to stderr and is an error naming what is accepted.
func pickSubcommand(group, usage string, subs []subcommand, args []string, stdout, stderr io.Writer) (sub, about string, ok bool, err error) {
	names := make([]string, len(subs))
	for i, s := range subs {
		names[i] = s.name
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return "", "", false, fmt.Errorf("%s: a subcommand is required (%s)", group, strings.Join(names, ", "))
	}
	switch args[0] {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return "", "", false, nil
	}
	for _, s := range subs {
		if s.name == args[0] {
			return s.name, s.about, true, nil
		}
	}
	fmt.Fprint(stderr, usage)
	return "", "", false, fmt.Errorf("%s: unknown subcommand %q", group, args[0])
}

// openApp builds the application of the command's configuration without
// serving it and without logging: the administration commands (staff,
// keys, clients) work on its services and store. The caller closes it.
func (c *command) openApp(ctx context.Context) (*App, error) {
	cfg, err := c.loadConfig()
	if err != nil {
		return nil, err
	}
	// Shared: these commands run next to a serving process on the same
	// SQLite database, which holds it exclusively against a second serve.
	return NewApp(ctx, cfg, Options{LogOutput: io.Discard, Shared: true})
}
