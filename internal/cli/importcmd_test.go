package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/ninsho/ninsho/internal/cli"
	"github.com/ninsho/ninsho/internal/config"
)

func importMain(tb testing.TB, want int, args ...string) string {
	tb.Helper()
	var out, errOut bytes.Buffer
	if code := cli.Main(append([]string{"import"}, args...), &out, &errOut); code != want {
		tb.Fatalf("import %v: exit %d, want %d; stdout %q stderr %q", args, code, want, out.String(), errOut.String())
	}
	return out.String() + errOut.String()
}

// TestImportCommandNextToServer (issue 16): `ninsho import` runs on the
// SQLite database of a running server; a refused line is listed with its
// number and reason and makes the exit status 3; a Firebase hash is
// imported with the project's parameters from the command line; the
// running server signs the imported account in and upgrades its hash; a
// second run creates nothing and exits 0 for a file without refusals.
func TestImportCommandNextToServer(t *testing.T) {
	dir := t.TempDir()
	app, _ := startLoggedApp(t, func(c *config.Config) { c.DataDir, c.Realms = dir, realmsJP() })
	file := realmsConfigFile(t, "", dir)
	bc, err := bcrypt.GenerateFromPassword([]byte("cli-import-pass-1"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	lines := `{"email":"cli@example.jp","name":"CLI","email_verified":true,"password_hash":"` + string(bc) + `"}
{"email":"fb@example.jp","password_hash":"$firebase-scrypt$42xEC+ixf3L2lw==$lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ=="}
{"email":"nobody@"}
`
	path := filepath.Join(t.TempDir(), "users.jsonl")
	if err := os.WriteFile(path, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	fbFlags := []string{"--firebase-signer-key", "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==",
		"--firebase-salt-separator", "Bw==", "--firebase-rounds", "8", "--firebase-mem-cost", "14"}

	// Without the Firebase parameters the Firebase line is refused too.
	out := importMain(t, cli.ExitRefused, "--realm", "jp", "--config", file, path)
	for _, want := range []string{"created 1,", "refused 2", "line 2: password_hash: import_firebase_params", "line 3: email: identifier_invalid"} {
		if !strings.Contains(out, want) {
			t.Errorf("output %q does not say %q", out, want)
		}
	}
	out = importMain(t, cli.ExitRefused, append(append([]string{"--realm", "jp"}, fbFlags...), "--config", file, path)...)
	for _, want := range []string{"import into realm jp: 3 lines, created 1, skipped 1", "refused 1", "line 3: email: identifier_invalid"} {
		if !strings.Contains(out, want) {
			t.Errorf("output %q does not say %q", out, want)
		}
	}
	if strings.Contains(out, string(bc)) || strings.Contains(out, "lSrfV15") {
		t.Errorf("the output shows a password hash: %q", out)
	}

	// The running server signs both in (the Firebase one with the
	// published vector's password) and upgrades their hashes.
	ctx := context.Background()
	for _, c := range []struct{ email, pw string }{{"cli@example.jp", "cli-import-pass-1"}, {"fb@example.jp", "user1password"}} {
		body, _ := json.Marshal(map[string]string{"identifier": c.email, "password": c.pw})
		req, _ := http.NewRequest(http.MethodPost, app.URL()+"/api/v1/signin", bytes.NewReader(body))
		req.Host = "jp.localhost"
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0 Safari/537.36")
		req.Header.Set("Accept-Language", "ja")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("sign-in of %s: %d %s", c.email, res.StatusCode, raw)
		}
		a, err := app.DB.AccountByEmail(ctx, "jp", c.email)
		if err != nil {
			t.Fatal(err)
		}
		if h, _ := app.DB.PasswordHash(ctx, a.ID); !strings.HasPrefix(h, "$argon2id$") {
			t.Errorf("%s's hash after the sign-in is %.20q…, want argon2id", c.email, h)
		}
	}

	// A clean file: exit 0; the same accounts again: nothing created.
	clean := filepath.Join(t.TempDir(), "clean.jsonl")
	if err := os.WriteFile(clean, []byte(strings.Join(strings.Split(lines, "\n")[:2], "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out = importMain(t, 0, append(append([]string{"--realm", "jp"}, fbFlags...), "--config", file, clean)...)
	if !strings.Contains(out, "created 0, skipped 2") {
		t.Errorf("second run said %q; want created 0, skipped 2", out)
	}
	// Unknown realm and half the Firebase flags are refused before anything.
	importMain(t, 1, "--realm", "nowhere", "--config", file, clean)
	importMain(t, 1, "--realm", "jp", "--firebase-rounds", "8", "--config", file, clean)
}
