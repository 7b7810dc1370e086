// Package config is Ninsho's one configuration struct: defaults, a JSON file,
// then NINSHO_* environment variables, validated before anything starts.
// Secrets are redacted whenever the configuration is printed or logged.
package config

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"

	"github.com/ninsho/ninsho/internal/workthread"
)

// Mode is development or production.
type Mode string

// Modes.
const (
	ModeDevelopment Mode = "development"
	ModeProduction  Mode = "production"
)

// Duration is a time.Duration written as "30s", "10m", "336h" in JSON.
type Duration time.Duration

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"30s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// Secret is a configuration value never shown in output.
type Secret string

// String redacts the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// MarshalJSON redacts the secret.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MaxRealmName bounds a realm's display name, in characters.
const MaxRealmName = 100

// invisible reports a control character or an invisible formatting one
// (Cf: bidirectional overrides, zero-width space…), which would disguise a
// realm's name on every page and message.
func invisible(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }

// Realm configures one account space.
type Realm struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	Hosts         []string `json:"hosts"`
	DefaultLocale string   `json:"default_locale"`
	// Locales are the languages the realm offers, default_locale among
	// them; empty (left out): every supported language.
	Locales     []string `json:"locales,omitempty"`
	PhoneRegion string   `json:"phone_region"`
	// PublicURL is where the links in this realm's messages point and whose
	// host its codes name, e.g. "https://id.example.com"; its host must be
	// one that selects this realm. Empty: the global public_url, then the
	// realm's first host, then http://addr (see RealmURL).
	PublicURL string `json:"public_url"`
	// IdentifierDisclosure is "explicit" (say when an identifier has no
	// account, like the marketplace) or "safe" (answer alike).
	IdentifierDisclosure string `json:"identifier_disclosure"`
	// CrossRealmHint lists other realms (ids) where an identifier with no
	// account here is looked up: a sign-in or password assistant start
	// with one that has an account there answers account_in_other_realm
	// with that realm's name and sign-in address. Explicit realms only,
	// linking explicit realms only; empty (the default): no hint.
	CrossRealmHint []string `json:"cross_realm_hint,omitempty"`
	// HeightenedProtection asks for a verification code on every sign-in
	// from an unfamiliar device or network (turn it on during an attack).
	HeightenedProtection bool `json:"heightened_protection"`
	// TypoTolerance accepts, from familiar devices only, a password typed
	// with Caps Lock on or with its first letter's case flipped. Default on;
	// a pointer so that a file can turn it off.
	TypoTolerance *bool `json:"typo_tolerance,omitempty"`
	// SignInWithCode lets the password assistant sign a person in once with
	// the code instead of a new password. Default on.
	SignInWithCode *bool `json:"sign_in_with_code,omitempty"`
	// PasskeySignIn lets a passkey sign a person in without a password
	// (default true).
	PasskeySignIn *bool `json:"passkey_sign_in,omitempty"`
	// Risk overrides sign-in protection thresholds; a field left at 0 keeps
	// the default.
	Risk RiskThresholds `json:"risk"`
	// Branding is how the realm's pages and messages present the shop.
	Branding Branding `json:"branding"`
	// Theme is a directory whose files override the built-in theme's CSS,
	// logo and page and message templates by name (docs/operations.md,
	// "Themes"); "" uses the built-in theme alone.
	Theme string `json:"theme"`
	// ReturnTo is the allow-list of where a finished page flow may send the
	// browser (?return_to=): exact origins ("https://shop.example.jp") and
	// path prefixes ("https://www.example.jp/mypage/"). Anything else goes
	// to /account.
	ReturnTo []string `json:"return_to"`
	// TwoStep configures two-step verification in the realm.
	TwoStep TwoStep `json:"two_step"`
	// Providers names, per channel, the providers of the realm's messages
	// in order of preference (see RealmProviders).
	Providers RealmProviders `json:"providers"`
	// CodeDeliveryTimeout is how long a code's message may stay
	// undelivered before the code step offers the account's other ways
	// ("didn't get the code?"); 0 is the default, 60s; at most
	// MaxCodeDeliveryTimeout.
	CodeDeliveryTimeout Duration `json:"code_delivery_timeout"`
	// SMSLimits caps the realm's text messages and voice calls (the SMS
	// pumping and cost guard); a field left at 0 keeps its default.
	SMSLimits SMSLimits `json:"sms_limits"`
	// ClosureGrace is how long a closed account can be reopened by signing
	// in before its personal data is purged; 0 is the default, 30 days
	// (realm.DefaultClosureGrace); otherwise between MinClosureGrace and
	// MaxClosureGrace.
	ClosureGrace Duration `json:"closure_grace"`
	// Help configures the realm's "help me sign in" requests.
	Help Help `json:"help"`
	// Recovery configures document recovery of two-step verification.
	Recovery RealmRecovery `json:"recovery"`
	// Organisations configures the realm's organisations (business
	// approval and its approvers).
	Organisations RealmOrganisations `json:"organisations"`
	// Password is the realm's policy for new passwords.
	Password RealmPassword `json:"password"`
	// Codes is the realm's verification codes (their lifetime).
	Codes RealmCodes `json:"codes"`
}

// Help is a realm's "help me sign in" requests (realms[].help).
type Help struct {
	// Due is how long after a request support means to have answered it
	// (its due time, which orders the staff queue); 0 is the default, 48
	// hours (realm.DefaultHelpDue); otherwise between MinHelpDue and
	// MaxHelpDue.
	Due Duration `json:"due"`
}

// Bounds of realms[].help.due.
const (
	MinHelpDue = time.Hour
	MaxHelpDue = 30 * 24 * time.Hour
)

// Bounds of realms[].closure_grace.
const (
	MinClosureGrace = 24 * time.Hour
	MaxClosureGrace = 365 * 24 * time.Hour
)

// SMSLimits are a realm's caps on SMS and voice messages, counted together
// (docs/operations.md, "SMS and voice limits"); 0 keeps the default given
// beside each field.
type SMSLimits struct {
	PerNumberHour         int `json:"per_number_hour"`          // to one number per hour and lane (15)
	PerNumberDay          int `json:"per_number_day"`           // to one number per day and lane (40)
	PerCountryHour        int `json:"per_country_hour"`         // to the realm's own country (region) per hour (1,000)
	PerForeignCountryHour int `json:"per_foreign_country_hour"` // to each other country (region) per hour (50)
	RealmHour             int `json:"realm_hour"`               // the realm's whole per hour (2,000)
}

// MaxCodeDeliveryTimeout bounds realms[].code_delivery_timeout: a code
// lives 10 minutes.
const MaxCodeDeliveryTimeout = 10 * time.Minute

// TwoStep is a realm's two-step verification settings.
type TwoStep struct {
	// ReauthWindow is how long after proving who they are a signed-in
	// person may make sensitive changes (enrol or remove a method, turn
	// two-step verification off, …) without proving it again. 0 keeps the
	// default (realm.DefaultReauthWindow, 10 minutes); at most MaxReauthWindow.
	ReauthWindow Duration `json:"reauth_window"`
	// RequiredFor lists the account types ("customer", "seller",
	// "business") that must have two-step verification. Empty: optional.
	RequiredFor []string `json:"required_for,omitempty"`
	// TrustedDeviceDays is how many days a trusted device skips the second
	// factor; 0 keeps the default (60), at most MaxTrustedDeviceDays.
	TrustedDeviceDays int `json:"trusted_device_days,omitempty"`
}

// MaxTrustedDeviceDays bounds realms[].two_step.trusted_device_days.
const MaxTrustedDeviceDays = 365

// MaxReauthWindow bounds realms[].two_step.reauth_window: re-authentication
// is meant to be recent.
const MaxReauthWindow = 24 * time.Hour

// Branding is a realm's look and contact details, used by every page, e-mail,
// SMS and voice message of the realm. The realm's display name is its name.
type Branding struct {
	// Logo is a file path (read at start, served by Ninsho) or an absolute
	// https URL of the realm's logo.
	Logo string `json:"logo"`
	// PrimaryColor is the brand colour ("#rrggbb") of primary buttons and
	// links; it is darkened or lightened where it would fail WCAG AA.
	PrimaryColor string `json:"primary_color"`
	// SupportURL is the shop's help page; SupportContact a line such as
	// "0120-000-000（平日 9:00–18:00）".
	SupportURL     string `json:"support_url"`
	SupportContact string `json:"support_contact"`
	// TermsURL and PrivacyURL are the legal links in every footer.
	TermsURL   string `json:"terms_url"`
	PrivacyURL string `json:"privacy_url"`
	// PoweredBy adds a small "powered by Ninsho" line to page footers.
	PoweredBy bool `json:"powered_by"`
}

// RiskThresholds are the per-realm sign-in protection thresholds.
type RiskThresholds struct {
	CaptchaAfterFailures         int `json:"captcha_after_failures"`          // from unfamiliar devices in 15 min (3)
	CaptchaAfterFailuresFamiliar int `json:"captcha_after_failures_familiar"` // from familiar devices (5)
	AddressPerMinute             int `json:"address_per_minute"`              // attempts per client address, failures double (100)
	PrefixPerMinute              int `json:"prefix_per_minute"`               // attempts per /24 or /48 (1,000)
	DevicePerMinute              int `json:"device_per_minute"`               // attempts per unfamiliar device token (30)
	LockAfterFailures            int `json:"lock_after_failures"`             // unfamiliar failures before a lock (10)
	// LockLadder is how long the account's first, second, … lock lasts
	// (the last rung repeats); empty keeps the default (1m, 5m, 30m, 2h,
	// 24h). See policyProblems for its bounds.
	LockLadder []Duration `json:"lock_ladder,omitempty"`
}

// Any reports whether any threshold is overridden.
func (r RiskThresholds) Any() bool {
	return r.CaptchaAfterFailures != 0 || r.CaptchaAfterFailuresFamiliar != 0 || r.AddressPerMinute != 0 ||
		r.PrefixPerMinute != 0 || r.DevicePerMinute != 0 || r.LockAfterFailures != 0 || len(r.LockLadder) > 0
}

// SMTP configures the e-mail provider.
type SMTP struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Username string `json:"username"`
	Password Secret `json:"password"`
	From     string `json:"from"` // "Ninsho <no-reply@example.com>"
	TLS      string `json:"tls"`  // "starttls" (default), "tls" or "none"
}

// Password configures hashing.
type Password struct {
	MemoryKiB uint32 `json:"memory_kib"`
	Time      uint32 `json:"time"`
	Threads   uint8  `json:"threads"`
	// Concurrency is how many hashes run at once (0: one per CPU).
	Concurrency int `json:"concurrency"`
	// Queue is how many sign-ins may wait for a hashing slot before the
	// server answers 503 (0: 64 per slot).
	Queue int `json:"queue"`
	// MaxWait is the longest expected wait for a slot with which a sign-in
	// is admitted (the limiter estimates it from the measured hash time);
	// one that has waited half as long again is refused.
	MaxWait Duration `json:"max_wait"`
	// Nice is the nice value of the hashing threads (workthread), 0 to
	// 19: 10 by default, so that everything else on the machine runs
	// first; 0 hashes at the priority of the rest of the server (a machine
	// shared with work that must not come before sign-ins).
	Nice int `json:"nice"`
}

// Session configures session life.
type Session struct {
	Idle     Duration `json:"idle"`
	Absolute Duration `json:"absolute"`
}

// Secrets are the server's keys, base64-encoded.
type Secrets struct {
	// HashKey keys the hashes of codes, tokens and session ids (≥ 32 bytes).
	HashKey Secret `json:"hash_key"`
	// EncryptionKeys seal outbox variables and other secrets at rest (32
	// bytes each). The first encrypts; all decrypt.
	EncryptionKeys []Secret `json:"encryption_keys"`
}

// Config is the whole configuration.
type Config struct {
	Mode           Mode     `json:"mode"`
	Addr           string   `json:"addr"`
	DataDir        string   `json:"data_dir"`
	DatabaseURL    Secret   `json:"database_url"`
	PublicURL      string   `json:"public_url"`
	TrustedProxies []string `json:"trusted_proxies"`
	// UnknownHosts is what a request for a host no realm names gets:
	// "default_realm" (the first realm answers it; the default) or
	// "not_found" (404, except the health, readiness, metrics and provider
	// callback routes).
	UnknownHosts string   `json:"unknown_hosts,omitempty"`
	LogFormat    string   `json:"log_format"` // "text" or "json"
	LogLevel     string   `json:"log_level"`  // "debug", "info", "warn", "error"
	Secrets      Secrets  `json:"secrets"`
	Password     Password `json:"password"`
	Session      Session  `json:"session"`
	SMTP         SMTP     `json:"smtp"`
	// Providers defines the message providers that realms name in
	// realms[].providers (docs/operations.md, "Message providers").
	Providers []Provider `json:"providers"`
	Metrics   Metrics    `json:"metrics"`
	Realms    []Realm    `json:"realms"`
	// RealmRefresh is how often every instance looks for realm settings
	// changed at run time (`ninsho realms set`, the console) and applies
	// them; see DefaultRealmRefresh and the bounds of realmRefreshProblems.
	RealmRefresh Duration `json:"realm_refresh,omitempty"`

	// modeReason says why Mode is what it is (RequestMode, ResolveMode).
	modeReason string
	// Retention says how long old records are kept (docs/operations.md).
	Retention Retention `json:"retention"`
}

// Default returns the development configuration that `ninsho serve` runs with
// when given nothing (on a loopback address; see ResolveMode).
func Default() Config {
	return Config{
		Mode:      ModeDevelopment,
		Addr:      "127.0.0.1:8080",
		DataDir:   "ninsho-data",
		LogFormat: "text",
		LogLevel:  "info",
		Password: Password{
			MemoryKiB: 19456, Time: 2, Threads: 1,
			MaxWait: Duration(150 * time.Millisecond), Nice: workthread.Nice,
		},
		Session: Session{Idle: Duration(14 * 24 * time.Hour), Absolute: Duration(30 * 24 * time.Hour)},
		SMTP:    SMTP{Port: 587, TLS: "starttls"},
		Realms: []Realm{{
			ID: "default", Name: "Ninsho", DefaultLocale: "ja", PhoneRegion: "JP",
			IdentifierDisclosure: "explicit",
		}},
		Retention:    DefaultRetention(),
		RealmRefresh: Duration(DefaultRealmRefresh),
	}
}

// Load returns Default, overlaid with the JSON file at path (if path is not
// ""), then with NINSHO_* environment variables from env (os.Getenv when nil).
// A configuration file without a "mode" means production. With neither a
// file nor NINSHO_MODE, Mode is left "" for ResolveMode to decide once the
// flags are applied.
func Load(path string, env func(string) string) (Config, error) {
	c := Default()
	c.Mode = "" // a file, NINSHO_MODE, a flag or ResolveMode decides
	if env == nil {
		env = os.Getenv
	}
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("config: %w", err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return c, fmt.Errorf("config: %s: %w", path, err)
		}
		if c.Mode == "" {
			c.RequestMode(ModeProduction, "a configuration file is given without \"mode\"")
		} else {
			c.RequestMode(c.Mode, "\"mode\" in the configuration file")
		}
	}
	if err := c.applyEnv(env); err != nil {
		return c, err
	}
	return c, nil
}

func (c *Config) applyEnv(env func(string) string) error {
	str := func(name string, dst *string) {
		if v := env(name); v != "" {
			*dst = v
		}
	}
	str("NINSHO_ADDR", &c.Addr)
	str("NINSHO_DATA_DIR", &c.DataDir)
	str("NINSHO_PUBLIC_URL", &c.PublicURL)
	str("NINSHO_LOG_FORMAT", &c.LogFormat)
	str("NINSHO_LOG_LEVEL", &c.LogLevel)
	str("NINSHO_SMTP_HOST", &c.SMTP.Host)
	str("NINSHO_SMTP_USERNAME", &c.SMTP.Username)
	str("NINSHO_SMTP_FROM", &c.SMTP.From)
	str("NINSHO_SMTP_TLS", &c.SMTP.TLS)
	str("NINSHO_METRICS_ADDR", &c.Metrics.Addr)
	if v := env("NINSHO_METRICS_TOKEN"); v != "" {
		c.Metrics.BearerToken = Secret(v)
	}
	if v := env("NINSHO_HEIGHTENED_PROTECTION"); v != "" {
		on, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("config: NINSHO_HEIGHTENED_PROTECTION: %w", err)
		}
		for i := range c.Realms {
			c.Realms[i].HeightenedProtection = on
		}
	}
	if v := env("NINSHO_MODE"); v != "" {
		c.RequestMode(Mode(v), "NINSHO_MODE="+v)
	}
	if v := env("NINSHO_DATABASE_URL"); v != "" {
		c.DatabaseURL = Secret(v)
	}
	if v := env("NINSHO_SMTP_PASSWORD"); v != "" {
		c.SMTP.Password = Secret(v)
	}
	if v := env("NINSHO_SMTP_PORT"); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("config: NINSHO_SMTP_PORT: %w", err)
		}
		c.SMTP.Port = p
	}
	if v := env("NINSHO_HASH_KEY"); v != "" {
		c.Secrets.HashKey = Secret(v)
	}
	if v := env("NINSHO_ENCRYPTION_KEYS"); v != "" {
		c.Secrets.EncryptionKeys = nil
		for _, k := range strings.Split(v, ",") {
			c.Secrets.EncryptionKeys = append(c.Secrets.EncryptionKeys, Secret(strings.TrimSpace(k)))
		}
	}
	if v := env("NINSHO_TRUSTED_PROXIES"); v != "" {
		c.TrustedProxies = strings.Split(v, ",")
	}
	return nil
}

// Dev reports whether the configuration is in development mode.
func (c *Config) Dev() bool { return c.Mode == ModeDevelopment }

// Validate checks the configuration and returns every problem at once, each
// naming the setting and what to do.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Mode != ModeDevelopment && c.Mode != ModeProduction {
		bad("mode: must be \"development\" or \"production\", not %q", c.Mode)
	}
	if c.Addr == "" {
		bad("addr: required, e.g. \"127.0.0.1:8080\"")
	}
	if err := c.CheckDevelopmentAddr(); err != nil {
		errs = append(errs, err)
	}
	if c.DatabaseURL == "" && c.DataDir == "" {
		bad("data_dir: required when database_url is not set")
	}
	if u := string(c.DatabaseURL); u != "" && !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") && !strings.HasPrefix(u, "sqlite:") {
		bad("database_url: must start with postgres://, postgresql:// or sqlite:")
	}
	if _, err := c.TrustedProxyPrefixes(); err != nil {
		bad("trusted_proxies: %v", err)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("log_format: must be \"text\" or \"json\"")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log_level: must be debug, info, warn or error")
	}
	if c.Password.MemoryKiB < 8192 || c.Password.Time < 1 || c.Password.Threads < 1 {
		bad("password: argon2id needs memory_kib ≥ 8192, time ≥ 1, threads ≥ 1")
	}
	if c.Password.Nice < 0 || c.Password.Nice > 19 {
		bad("password.nice: must be 0 to 19")
	}
	if c.Session.Idle <= 0 || c.Session.Absolute <= 0 || c.Session.Idle > c.Session.Absolute {
		bad("session: idle and absolute must be positive, idle ≤ absolute")
	}
	errs = append(errs, c.Retention.validate()...)
	if len(c.Realms) == 0 {
		bad("realms: at least one realm is required")
	}
	seen := map[string]bool{}
	if c.UnknownHosts != "" && c.UnknownHosts != "default_realm" && c.UnknownHosts != "not_found" {
		bad("unknown_hosts: must be \"default_realm\" or \"not_found\"")
	}
	for i, r := range c.Realms {
		if r.ID == "" || seen[r.ID] {
			bad("realms[%d].id: required and unique", i)
		}
		seen[r.ID] = true
		if r.DefaultLocale != "ja" && r.DefaultLocale != "en" {
			bad("realms[%d].default_locale: must be \"ja\" or \"en\"", i)
		}
		if _, ok := phonenumbers.GetSupportedRegions()[r.PhoneRegion]; !ok {
			bad("realms[%d].phone_region: %q is no region phone numbers are known for; a two-letter region in capitals such as \"JP\" or \"US\"", i, r.PhoneRegion)
		}
		if n := strings.TrimSpace(r.Name); n == "" || utf8.RuneCountInString(n) > MaxRealmName || strings.ContainsFunc(n, invisible) {
			bad("realms[%d].name: the name people see (the shop's), 1 to %d characters without control or invisible formatting characters", i, MaxRealmName)
		}
		if t := r.Risk; t.CaptchaAfterFailures < 0 || t.CaptchaAfterFailuresFamiliar < 0 || t.AddressPerMinute < 0 ||
			t.PrefixPerMinute < 0 || t.DevicePerMinute < 0 || t.LockAfterFailures < 0 || t.LockAfterFailures > 100 {
			bad("realms[%d].risk: thresholds must be positive (0 keeps the default); lock_after_failures at most 100 (NIST SP 800-63B)", i)
		}
		if l := r.SMSLimits; l.PerNumberHour < 0 || l.PerNumberDay < 0 || l.PerCountryHour < 0 || l.PerForeignCountryHour < 0 || l.RealmHour < 0 {
			bad("realms[%d].sms_limits: limits must be positive (0 keeps the default)", i)
		}
		if r.IdentifierDisclosure != "explicit" && r.IdentifierDisclosure != "safe" {
			bad("realms[%d].identifier_disclosure: must be \"explicit\" or \"safe\"", i)
		}
		for _, other := range r.CrossRealmHint {
			j := slices.IndexFunc(c.Realms, func(o Realm) bool { return o.ID == other })
			switch {
			case r.IdentifierDisclosure != "explicit":
				bad("realms[%d].cross_realm_hint: only an explicit realm may hint at another (a safe realm tells nothing about identifiers)", i)
			case j < 0 || other == r.ID:
				bad("realms[%d].cross_realm_hint: %q is not another realm of this configuration", i, other)
			case c.Realms[j].IdentifierDisclosure != "explicit":
				bad("realms[%d].cross_realm_hint: %q is a safe realm; only explicit realms may be named", i, other)
			}
		}
		if r.PublicURL != "" {
			if err := checkPublicURL(r.PublicURL, c.Mode == ModeProduction); err != nil {
				bad("realms[%d].public_url: %v", i, err)
			}
		}
		if w := time.Duration(r.CodeDeliveryTimeout); w < 0 || w > MaxCodeDeliveryTimeout {
			bad("realms[%d].code_delivery_timeout: must be between 0 (the default, 60s) and %v", i, MaxCodeDeliveryTimeout)
		}
		if d := time.Duration(r.Help.Due); d != 0 && (d < MinHelpDue || d > MaxHelpDue) {
			bad("realms[%d].help.due: must be 0 (the default, 48h) or between %v and %v", i, MinHelpDue, MaxHelpDue)
		}
		if g := time.Duration(r.ClosureGrace); g != 0 && (g < MinClosureGrace || g > MaxClosureGrace) {
			bad("realms[%d].closure_grace: must be 0 (the default, 30 days) or between %v and %v", i, MinClosureGrace, MaxClosureGrace)
		}
		if d := time.Duration(r.Recovery.Due); d != 0 && (d < MinRecoveryDue || d > MaxRecoveryDue) {
			bad("realms[%d].recovery.due: must be 0 (the default, 48h) or between %v and %v", i, MinRecoveryDue, MaxRecoveryDue)
		}
		if w := time.Duration(r.TwoStep.ReauthWindow); w < 0 || w > MaxReauthWindow {
			bad("realms[%d].two_step.reauth_window: must be between 0 (the default, 10m) and %v", i, MaxReauthWindow)
		}
		for _, t := range r.TwoStep.RequiredFor {
			if t != "customer" && t != "seller" && t != "business" {
				bad("realms[%d].two_step.required_for: %q is not an account type (customer, seller, business)", i, t)
			}
		}
		if d := r.TwoStep.TrustedDeviceDays; d < 0 || d > MaxTrustedDeviceDays {
			bad("realms[%d].two_step.trusted_device_days: must be between 0 (the default, 60) and %d", i, MaxTrustedDeviceDays)
		}
		errs = append(errs, r.Organisations.problems(i)...)
		for _, err := range r.policyProblems() {
			bad("realms[%d].%v", i, err)
		}
		for _, err := range r.brandingProblems() {
			bad("realms[%d].%v", i, err)
		}
	}
	errs = append(errs, c.realmHostProblems()...)
	errs = append(errs, c.realmRefreshProblems()...)
	errs = append(errs, c.metricsProblems()...)
	errs = append(errs, c.providerProblems()...)
	if c.Mode == ModeProduction {
		if c.PublicURL == "" {
			bad("public_url: required in production, e.g. \"https://id.example.com\"")
		} else if err := checkPublicURL(c.PublicURL, true); err != nil {
			bad("public_url: %v", err)
		}
		errs = append(errs, c.realmLinkProblems()...)
		if _, err := c.HashKey(); err != nil {
			bad("secrets.hash_key: %v (generate one with: openssl rand -base64 32)", err)
		}
		if _, err := c.EncryptionKeys(); err != nil {
			bad("secrets.encryption_keys: %v (generate one with: openssl rand -base64 32)", err)
		}
		if c.UsesDefaultSMTP() {
			if c.SMTP.Host == "" || c.SMTP.From == "" {
				bad("smtp: host and from are required in production (there is no development inbox) unless every realm lists its providers.email")
			}
			if c.SMTP.TLS != "starttls" && c.SMTP.TLS != "tls" && c.SMTP.TLS != "none" {
				bad("smtp.tls: must be starttls, tls or none")
			}
		}
	}
	return errors.Join(errs...)
}

// HashKey decodes secrets.hash_key.
func (c *Config) HashKey() ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(string(c.Secrets.HashKey))
	if err != nil || len(k) < 32 {
		return nil, errors.New("must be base64 of at least 32 bytes")
	}
	return k, nil
}

// EncryptionKeys decodes secrets.encryption_keys.
func (c *Config) EncryptionKeys() ([][]byte, error) {
	if len(c.Secrets.EncryptionKeys) == 0 {
		return nil, errors.New("at least one key is required")
	}
	var out [][]byte
	for _, s := range c.Secrets.EncryptionKeys {
		k, err := base64.StdEncoding.DecodeString(string(s))
		if err != nil || len(k) != 32 {
			return nil, errors.New("each key must be base64 of exactly 32 bytes")
		}
		out = append(out, k)
	}
	return out, nil
}

// TrustedProxyPrefixes parses trusted_proxies (CIDRs or single addresses).
func (c *Config) TrustedProxyPrefixes() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range c.TrustedProxies {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR or an address", s)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// Redacted returns the configuration as indented JSON with secrets hidden.
func (c *Config) Redacted() string {
	b, _ := json.MarshalIndent(c, "", "  ")
	return string(b)
}
