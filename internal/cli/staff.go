package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ninsho/ninsho/internal/config"
	"github.com/ninsho/ninsho/internal/console"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/staff"
)

const staffUsage = `Usage:
  ninsho staff create  --email ADDRESS --role agent|reviewer|admin [--name NAME] [--data-dir DIR] [--config FILE]
  ninsho staff list    [--data-dir DIR] [--config FILE]
  ninsho staff disable --email ADDRESS [--data-dir DIR] [--config FILE]

create makes an invited staff account and prints its one-time enrolment
link (24 hours): the person sets a password and an authenticator app there.
`

// staffCmd runs "ninsho staff …": staff accounts of the console.
func staffCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sub, about, ok, err := pickSubcommand("staff", staffUsage, []subcommand{
		{"create", "Creates an invited staff account and prints its one-time enrolment link."},
		{"list", "Lists the staff accounts."},
		{"disable", "Disables a staff account and ends its console sessions."},
	}, args, stdout, stderr)
	if !ok {
		return err
	}
	var email, role, name string
	c := newCommand("staff "+sub, "[flags]", about, stderr, func(c *command) {
		c.dataDirFlag()
		c.configFlag()
		if sub != "list" {
			c.fs.StringVar(&email, "email", "", "the staff member's e-mail `address`")
		}
		if sub == "create" {
			c.fs.StringVar(&role, "role", "", "`role`: agent, reviewer or admin")
			c.fs.StringVar(&name, "name", "", "the staff member's `name`")
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
	switch sub {
	case "create":
		link, err := CreateStaff(ctx, app, email, name, role)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "staff account %s invited as %s\nenrolment link (single use, valid %s):\n%s\n", strings.ToLower(strings.TrimSpace(email)), role, staff.EnrolLifetime, link)
	case "list":
		list, err := app.Staff.List(ctx, nil)
		if err != nil {
			return staffError(err)
		}
		if len(list) == 0 {
			fmt.Fprintln(stdout, "no staff accounts")
		}
		for _, s := range list {
			last := "never"
			if !s.LastSignInAt.IsZero() {
				last = s.LastSignInAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(stdout, "%s role=%s status=%s name=%q last_signin=%s id=%s\n", s.Email, s.Role, s.Status, s.Name, last, s.ID)
		}
	case "disable":
		st, err := app.Staff.ByEmail(ctx, email)
		if err != nil {
			return staffError(err)
		}
		if err := app.Staff.Disable(ctx, nil, cliRequest(), st.ID); err != nil {
			return staffError(err)
		}
		fmt.Fprintf(stdout, "staff account %s disabled\n", st.Email)
	}
	return nil
}

// CreateStaff invites a staff member through app and returns the
// enrolment link, under the first realm's public URL (else the server's
// address).
func CreateStaff(ctx context.Context, app *App, email, name, role string) (string, error) {
	_, token, err := app.Staff.Invite(ctx, nil, cliRequest(), email, name, staff.Role(role))
	if err != nil {
		return "", staffError(err)
	}
	return console.EnrolURL(staffBaseURL(app.Config), token), nil
}

// staffBaseURL is where enrolment links point: the first realm's public
// URL, else the global one, else the listen address.
func staffBaseURL(cfg config.Config) string {
	if len(cfg.Realms) > 0 {
		if base, _ := cfg.RealmURL(0); base != "" {
			return base
		}
	}
	if cfg.PublicURL != "" {
		return cfg.PublicURL
	}
	return "http://" + cfg.Addr
}

// cliRequest describes the command line to services: the events it causes
// come from "cli".
func cliRequest() ninsho.Request { return ninsho.Request{IP: "cli", UserAgent: "ninsho staff"} }

// staffError says what a refusal means on the command line.
func staffError(err error) error {
	e := ninsho.ErrorOf(err)
	switch {
	case e.Code == ninsho.CodeInternal:
		return err
	case e.Field != "":
		return fmt.Errorf("staff: %s: %s", e.Field, e.Code)
	}
	return fmt.Errorf("staff: %s", e.Code)
}
