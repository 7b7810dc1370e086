package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ninsho/ninsho/internal/config"
)

const testKey = "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=" // 32 bytes

// productionEnv is every production setting of a single instance given by
// environment variables (SQLite, so that the test needs no PostgreSQL).
var productionEnv = map[string]string{
	"NINSHO_PUBLIC_URL":      "https://id.example.com",
	"NINSHO_SMTP_HOST":       "smtp.example.com",
	"NINSHO_SMTP_FROM":       "Example <no-reply@example.com>",
	"NINSHO_SMTP_PASSWORD":   "smtp-pass",
	"NINSHO_HASH_KEY":        testKey,
	"NINSHO_ENCRYPTION_KEYS": testKey,
}

// setEnv clears every NINSHO_ variable for the test, then sets env.
func setEnv(t *testing.T, env map[string]string) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "NINSHO_") {
			t.Setenv(k, "")
		}
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
}

func TestLoadConfigDecidesTheMode(t *testing.T) {
	file := filepath.Join(t.TempDir(), "ninsho.json")
	if err := os.WriteFile(file, []byte(`{"addr": "127.0.0.1:8080"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		env        map[string]string
		args       []string
		wantMode   config.Mode
		wantReason string
		wantErr    string // part of the error; "" means none
	}{
		{"fresh machine", nil, nil, config.ModeDevelopment, "nothing production-like", ""},
		{"production settings by environment", productionEnv, nil, config.ModeProduction, "production settings are given", ""},
		{"production settings and --dev", productionEnv, []string{"--dev"}, config.ModeDevelopment, "--dev", ""},
		{"a file without mode", nil, []string{"--config", file}, config.ModeProduction, "configuration file", "invalid configuration for production mode"},
		{"a file and --dev", nil, []string{"--config", file, "--dev"}, config.ModeDevelopment, "--dev", ""},
		{"every interface", nil, []string{"--addr", "0.0.0.0:8080"}, config.ModeProduction, "not a loopback address",
			"invalid configuration for production mode (addr 0.0.0.0:8080 is not a loopback address, and development mode only listens on loopback)"},
		{"--dev on every interface", nil, []string{"--dev", "--addr", "0.0.0.0:8080"}, config.ModeDevelopment, "--dev",
			"addr 0.0.0.0:8080: development mode serves every code at /dev/api/messages and only listens on loopback"},
		{"NINSHO_MODE=development on every interface", map[string]string{"NINSHO_MODE": "development", "NINSHO_ADDR": "0.0.0.0:8080"}, nil, config.ModeDevelopment, "NINSHO_MODE",
			"addr 0.0.0.0:8080: development mode"},
		{"--dev on ipv6 loopback", nil, []string{"--dev", "--addr", "[::1]:8080"}, config.ModeDevelopment, "--dev", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setEnv(t, tt.env)
			args := append([]string{"--data-dir", t.TempDir()}, tt.args...)
			cfg, err := loadConfig("serve", args, io.Discard)
			if cfg.Mode != tt.wantMode || !strings.Contains(cfg.ModeReason(), tt.wantReason) {
				t.Errorf("got mode %q (%s), want %q (%s)", cfg.Mode, cfg.ModeReason(), tt.wantMode, tt.wantReason)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("got error %v, want none", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("got error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestProductionByEnvironmentServesNoCodes is issue 8's reproduction: every
// production setting given by environment variables, no configuration file.
// The server must run in production mode, say why, and keep the development
// inbox (which hands out every code) closed.
func TestProductionByEnvironmentServesNoCodes(t *testing.T) {
	setEnv(t, productionEnv)
	cfg, err := loadConfig("serve", []string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, io.Discard)
	if err != nil {
		t.Fatalf("loadConfig: %v", err)
	}
	var logs bytes.Buffer
	app, err := NewApp(context.Background(), cfg, Options{LogOutput: &logs})
	if err != nil {
		t.Fatalf("NewApp: %v", err)
	}
	defer app.Close()
	if err := app.Start(); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/dev/api/messages", "/dev/api/messages?to=a@example.com", "/dev/inbox", "/metrics"} {
		res, err := http.Get(app.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("got GET %s %d, want 404 in production", path, res.StatusCode)
		}
		if got := res.Header.Get("Strict-Transport-Security"); got != "max-age=63072000; includeSubDomains" {
			t.Errorf("got GET %s Strict-Transport-Security %q, want it under an https public URL", path, got)
		}
	}
	// The development endpoint that plays a provider's delivery report
	// does not exist outside development.
	res, err := http.Post(app.URL()+"/dev/api/messages/01J0000000000000000000000A/delivery", "application/json", strings.NewReader(`{"status":"undelivered"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("got POST /dev/api/messages/{id}/delivery %d, want 404 in production", res.StatusCode)
	}
	log := logs.String()
	for _, want := range []string{
		`msg="production mode" reason="production settings are given (public_url, smtp.host, secrets.hash_key, secrets.encryption_keys)`,
		`msg="/metrics is not served: set metrics.addr or metrics.bearer_token`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %s:\n%s", want, log)
		}
	}
	if strings.Contains(log, `msg="development mode`) || strings.Contains(log, "smtp-pass") || strings.Contains(log, testKey[:12]) {
		t.Errorf("the log says development mode or shows a secret:\n%s", log)
	}
}

func TestNewAppRefusesDevelopmentOnEveryInterface(t *testing.T) {
	cfg := config.Default()
	cfg.Addr = "0.0.0.0:0"
	cfg.DataDir = t.TempDir()
	app, err := NewApp(context.Background(), cfg, Options{LogOutput: io.Discard})
	if err == nil {
		app.Close()
		t.Fatal("got NewApp in development mode on 0.0.0.0, want an error")
	}
	if want := "addr 0.0.0.0:0: development mode"; !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want an error containing %q", err, want)
	}
}

func TestDevelopmentModeSaysWhy(t *testing.T) {
	setEnv(t, nil)
	cfg, err := loadConfig("serve", []string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	app, err := NewApp(context.Background(), cfg, Options{LogOutput: &logs})
	if err != nil {
		t.Fatal(err)
	}
	app.Close()
	want := `level=WARN msg="development mode: every message goes to the development inbox at /dev/inbox; do not use in production" reason="nothing production-like is configured and addr 127.0.0.1:0 is a loopback address" addr=127.0.0.1:0`
	if !strings.Contains(logs.String(), want) {
		t.Errorf("got log\n%s\nwant a line containing\n%s", logs.String(), want)
	}
}
