package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testKey = "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=" // 32 bytes

// productionEnv is every production setting given by environment variables,
// without a configuration file.
var productionEnv = map[string]string{
	"NINSHO_PUBLIC_URL":      "https://id.example.com",
	"NINSHO_DATABASE_URL":    "postgres://ninsho:pw@db.internal/ninsho",
	"NINSHO_SMTP_HOST":       "smtp.example.com",
	"NINSHO_SMTP_FROM":       "no-reply@example.com",
	"NINSHO_SMTP_PASSWORD":   "smtp-pass",
	"NINSHO_HASH_KEY":        testKey,
	"NINSHO_ENCRYPTION_KEYS": testKey,
}

func with(base map[string]string, kv ...string) map[string]string {
	m := map[string]string{}
	for k, v := range base {
		m[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func TestResolveMode(t *testing.T) {
	tests := []struct {
		name       string
		file       string // configuration file contents; "" means no file
		env        map[string]string
		wantMode   Mode
		wantReason string // part of ModeReason
		wantErr    string // part of Validate's error; "" means valid
	}{
		{"nothing configured", "", nil, ModeDevelopment, "nothing production-like is configured and addr 127.0.0.1:8080 is a loopback address", ""},
		{"every production setting by environment", "", productionEnv, ModeProduction,
			"production settings are given (database_url, public_url, smtp.host, secrets.hash_key, secrets.encryption_keys)", ""},
		{"only an SMTP host", "", map[string]string{"NINSHO_SMTP_HOST": "smtp.example.com"}, ModeProduction, "(smtp.host)", "secrets.hash_key"},
		{"only a database", "", map[string]string{"NINSHO_DATABASE_URL": "postgres://db/ninsho"}, ModeProduction, "(database_url)", "public_url: required in production"},
		{"only a hash key", "", map[string]string{"NINSHO_HASH_KEY": testKey}, ModeProduction, "(secrets.hash_key)", "smtp"},
		{"only encryption keys", "", map[string]string{"NINSHO_ENCRYPTION_KEYS": testKey}, ModeProduction, "(secrets.encryption_keys)", "smtp"},
		{"https public url", "", map[string]string{"NINSHO_PUBLIC_URL": "https://localhost:8443"}, ModeProduction, "(public_url)", "smtp"},
		{"loopback http public url", "", map[string]string{"NINSHO_PUBLIC_URL": "http://localhost:8080"}, ModeDevelopment, "loopback", ""},
		{"loopback ip public url", "", map[string]string{"NINSHO_PUBLIC_URL": "http://127.0.0.1:8080/"}, ModeDevelopment, "loopback", ""},
		{"plain http public url elsewhere", "", map[string]string{"NINSHO_PUBLIC_URL": "http://id.example.com"}, ModeProduction, "(public_url)", "public_url: must be https"},
		{"every interface", "", map[string]string{"NINSHO_ADDR": "0.0.0.0:8080"}, ModeProduction, "addr 0.0.0.0:8080 is not a loopback address", "secrets.hash_key"},
		{"no host", "", map[string]string{"NINSHO_ADDR": ":8080"}, ModeProduction, "addr :8080 is not a loopback address", "smtp"},
		{"ipv6 loopback", "", map[string]string{"NINSHO_ADDR": "[::1]:8080"}, ModeDevelopment, "loopback", ""},
		{"localhost", "", map[string]string{"NINSHO_ADDR": "localhost:8080"}, ModeDevelopment, "loopback", ""},
		{"port 0 on loopback", "", map[string]string{"NINSHO_ADDR": "127.0.0.1:0"}, ModeDevelopment, "loopback", ""},
		{"asked for with production settings", "", with(productionEnv, "NINSHO_MODE", "development"), ModeDevelopment, "NINSHO_MODE=development", ""},
		{"asked for on every interface", "", map[string]string{"NINSHO_MODE": "development", "NINSHO_ADDR": "0.0.0.0:8080"}, ModeDevelopment, "NINSHO_MODE",
			"addr 0.0.0.0:8080: development mode serves every code at /dev/api/messages and only listens on loopback (127.0.0.1, ::1, localhost)"},
		{"production asked for", "", map[string]string{"NINSHO_MODE": "production"}, ModeProduction, "NINSHO_MODE=production", "public_url"},
		{"file without mode", `{"addr": "127.0.0.1:8080"}`, nil, ModeProduction, `a configuration file is given without "mode"`, "public_url"},
		{"file asking for development", `{"mode": "development"}`, nil, ModeDevelopment, `"mode" in the configuration file`, ""},
		{"file asking for development everywhere", `{"mode": "development", "addr": "0.0.0.0:8080"}`, nil, ModeDevelopment, `"mode"`, "addr 0.0.0.0:8080: development mode"},
		{"environment over the file", `{"mode": "development"}`, map[string]string{"NINSHO_MODE": "production"}, ModeProduction, "NINSHO_MODE", "public_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.file != "" {
				path = filepath.Join(t.TempDir(), "ninsho.json")
				if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			c, err := Load(path, func(k string) string { return tt.env[k] })
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			c.ResolveMode()
			if got := c.Mode; got != tt.wantMode {
				t.Errorf("got mode %q, want %q (reason: %s)", got, tt.wantMode, c.ModeReason())
			}
			if got := c.ModeReason(); !strings.Contains(got, tt.wantReason) {
				t.Errorf("got reason %q, want it to contain %q", got, tt.wantReason)
			}
			for _, secret := range []string{"pw@", "smtp-pass", testKey[:12]} {
				if strings.Contains(c.ModeReason(), secret) {
					t.Errorf("ModeReason() %q shows a secret", c.ModeReason())
				}
			}
			err = c.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("got Validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("got Validate() = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestResolveModeKeepsAFlagsChoice(t *testing.T) {
	c, err := Load("", func(k string) string { return productionEnv[k] })
	if err != nil {
		t.Fatal(err)
	}
	c.RequestMode(ModeDevelopment, "--dev")
	c.ResolveMode()
	if got, want := c.Mode, ModeDevelopment; got != want {
		t.Errorf("got mode %q, want %q", got, want)
	}
	if got, want := c.ModeReason(), "--dev"; got != want {
		t.Errorf("got reason %q, want %q", got, want)
	}
}

func TestLoopbackAddr(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:8080", true},
		{"127.0.0.1:0", true},
		{"127.1.2.3:8080", true},
		{"[::1]:8080", true},
		{"[::ffff:127.0.0.1]:8080", true},
		{"localhost:8080", true},
		{"LOCALHOST:8080", true},
		{"0.0.0.0:8080", false},
		{"[::]:8080", false},
		{":8080", false},
		{"192.0.2.10:8080", false},
		{"id.example.com:8080", false},
		{"127.0.0.1", false}, // no port: not a listen address
		{"", false},
	}
	for _, tt := range tests {
		if got := LoopbackAddr(tt.addr); got != tt.want {
			t.Errorf("LoopbackAddr(%q) = %v, want %v", tt.addr, got, tt.want)
		}
	}
}
