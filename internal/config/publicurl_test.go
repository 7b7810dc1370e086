package config

import (
	"strings"
	"testing"
)

// twoRealms is a production configuration with a Japanese and an American
// realm, each on its own host.
func twoRealms() Config {
	c := Default()
	c.Mode = ModeProduction
	c.PublicURL = "https://id.example.jp"
	c.Secrets = Secrets{HashKey: testKey, EncryptionKeys: []Secret{testKey}}
	c.SMTP.Host, c.SMTP.From = "smtp.example.com", "no-reply@example.com"
	c.Realms = []Realm{
		{ID: "jp", Name: "Example", Hosts: []string{"id.example.jp"}, DefaultLocale: "ja", PhoneRegion: "JP", IdentifierDisclosure: "explicit"},
		{ID: "us", Name: "Example", Hosts: []string{"id.example.com"}, DefaultLocale: "en", PhoneRegion: "US", IdentifierDisclosure: "safe",
			PublicURL: "https://id.example.com/"},
	}
	return c
}

func TestRealmURL(t *testing.T) {
	tests := []struct {
		name               string
		edit               func(*Config)
		realm              int
		wantBase, wantHost string
	}{
		{"the realm's own", func(*Config) {}, 1, "https://id.example.com", "id.example.com"},
		{"the global one", func(*Config) {}, 0, "https://id.example.jp", "id.example.jp"},
		{"the first host on addr's port", func(c *Config) {
			c.PublicURL, c.Realms[1].PublicURL, c.Addr = "", "", "127.0.0.1:8080"
		}, 1, "http://id.example.com:8080", "id.example.com"},
		{"the listen address", func(c *Config) {
			c.PublicURL, c.Realms[0].Hosts, c.Addr = "", nil, "127.0.0.1:8080"
		}, 0, "http://127.0.0.1:8080", "localhost"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := twoRealms()
			tt.edit(&c)
			base, host := c.RealmURL(tt.realm)
			if base != tt.wantBase || host != tt.wantHost {
				t.Errorf("got RealmURL(%d) = %q, %q, want %q, %q", tt.realm, base, host, tt.wantBase, tt.wantHost)
			}
		})
	}
}

func TestRealmPublicURLValidation(t *testing.T) {
	if err := func() error { c := twoRealms(); return c.Validate() }(); err != nil {
		t.Fatalf("got Validate() = %v for two realms on their own URLs, want nil", err)
	}
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"plain http", func(c *Config) { c.Realms[1].PublicURL = "http://id.example.com" }, "realms[1].public_url: must be https in production"},
		{"no host", func(c *Config) { c.Realms[1].PublicURL = "https://" }, "realms[1].public_url: must be an absolute URL"},
		{"relative", func(c *Config) { c.Realms[1].PublicURL = "id.example.com" }, "realms[1].public_url: must be an absolute URL"},
		{"missing: the global URL opens the other realm", func(c *Config) { c.Realms[1].PublicURL = "" },
			`realms[1].public_url: the links of realm "us" would point at id.example.jp, which serves realm "jp"`},
		{"another realm's host", func(c *Config) { c.Realms[1].PublicURL = "https://id.example.jp" },
			`realms[1].public_url: the links of realm "us" would point at id.example.jp`},
		{"the global URL on the second realm's host", func(c *Config) { c.PublicURL = "https://ID.example.com" },
			`realms[0].public_url: the links of realm "jp" would point at id.example.com, which serves realm "us"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := twoRealms()
			tt.edit(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got Validate() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestRealmPublicURLInDevelopment(t *testing.T) {
	c := Default()
	c.Realms[0].PublicURL = "http://jp.localhost:8080"
	if err := c.Validate(); err != nil {
		t.Errorf("got Validate() = %v for a plain-http realm URL in development, want nil", err)
	}
	c.Realms[0].PublicURL = "jp.localhost"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "realms[0].public_url") {
		t.Errorf("got Validate() = %v, want an error naming realms[0].public_url", err)
	}
}

// TestRealmLinkWarningsInDevelopment: a development configuration whose one
// public_url serves the first realm only makes the other realms' links and
// SMS "@host" line name the first realm's host; it starts, and
// RealmLinkWarnings says so (the server logs it). Each realm on its own
// public_url, or none at all, warns of nothing.
func TestRealmLinkWarningsInDevelopment(t *testing.T) {
	c := Default()
	c.PublicURL = "http://127.0.0.1:18181"
	c.Realms = []Realm{
		{ID: "jp", Name: "さくら商店", Hosts: []string{"localhost", "127.0.0.1"}, DefaultLocale: "ja", PhoneRegion: "JP", IdentifierDisclosure: "explicit"},
		{ID: "us", Name: "Maple Goods", Hosts: []string{"us.localhost"}, DefaultLocale: "en", PhoneRegion: "US", IdentifierDisclosure: "safe"},
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("development configuration refused: %v", err)
	}
	ws := c.RealmLinkWarnings()
	if len(ws) != 1 || !strings.Contains(ws[0].Error(), `realm "us" would point at 127.0.0.1`) {
		t.Errorf("RealmLinkWarnings = %v, want one about realm us", ws)
	}
	c.Realms[1].PublicURL = "http://us.localhost:18181"
	if ws := c.RealmLinkWarnings(); len(ws) != 0 {
		t.Errorf("each realm on its own public_url: warnings %v", ws)
	}
	c.PublicURL, c.Realms[1].PublicURL = "", ""
	if ws := c.RealmLinkWarnings(); len(ws) != 0 {
		t.Errorf("no public_url at all: warnings %v", ws)
	}
}
