package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/signingkey"
)

const keysUsage = `Usage:
  ninsho keys rotate --realm ID [--alg ES256|RS256] [--data-dir DIR] [--config FILE]
  ninsho keys list   [--realm ID] [--data-dir DIR] [--config FILE]

rotate adds a signing key to a realm: published in the realm's JWKS at
once, it signs one hour later (a realm's first key signs at once). list
shows kid, alg, created, active from and retire after; never private keys.
`

// keysCmd runs "ninsho keys …": the realms' OpenID Connect signing keys.
func keysCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sub, about, ok, err := pickSubcommand("keys", keysUsage, []subcommand{
		{"rotate", "Adds a signing key to a realm."},
		{"list", "Lists the signing keys."},
	}, args, stdout, stderr)
	if !ok {
		return err
	}
	var realmID, alg string
	c := newCommand("keys "+sub, "[flags]", about, stderr, func(c *command) {
		c.dataDirFlag()
		c.configFlag()
		c.fs.StringVar(&realmID, "realm", "", "the realm's `id`")
		if sub == "rotate" {
			c.fs.StringVar(&alg, "alg", signingkey.DefaultAlg, "`algorithm`: ES256 or RS256")
		}
	})
	if err := c.parse(args[1:]); err != nil {
		return err
	}
	app, err := c.openApp(ctx)
	if err != nil {
		return err
	}
	defer app.Close()
	if realmID != "" && app.Realms.ByID(realmID) == nil {
		return fmt.Errorf("keys: unknown realm %q", realmID)
	}
	switch sub {
	case "rotate":
		if realmID == "" {
			return fmt.Errorf("keys: --realm is required")
		}
		if !signingkey.ValidAlg(alg) {
			return fmt.Errorf("keys: --alg must be ES256 or RS256")
		}
		k, err := app.SigningKeys.Rotate(ctx, realmID, alg, "system")
		if err != nil {
			return keysError(err)
		}
		fmt.Fprintf(stdout, "realm %s: new key %s (%s), published now, signs from %s\n", k.Realm, k.ID, k.Alg, k.ActiveFrom.UTC().Format(time.RFC3339))
	case "list":
		keys, err := app.DB.SigningKeys(ctx, realmID)
		if err != nil {
			return keysError(err)
		}
		if len(keys) == 0 {
			fmt.Fprintln(stdout, "no signing keys")
		}
		for _, k := range keys {
			retire := "-"
			if !k.RetireAfter.IsZero() {
				retire = k.RetireAfter.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(stdout, "realm=%s kid=%s alg=%s created=%s active_from=%s retire_after=%s\n", k.Realm, k.ID, k.Alg,
				k.CreatedAt.UTC().Format(time.RFC3339), k.ActiveFrom.UTC().Format(time.RFC3339), retire)
		}
	}
	return nil
}

// keysError says what a refusal means on the command line.
func keysError(err error) error {
	e := ninsho.ErrorOf(err)
	if e.Code == ninsho.CodeInternal {
		return err
	}
	return fmt.Errorf("keys: %s", e.Code)
}
