package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realmset"
	"github.com/ninsho/ninsho/internal/store"
)

const realmsUsage = `Usage:
  ninsho realms list   [--data-dir DIR] [--config FILE]
  ninsho realms show   ID [--data-dir DIR] [--config FILE]
  ninsho realms create ID [key=value ...] [--file F.json] [--by NAME] [--data-dir DIR] [--config FILE]
  ninsho realms set    ID key=value ... | --file F.json [--by NAME] [--data-dir DIR] [--config FILE]

The realms' settings live in the database, seeded from the configuration
file's realms (stored settings win afterwards). A key is a dotted path of a
realms[] entry of the configuration file (name, hosts,
identifier_disclosure, two_step.required_for, risk.lock_after_failures,
branding.primary_color, …); a value is read as JSON when it is JSON and as
a string otherwise (hosts='["a.example","b.example"]'). --file is a JSON
merge patch of the whole document (create: the document). Every change is
checked as the configuration file would be, recorded as an event and
served by every instance within realm_refresh (2s). id, providers, theme
and branding.logo are read at start and change only in the configuration
file. Realms are not deleted. See docs/operations.md, "Realms".
`

// realmsCmd runs "ninsho realms …": the realms' stored settings.
func realmsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sub, about, ok, err := pickSubcommand("realms", realmsUsage, []subcommand{
		{"list", "Lists the realms: id, name, hosts, revision, last change."},
		{"show", "Prints a realm's settings as a JSON document (a realms[] entry)."},
		{"create", "Creates a realm at run time; it is served after the configuration's realms."},
		{"set", "Changes a realm's settings."},
	}, args, stdout, stderr)
	if !ok {
		return err
	}
	var file, by string
	synopsis := "ID [key=value ...] [flags]"
	if sub == "list" {
		synopsis = "[flags]"
	} else if sub == "show" {
		synopsis = "ID [flags]"
	}
	c := newCommand("realms "+sub, synopsis, about, stderr, func(c *command) {
		c.dataDirFlag()
		c.configFlag()
		if sub == "create" || sub == "set" {
			c.fs.StringVar(&file, "file", "", "JSON `file`: a merge patch of the realm's document (create: the document)")
			c.fs.StringVar(&by, "by", "", "`name` recorded as who changed it (default: the operating system user)")
		}
	})
	id, rest, err := parseRealmArgs(c, sub != "list", args[1:])
	if err != nil {
		return err
	}
	if (sub == "list" || sub == "show") && len(rest) > 0 {
		return fmt.Errorf("realms %s: unexpected argument %q", sub, rest[0])
	}
	var ch realmset.Change
	for _, kv := range rest {
		k, v, found := strings.Cut(kv, "=")
		if !found || k == "" {
			return fmt.Errorf("realms %s: %q is not key=value", sub, kv)
		}
		ch.Assign = append(ch.Assign, realmset.Assignment{Key: k, Value: jsonOrString(v)})
	}
	if file != "" {
		if ch.Merge, err = os.ReadFile(file); err != nil {
			return fmt.Errorf("realms %s: --file: %w", sub, err)
		}
	}
	if sub == "set" && file == "" && len(ch.Assign) == 0 {
		return errors.New("realms set: nothing to change: give key=value or --file")
	}
	svc, closeDB, err := c.openRealms(ctx)
	if err != nil {
		return err
	}
	defer closeDB()
	who := realmset.Who{Name: operatorName(by)}
	switch sub {
	case "list":
		rows, err := svc.List(ctx)
		if err != nil {
			return realmsError(sub, err)
		}
		realms, _, err := svc.Realms(ctx)
		if err != nil {
			return realmsError(sub, err)
		}
		for i, r := range rows {
			rc := realms[i]
			fmt.Fprintf(stdout, "%s name=%q hosts=%s revision=%d updated=%s by=%s\n", r.ID, rc.Name, strings.Join(rc.Hosts, ","),
				r.Revision, r.UpdatedAt.UTC().Format(time.RFC3339), r.UpdatedBy)
		}
	case "show":
		rc, _, err := svc.Show(ctx, id)
		if err != nil {
			return realmsError(sub, err)
		}
		b, _ := json.MarshalIndent(rc, "", "  ")
		fmt.Fprintf(stdout, "%s\n", b)
	case "create":
		if _, err := svc.Create(ctx, who, id, ch); err != nil {
			return realmsError(sub, err)
		}
		fmt.Fprintf(stdout, "realm %s created; every instance serves it within realm_refresh\n", id)
	case "set":
		keys, err := svc.Set(ctx, who, id, ch)
		if err != nil {
			return realmsError(sub, err)
		}
		if len(keys) == 0 {
			fmt.Fprintf(stdout, "realm %s: nothing changed\n", id)
			return nil
		}
		fmt.Fprintf(stdout, "realm %s: changed %s; every instance applies it within realm_refresh\n", id, strings.Join(keys, ", "))
	}
	return nil
}

// parseRealmArgs parses args: with an id, the id first, then key=value
// arguments; flags anywhere.
func parseRealmArgs(c *command, withID bool, args []string) (id string, rest []string, err error) {
	var pos []string
	for {
		if err := c.fs.Parse(args); err != nil {
			return "", nil, err
		}
		if c.fs.NArg() == 0 {
			break
		}
		pos = append(pos, c.fs.Arg(0))
		args = c.fs.Args()[1:]
	}
	if !withID {
		return "", pos, nil
	}
	if len(pos) == 0 {
		return "", nil, fmt.Errorf("%s: the realm id is required", c.fs.Name())
	}
	return pos[0], pos[1:], nil
}

// jsonOrString is v when it is one JSON value, else v as a JSON string.
func jsonOrString(v string) json.RawMessage {
	if json.Valid([]byte(v)) {
		return json.RawMessage(v)
	}
	b, _ := json.Marshal(v)
	return b
}

// operatorName is --by, or the operating system user.
func operatorName(by string) string {
	if by != "" {
		return by
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "operator"
}

// openRealms opens the store of the command's configuration and seeds its
// realms, without building the server: stored settings that fail
// validation (which refuse serve) can still be shown and fixed.
func (c *command) openRealms(ctx context.Context) (*realmset.Service, func(), error) {
	cfg, err := c.loadConfig()
	if err != nil {
		return nil, nil, err
	}
	db, err := store.Open(ctx, store.Options{DataDir: cfg.DataDir, URL: string(cfg.DatabaseURL)})
	if err != nil {
		return nil, nil, err
	}
	// Changed: the running instances reload at once (PostgreSQL's NOTIFY
	// at commit), not at their next realm_refresh.
	svc := &realmset.Service{Store: db, Tx: db, Events: db, Clock: ninsho.SystemClock{}, Random: ninsho.SecureRandom, Config: cfg,
		Changed: db}
	if _, err := svc.Seed(ctx); err != nil {
		db.Close()
		return nil, nil, err
	}
	return svc, func() { db.Close() }, nil
}

// realmsError says what a refused realm change means.
func realmsError(sub string, err error) error {
	return fmt.Errorf("realms %s: %s", sub, realmProblems(err))
}
