package cli_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ninsho/ninsho/internal/cli"
	"github.com/ninsho/ninsho/internal/config"
)

// TestSecondServerOnSQLiteRefused (issue 16): `ninsho serve` on the data
// directory of a running server stops at start with a message naming the
// file and the way out, and changes nothing; the running server keeps
// serving, and the short-lived commands still work next to it.
func TestSecondServerOnSQLiteRefused(t *testing.T) {
	dir := t.TempDir()
	app, _ := startLoggedApp(t, func(c *config.Config) { c.DataDir, c.Realms = dir, realmsJP() })
	file := realmsConfigFile(t, "", dir)

	var out, errOut bytes.Buffer
	if code := cli.Main([]string{"serve", "--config", file}, &out, &errOut); code == 0 {
		t.Fatalf("a second serve on the same SQLite data directory exited 0; stdout %q stderr %q", out.String(), errOut.String())
	}
	for _, want := range []string{"ninsho.db is in use by another Ninsho server", "database_url"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("the refusal %q does not say %q", errOut.String(), want)
		}
	}
	t.Logf("the second serve said: %s", strings.TrimSpace(errOut.String()))
	if body := pageOf(t, app, "jp.localhost", "/signin"); !strings.Contains(body, "Old name") {
		t.Errorf("the running server after the refused start: %q", body)
	}
	if listed, _ := realmsMain(t, 0, file, "list"); !strings.Contains(listed, "jp ") {
		t.Errorf("realms list next to the server said %q", listed)
	}
	// The administration commands that build the whole application (staff,
	// keys, clients) open it shared too.
	for _, args := range [][]string{{"staff", "list"}, {"keys", "list"}, {"clients", "list"}} {
		out.Reset()
		errOut.Reset()
		if code := cli.Main(append(args, "--config", file), &out, &errOut); code != 0 {
			t.Errorf("ninsho %s next to the server exited %d: %s", strings.Join(args, " "), code, errOut.String())
		}
	}
}
