package config

import (
	"strings"
	"testing"
)

// TestProviderProblems checks every refusal of the providers block and the
// realms' lists, each alone on an otherwise valid development configuration.
func TestProviderProblems(t *testing.T) {
	valid := func() Config {
		c := Default()
		c.Providers = []Provider{
			{Name: "kannel-a", Type: "kannel", Kannel: &Kannel{SendSMSURL: "http://127.0.0.1:13013/cgi-bin/sendsms", Username: "u", Password: "p"}},
			{Name: "tw", Type: "twilio", Twilio: &Twilio{AccountSID: "AC1", AuthToken: "t", From: "+815012345678"}},
			{Name: "mail-b", Type: "smtp", SMTP: &SMTP{Host: "smtp.example.jp", From: "no-reply@example.jp"}},
			{Name: "devinbox", Type: "devinbox"},
		}
		c.Realms[0].Providers = RealmProviders{Email: []string{"mail-b", "devinbox"}, SMS: []string{"kannel-a", "tw"}, Voice: []string{"tw"}}
		return c
	}
	if c := valid(); c.Validate() != nil {
		t.Fatalf("valid providers: Validate() = %v, want nil", c.Validate())
	}
	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"bad name", func(c *Config) { c.Providers[0].Name = "Kannel A" }, "providers[0].name"},
		{"defined twice", func(c *Config) { c.Providers[1].Name = "kannel-a" }, "defined twice"},
		{"unknown type", func(c *Config) { c.Providers[0].Type = "carrier-pigeon" }, "providers[0].type"},
		{"missing block", func(c *Config) { c.Providers[1].Twilio = nil }, "providers[1].twilio: required"},
		{"another type's block", func(c *Config) { c.Providers[2].Webhook = &Webhook{URL: "http://x"} }, "providers[2].webhook: set"},
		{"inbox renamed", func(c *Config) { c.Providers[3].Name = "inbox"; c.Realms[0].Providers.Email[1] = "inbox" }, "named \"devinbox\""},
		{"unknown name in a realm", func(c *Config) { c.Realms[0].Providers.SMS = []string{"nexmo"} }, "realms[0].providers.sms: \"nexmo\" is not a defined provider"},
		{"channel the type cannot carry", func(c *Config) { c.Realms[0].Providers.Voice = []string{"kannel-a"} }, "cannot carry voice"},
		{"listed twice", func(c *Config) { c.Realms[0].Providers.SMS = []string{"tw", "kannel-a", "tw"} }, "listed twice"},
	} {
		c := valid()
		tc.change(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate() = %v, want an error with %q", tc.name, err, tc.want)
		}
	}

	// The development inbox never exists in production.
	c := valid()
	c.Mode = ModeProduction
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "only in development mode") {
		t.Errorf("devinbox in production: Validate() = %v, want the development-only refusal", err)
	}
}

// TestUsesDefaultSMTP: the top-level smtp is needed only while some realm has
// no e-mail list of its own.
func TestUsesDefaultSMTP(t *testing.T) {
	c := Default()
	if !c.UsesDefaultSMTP() {
		t.Error("a realm without providers.email: UsesDefaultSMTP() = false")
	}
	c.Providers = []Provider{{Name: "mail", Type: "smtp", SMTP: &SMTP{Host: "h", From: "f@example.jp"}}}
	c.Realms[0].Providers.Email = []string{"mail"}
	if c.UsesDefaultSMTP() {
		t.Error("every realm lists providers.email: UsesDefaultSMTP() = true")
	}
}
