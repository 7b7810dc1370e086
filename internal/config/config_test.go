package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/retention"
)

func TestDefaultIsValidDevelopment(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v, want nil", err)
	}
	if !c.Dev() {
		t.Errorf("Default().Dev() = false, want true")
	}
}

func TestFileMeansProductionAndIsValidated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ninsho.json")
	if err := os.WriteFile(path, []byte(`{"addr": ":9000"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, func(string) string { return "" })
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.Mode != ModeProduction || c.Addr != ":9000" {
		t.Fatalf("got mode %q addr %q, want production :9000", c.Mode, c.Addr)
	}
	err = c.Validate()
	if err == nil {
		t.Fatal("Validate() = nil, want errors for a production config without secrets")
	}
	for _, want := range []string{"public_url", "secrets.hash_key", "secrets.encryption_keys", "smtp"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() error %q does not mention %s", err, want)
		}
	}
}

func TestEnvOverridesAndSecretsRedacted(t *testing.T) {
	env := map[string]string{
		"NINSHO_DATABASE_URL":    "postgres://user:pw@db/ninsho",
		"NINSHO_HASH_KEY":        "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=",
		"NINSHO_SMTP_PASSWORD":   "smtp-pass",
		"NINSHO_TRUSTED_PROXIES": "10.0.0.0/8,192.0.2.1",
	}
	c, err := Load("", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if string(c.DatabaseURL) != env["NINSHO_DATABASE_URL"] {
		t.Errorf("DatabaseURL = %q", c.DatabaseURL)
	}
	p, err := c.TrustedProxyPrefixes()
	if err != nil || len(p) != 2 || p[1].String() != "192.0.2.1/32" {
		t.Errorf("TrustedProxyPrefixes() = %v, %v", p, err)
	}
	out := c.Redacted()
	for _, secret := range []string{"smtp-pass", "user:pw", "c2VjcmV0"} {
		if strings.Contains(out, secret) {
			t.Errorf("Redacted() shows secret %q", secret)
		}
	}
}

func TestValidateRejects(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"bad proxy", func(c *Config) { c.TrustedProxies = []string{"nope"} }, "trusted_proxies"},
		{"bad locale", func(c *Config) { c.Realms[0].DefaultLocale = "fr" }, "default_locale"},
		{"bad disclosure", func(c *Config) { c.Realms[0].IdentifierDisclosure = "maybe" }, "identifier_disclosure"},
		{"bad unknown_hosts", func(c *Config) { c.UnknownHosts = "ignore" }, "unknown_hosts: must be"},
		{"duplicate realm", func(c *Config) { c.Realms = append(c.Realms, c.Realms[0]) }, "realms[1].id"},
		{"hint at an unknown realm", func(c *Config) { c.Realms[0].CrossRealmHint = []string{"nowhere"} }, "cross_realm_hint: \"nowhere\" is not another realm"},
		{"hint at itself", func(c *Config) { c.Realms[0].CrossRealmHint = []string{c.Realms[0].ID} }, "is not another realm"},
		{"hint from a safe realm", func(c *Config) {
			c.Realms[0].IdentifierDisclosure = "safe"
			c.Realms = append(c.Realms, Realm{ID: "us", Name: "US", DefaultLocale: "en", PhoneRegion: "US", IdentifierDisclosure: "explicit"})
			c.Realms[0].CrossRealmHint = []string{"us"}
		}, "only an explicit realm may hint"},
		{"hint at a safe realm", func(c *Config) {
			c.Realms = append(c.Realms, Realm{ID: "us", Name: "US", DefaultLocale: "en", PhoneRegion: "US", IdentifierDisclosure: "safe"})
			c.Realms[0].CrossRealmHint = []string{"us"}
		}, "\"us\" is a safe realm"},
		{"weak argon", func(c *Config) { c.Password.MemoryKiB = 64 }, "memory_kib"},
		{"hashing above the server", func(c *Config) { c.Password.Nice = -5 }, "password.nice: must be 0 to 19"},
		{"nice past 19", func(c *Config) { c.Password.Nice = 20 }, "password.nice: must be 0 to 19"},
		{"bad db url", func(c *Config) { c.DatabaseURL = "mysql://x" }, "database_url"},
		{"events shorter than the sign-in history", func(c *Config) { c.Retention.Events = Duration(30 * 24 * time.Hour) }, "retention.events: must be at least 2160h"},
		{"codes shorter than the hourly cap", func(c *Config) { c.Retention.Codes = Duration(time.Minute) }, "retention.codes: must be at least 1h"},
		{"no session retention", func(c *Config) { c.Retention.Sessions = 0 }, "retention.sessions: must be positive"},
		{"no batch", func(c *Config) { c.Retention.BatchSize = 0 }, "retention.batch_size"},
		{"huge batch", func(c *Config) { c.Retention.BatchSize = 1_000_000 }, "retention.batch_size"},
		{"no batches", func(c *Config) { c.Retention.BatchesPerRun = 0 }, "retention.batches_per_run"},
		{"negative reauth window", func(c *Config) { c.Realms[0].TwoStep.ReauthWindow = Duration(-time.Minute) }, "realms[0].two_step.reauth_window"},
		{"reauth window of days", func(c *Config) { c.Realms[0].TwoStep.ReauthWindow = Duration(48 * time.Hour) }, "realms[0].two_step.reauth_window"},
		{"2SV required for an unknown type", func(c *Config) { c.Realms[0].TwoStep.RequiredFor = []string{"seller", "admin"} }, `realms[0].two_step.required_for: "admin"`},
		{"negative trusted-device days", func(c *Config) { c.Realms[0].TwoStep.TrustedDeviceDays = -1 }, "realms[0].two_step.trusted_device_days"},
		{"trusted device for years", func(c *Config) { c.Realms[0].TwoStep.TrustedDeviceDays = 400 }, "realms[0].two_step.trusted_device_days"},
		{"negative SMS limit", func(c *Config) { c.Realms[0].SMSLimits.PerForeignCountryHour = -1 }, "realms[0].sms_limits"},
		{"http public url", func(c *Config) {
			c.Mode = ModeProduction
			c.PublicURL = "http://id.example.com"
		}, "must be https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.edit(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
}

func TestRealmRiskThresholds(t *testing.T) {
	c := Default()
	c.Realms[0].Risk.LockAfterFailures = 500
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "lock_after_failures at most 100") {
		t.Errorf("Validate() = %v, want the NIST bound on lock_after_failures", err)
	}
	c.Realms[0].Risk.LockAfterFailures = 5
	if err := c.Validate(); err != nil || !c.Realms[0].Risk.Any() {
		t.Errorf("Validate() = %v, Any() = %v", err, c.Realms[0].Risk.Any())
	}
}

func TestRetention(t *testing.T) {
	if got, want := Default().Retention.Policy(), retention.DefaultPolicy(); got != want {
		t.Errorf("Default().Retention.Policy() = %+v, want retention.DefaultPolicy() %+v", got, want)
	}
	path := filepath.Join(t.TempDir(), "ninsho.json")
	if err := os.WriteFile(path, []byte(`{"retention": {"events": "12000h", "batch_size": 500}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, func(string) string { return "" })
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := DefaultRetention()
	want.Events, want.BatchSize = Duration(500*24*time.Hour), 500
	if !reflect.DeepEqual(c.Retention, want) {
		t.Errorf("Retention from a file setting two of its fields: got %+v, want %+v (the others at their defaults)", c.Retention, want)
	}
}

// TestSMSLimitsFromFile reads realms[].sms_limits by their documented names.
func TestSMSLimitsFromFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ninsho.json")
	body := `{"realms": [{"id": "jp", "name": "さくら商店", "hosts": ["id.example.jp"], "default_locale": "ja", "phone_region": "JP",
	  "identifier_disclosure": "explicit",
	  "sms_limits": {"per_number_hour": 5, "per_number_day": 12, "per_country_hour": 3000, "per_foreign_country_hour": 20, "realm_hour": 4000}}]}`
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, func(string) string { return "" })
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := SMSLimits{PerNumberHour: 5, PerNumberDay: 12, PerCountryHour: 3000, PerForeignCountryHour: 20, RealmHour: 4000}
	if got := c.Realms[0].SMSLimits; got != want {
		t.Errorf("sms_limits = %+v, want %+v", got, want)
	}
}

// TestPasswordNiceFromFile: password.nice is 10 unless the file sets it,
// and 0 (hashing at the server's priority) is kept, not taken for "unset".
func TestPasswordNiceFromFile(t *testing.T) {
	for _, c := range []struct {
		password string
		want     int
	}{
		{`{"memory_kib": 19456, "time": 2, "threads": 1}`, 10},
		{`{"memory_kib": 19456, "time": 2, "threads": 1, "nice": 0}`, 0},
		{`{"memory_kib": 19456, "time": 2, "threads": 1, "nice": 19}`, 19},
	} {
		path := filepath.Join(t.TempDir(), "ninsho.json")
		if err := os.WriteFile(path, []byte(`{"mode": "development", "password": `+c.password+`}`), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := Load(path, func(string) string { return "" })
		if err != nil {
			t.Fatalf("Load(%s): %v", c.password, err)
		}
		if got.Password.Nice != c.want {
			t.Errorf("password %s: nice = %d, want %d", c.password, got.Password.Nice, c.want)
		}
	}
}
