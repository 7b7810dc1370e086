package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
)

// RequestMode sets the mode because source asked for it ("--dev",
// "NINSHO_MODE=development", the configuration file). ResolveMode keeps a mode
// that was asked for; source is what ModeReason reports.
func (c *Config) RequestMode(m Mode, source string) {
	c.Mode = m
	c.modeReason = source
}

// ResolveMode decides the mode when nobody asked for one (Mode is ""):
// development only when nothing production-like is configured
// (ProductionSettings is empty) and addr is a loopback address; production
// otherwise, so that a server given production settings never hands out
// codes at /dev/api/messages. A mode that was asked for is kept, even
// development on an address others can reach, which Validate refuses. Call
// it after every flag is applied and before Validate.
func (c *Config) ResolveMode() {
	if c.Mode != "" {
		return
	}
	if set := c.ProductionSettings(); len(set) > 0 {
		c.RequestMode(ModeProduction, fmt.Sprintf("production settings are given (%s) and development mode was not asked for (--dev, NINSHO_MODE=development)", strings.Join(set, ", ")))
		return
	}
	if !LoopbackAddr(c.Addr) {
		c.RequestMode(ModeProduction, fmt.Sprintf("addr %s is not a loopback address, and development mode only listens on loopback", c.Addr))
		return
	}
	c.RequestMode(ModeDevelopment, fmt.Sprintf("nothing production-like is configured and addr %s is a loopback address", c.Addr))
}

// ModeReason says why Mode is what it is, for the start-up log. It names
// settings, never their values.
func (c *Config) ModeReason() string {
	if c.modeReason == "" {
		return "set by the program that built the configuration"
	}
	return c.modeReason
}

// ProductionSettings lists the names of the production-like settings that
// are given: database_url, a public_url other than plain http on a loopback
// host, smtp.host, secrets.hash_key and secrets.encryption_keys. Any of them
// means production unless development mode is asked for.
func (c *Config) ProductionSettings() []string {
	var set []string
	if c.DatabaseURL != "" {
		set = append(set, "database_url")
	}
	if c.PublicURL != "" && !loopbackHTTP(c.PublicURL) {
		set = append(set, "public_url")
	}
	if c.SMTP.Host != "" {
		set = append(set, "smtp.host")
	}
	if c.Secrets.HashKey != "" {
		set = append(set, "secrets.hash_key")
	}
	if len(c.Secrets.EncryptionKeys) > 0 {
		set = append(set, "secrets.encryption_keys")
	}
	return set
}

// CheckDevelopmentAddr refuses development mode on a listen address that is
// not loopback: the development inbox hands every code to whoever asks. It
// returns nil in production and when addr is empty (Validate reports that).
func (c *Config) CheckDevelopmentAddr() error {
	if c.Mode != ModeDevelopment || c.Addr == "" || LoopbackAddr(c.Addr) {
		return nil
	}
	return fmt.Errorf("addr %s: development mode serves every code at /dev/api/messages and only listens on loopback (127.0.0.1, ::1, localhost); "+
		"listen on 127.0.0.1 (--addr 127.0.0.1:8080) or configure production (docs/operations.md)", c.Addr)
}

// LoopbackAddr reports whether the listen address addr ("host:port") accepts
// connections from this machine only: host localhost, 127.0.0.0/8 or ::1. An
// empty host (every interface) is not loopback.
func LoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	return err == nil && loopbackHost(host)
}

func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// loopbackHTTP reports whether u is a plain-http URL on a loopback host, such
// as the http://127.0.0.1:8080 of a developer's machine.
func loopbackHTTP(u string) bool {
	p, err := url.Parse(u)
	return err == nil && p.Scheme == "http" && loopbackHost(p.Hostname())
}
