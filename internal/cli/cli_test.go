package cli_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/cli"
)

func TestMigrateCreatesTheSchema(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if code := cli.Main([]string{"migrate", "--data-dir", dir}, &out, &errOut); code != 0 {
		t.Fatalf("migrate exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "up to date (sqlite)") {
		t.Errorf("migrate said %q", out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "ninsho.db")); err != nil {
		t.Errorf("no database file: %v", err)
	}
}

func TestInvalidConfigurationIsRefusedWithEveryProblem(t *testing.T) {
	file := filepath.Join(t.TempDir(), "ninsho.json")
	os.WriteFile(file, []byte(`{"public_url": "http://id.example.com", "realms": [{"id": "jp", "default_locale": "fr", "phone_region": "JP", "identifier_disclosure": "explicit"}]}`), 0o600)
	var out, errOut bytes.Buffer
	code := cli.Main([]string{"serve", "--config", file}, &out, &errOut)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	for _, want := range []string{"public_url: must be https", "default_locale", "secrets.hash_key", "smtp"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("stderr %q does not mention %q", errOut.String(), want)
		}
	}
}

func TestUnknownCommandAndFlags(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := cli.Main([]string{"fly"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "unknown command") {
		t.Errorf("unknown command: exit %d, %q", code, errOut.String())
	}
	errOut.Reset()
	if code := cli.Main([]string{"serve", "--nope"}, &out, &errOut); code != 1 {
		t.Errorf("unknown flag: exit %d, %q", code, errOut.String())
	}
}

// TestClientAddressBehindTrustedProxy checks that sign-up and sign-in events
// record the address from X-Forwarded-For only when the connection comes from
// a trusted proxy.
func TestClientAddressBehindTrustedProxy(t *testing.T) {
	for _, tt := range []struct {
		name    string
		proxies []string
		wantIP  string
	}{
		{"trusted proxy", []string{"127.0.0.0/8"}, "203.0.113.9"},
		{"no trusted proxy", nil, "127.0.0.1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			app := startAppWith(t, func(c *cliConfig) { c.TrustedProxies = tt.proxies })
			body := `{"identifier":"proxy@example.jp","password":"kumo-no-ue-42","name":"P"}`
			req, _ := http.NewRequest("POST", app.URL()+"/api/v1/signup", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Forwarded-For", "198.51.100.1, 203.0.113.9")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusCreated {
				t.Fatalf("signup status %d", res.StatusCode)
			}
			a, err := app.DB.AccountByEmail(context.Background(), "default", "proxy@example.jp")
			if err != nil {
				t.Fatal(err)
			}
			evs, err := app.DB.AccountEvents(context.Background(), a.ID, time.Now().Add(-time.Hour), 10)
			if err != nil || len(evs) == 0 {
				t.Fatalf("events: %d, %v", len(evs), err)
			}
			for _, ev := range evs {
				if ev.Type == "signup.started" && ev.IP != tt.wantIP {
					t.Errorf("signup.started ip = %q, want %q", ev.IP, tt.wantIP)
				}
			}
		})
	}
}

// TestServeRefusesABrokenMessageTheme checks that a realm's theme with a
// message template that does not parse stops `ninsho serve` before it
// listens, naming the file and the line.
func TestServeRefusesABrokenMessageTheme(t *testing.T) {
	dir := t.TempDir()
	broken := filepath.Join(dir, "theme", "messages", "ja", "signup_code.email.txt")
	if err := os.MkdirAll(filepath.Dir(broken), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(broken, []byte("{{template \"greeting\" .}}\n\n確認コード：{{.code | digits}}\n"), 0o644)
	file := filepath.Join(dir, "ninsho.json")
	os.WriteFile(file, []byte(`{"realms": [{"id": "jp", "name": "さくら商店", "hosts": ["localhost"], "default_locale": "ja", "phone_region": "JP",
		"identifier_disclosure": "explicit", "theme": `+strconv.Quote(filepath.Join(dir, "theme"))+`}]}`), 0o600)
	var out, errOut bytes.Buffer
	code := cli.Main([]string{"serve", "--dev", "--config", file, "--addr", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "data")}, &out, &errOut)
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, errOut.String())
	}
	if want := broken + `:3: function "digits" not defined`; !strings.Contains(errOut.String(), want) {
		t.Errorf("stderr:\n%s\nwant it to contain %q", errOut.String(), want)
	}
}

// TestServeRefusesABrokenTheme starts `ninsho serve` with a realm whose
// theme has a page template that does not parse: it exits 1 and says which
// file and line.
func TestServeRefusesABrokenTheme(t *testing.T) {
	dir := t.TempDir()
	themeDir := filepath.Join(dir, "sakura")
	if err := os.MkdirAll(filepath.Join(themeDir, "pages"), 0o755); err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(themeDir, "pages", "signin.html")
	if err := os.WriteFile(page, []byte("{{define \"content\"}}\n<p>{{if .FlowID}}</p>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "ninsho.json")
	cfg := `{"realms": [{"id": "jp", "name": "さくら商店", "hosts": ["localhost"], "default_locale": "ja", "phone_region": "JP",
		"identifier_disclosure": "explicit", "theme": ` + strconv.Quote(themeDir) + `}]}`
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 1)
	var out, errOut bytes.Buffer
	go func() {
		done <- cli.Main([]string{"serve", "--dev", "--addr", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "data"), "--config", file}, &out, &errOut)
	}()
	select {
	case code := <-done:
		if code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
		if want := page + ":3:"; !strings.Contains(errOut.String(), want) {
			t.Errorf("stderr %q does not name %s", errOut.String(), want)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve started with a broken theme")
	}
}
