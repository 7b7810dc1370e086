package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/oauthclient"
)

const clientsUsage = `Usage:
  ninsho clients create --name NAME --type confidential|public --redirect-uri URI [--redirect-uri URI]...
                        [--realm ID] [--auth METHOD] [--post-logout-uri URI]... [--first-party]
                        [--backchannel-logout-uri URI] [--frontchannel-logout-uri URI]
                        [--jwks FILE] [--without-two-step enrol|refuse] [--data-dir DIR] [--config FILE]
  ninsho clients list   [--realm ID] [--data-dir DIR] [--config FILE]
  ninsho clients show   ID [--realm ID] [--data-dir DIR] [--config FILE]
  ninsho clients delete ID [--realm ID] [--data-dir DIR] [--config FILE]

create registers an application that signs people in through a realm (an
OpenID Connect client) and prints its client_id and, for client_secret_basic
and client_secret_post, its client_secret: shown only this once, stored only
as a keyed hash. --realm defaults to the first realm. See docs/oidc.md.
`

// repeated collects a repeatable string flag.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, " ") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

// clientFlagOf names each field of a registration as its flag.
var clientFlagOf = map[string]string{
	oauthclient.FieldRealm:                  "--realm",
	oauthclient.FieldName:                   "--name",
	oauthclient.FieldKind:                   "--type",
	oauthclient.FieldAuthMethod:             "--auth",
	oauthclient.FieldJWKS:                   "--jwks",
	oauthclient.FieldRedirectURIs:           "--redirect-uri",
	oauthclient.FieldPostLogoutRedirectURIs: "--post-logout-uri",
	oauthclient.FieldBackchannelLogoutURI:   "--backchannel-logout-uri",
	oauthclient.FieldFrontchannelLogoutURI:  "--frontchannel-logout-uri",
	oauthclient.FieldWithoutTwoStep:         "--without-two-step",
}

// clientsCmd runs "ninsho clients …": the realms' OAuth / OpenID Connect
// clients.
func clientsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sub, about, ok, err := pickSubcommand("clients", clientsUsage, []subcommand{
		{"create", "Registers a client and prints its client_id and, once, its client_secret."},
		{"list", "Lists a realm's clients."},
		{"show", "Shows every field of one client (never its secret or hash)."},
		{"delete", "Deletes a client."},
	}, args, stdout, stderr)
	if !ok {
		return err
	}
	var (
		realmID, jwksFile string
		n                 oauthclient.New
		redirects, posts  repeated
	)
	synopsis := "[flags]"
	if sub == "show" || sub == "delete" {
		synopsis = "ID [flags]"
	}
	c := newCommand("clients "+sub, synopsis, about, stderr, func(c *command) {
		c.dataDirFlag()
		c.configFlag()
		c.fs.StringVar(&realmID, "realm", "", "the realm's `id` (default: the first realm)")
		if sub != "create" {
			return
		}
		c.fs.StringVar(&n.Name, "name", "", "the client's `name`, shown to people (1–100 characters)")
		c.fs.StringVar(&n.Kind, "type", "", "`type`: confidential (keeps a secret or a private key) or public (a native or browser app)")
		c.fs.StringVar(&n.AuthMethod, "auth", "", "authentication `method`: client_secret_basic (default for confidential), client_secret_post, private_key_jwt, none (public; the default there)")
		c.fs.Var(&redirects, "redirect-uri", "a redirect `URI`, matched exactly (repeatable, 1–10)")
		c.fs.Var(&posts, "post-logout-uri", "a post-logout redirect `URI`, matched exactly (repeatable, 0–10)")
		c.fs.BoolVar(&n.FirstParty, "first-party", false, "the realm's operator's own application: no consent page")
		c.fs.StringVar(&n.BackchannelLogoutURI, "backchannel-logout-uri", "", "`URI` told by the server when a session ends (back-channel logout)")
		c.fs.StringVar(&n.FrontchannelLogoutURI, "frontchannel-logout-uri", "", "`URI` loaded in the browser when a session ends (front-channel logout)")
		c.fs.StringVar(&jwksFile, "jwks", "", "`file` holding the client's public JWK Set (private_key_jwt)")
		c.fs.StringVar(&n.WithoutTwoStep, "without-two-step", oauthclient.Enrol, "what acr_values=aal2 does for an account without two-step verification: `enrol` or refuse")
	})
	id, err := parseWithID(c, sub == "show" || sub == "delete", args[1:])
	if err != nil {
		return err
	}
	var jwks []byte
	if jwksFile != "" {
		if jwks, err = os.ReadFile(jwksFile); err != nil {
			return fmt.Errorf("clients: --jwks: %w", err)
		}
	}
	app, err := c.openApp(ctx)
	if err != nil {
		return err
	}
	defer app.Close()
	if realmID == "" {
		if all := app.Realms.All(); len(all) > 0 {
			realmID = all[0].ID
		}
	}
	if app.Realms.ByID(realmID) == nil {
		return fmt.Errorf("clients: unknown realm %q", realmID)
	}
	switch sub {
	case "create":
		n.Realm, n.RedirectURIs, n.PostLogoutRedirectURIs, n.JWKS = realmID, redirects, posts, jwks
		cl, plain, err := app.Clients.Create(ctx, n)
		if err != nil {
			return clientsError(err)
		}
		fmt.Fprintf(stdout, "realm: %s\nclient_id: %s\n", cl.Realm, cl.ID)
		if plain != "" {
			fmt.Fprintf(stdout, "client_secret: %s\n", plain)
			fmt.Fprintln(stdout, "The client secret is shown only this once: Ninsho keeps only a keyed hash of it. Store it now; if it is lost, delete the client and create another.")
		}
	case "list":
		list, err := app.Clients.List(ctx, realmID)
		if err != nil {
			return clientsError(err)
		}
		if len(list) == 0 {
			fmt.Fprintf(stdout, "no clients in realm %s\n", realmID)
		}
		for _, cl := range list {
			fmt.Fprintf(stdout, "%s name=%q type=%s auth=%s first_party=%t created=%s\n", cl.ID, cl.Name, cl.Kind, cl.AuthMethod,
				cl.FirstParty, cl.CreatedAt.UTC().Format(time.RFC3339))
		}
	case "show":
		cl, err := app.Clients.Get(ctx, realmID, id)
		if err != nil {
			return clientsError(err)
		}
		showClient(stdout, cl)
	case "delete":
		if err := app.Clients.Delete(ctx, realmID, id); err != nil {
			return clientsError(err)
		}
		fmt.Fprintf(stdout, "client %s deleted from realm %s\n", id, realmID)
	}
	return nil
}

// parseWithID parses args, which start with a client id when withID: the
// flags may come before or after it.
func parseWithID(c *command, withID bool, args []string) (string, error) {
	if !withID {
		return "", c.parse(args)
	}
	if err := c.fs.Parse(args); err != nil {
		return "", err
	}
	if c.fs.NArg() == 0 {
		return "", fmt.Errorf("%s: the client id is required", c.fs.Name())
	}
	id := c.fs.Arg(0)
	return id, c.parse(c.fs.Args()[1:])
}

// showClient prints every field of cl but its secret's hash, one
// "name: value" line each; a list gives one line per value, "-" is none.
func showClient(w io.Writer, cl *oauthclient.Client) {
	or := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	secret := "none"
	if oauthclient.UsesSecret(cl.AuthMethod) {
		secret = "set (stored as a keyed hash; shown only when created)"
	}
	fmt.Fprintf(w, "realm: %s\nclient_id: %s\nname: %s\ntype: %s\nauth: %s\nclient_secret: %s\n", cl.Realm, cl.ID, cl.Name, cl.Kind, cl.AuthMethod, secret)
	for _, u := range cl.RedirectURIs {
		fmt.Fprintf(w, "redirect_uri: %s\n", u)
	}
	if len(cl.PostLogoutRedirectURIs) == 0 {
		fmt.Fprintln(w, "post_logout_uri: -")
	}
	for _, u := range cl.PostLogoutRedirectURIs {
		fmt.Fprintf(w, "post_logout_uri: %s\n", u)
	}
	fmt.Fprintf(w, "first_party: %t\nbackchannel_logout_uri: %s\nfrontchannel_logout_uri: %s\njwks: %s\nwithout_two_step: %s\ncreated: %s\n",
		cl.FirstParty, or(cl.BackchannelLogoutURI), or(cl.FrontchannelLogoutURI), or(string(cl.JWKS)), cl.WithoutTwoStep,
		cl.CreatedAt.UTC().Format(time.RFC3339))
}

// clientsError says what a refusal means on the command line: each refused
// field as its flag, with the value and the reason (docs/oidc.md).
func clientsError(err error) error {
	e := ninsho.ErrorOf(err)
	switch e.Code {
	case ninsho.CodeInternal:
		return err
	case ninsho.CodeNotFound:
		return errors.New("clients: no such client in this realm (not_found)")
	}
	var lines []string
	for _, x := range e.All() {
		line := "clients: "
		if x.Field != "" {
			flag := clientFlagOf[x.Field]
			if flag == "" {
				flag = x.Field
			}
			line += flag + ": "
		}
		if v, ok := x.Params["value"].(string); ok {
			line += fmt.Sprintf("%q: ", v)
		}
		line += string(x.Code)
		if r, ok := x.Params["reason"].(string); ok {
			line += " (" + r + ")"
		}
		if m, ok := x.Params["max"]; ok {
			line += fmt.Sprintf(" (at most %v)", m)
		}
		lines = append(lines, line)
	}
	return errors.New(strings.Join(lines, "\n"))
}
