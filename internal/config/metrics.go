package config

import (
	"fmt"
	"net"
	"strings"
)

// Metrics limits who may read /metrics. Request and failure counts of a
// sign-in server tell an attacker how an attack is going, so production
// serves them only behind a listener of their own or a bearer token (see
// MetricsOnMainListener).
type Metrics struct {
	// Addr serves /metrics on a listener of its own, e.g. "127.0.0.1:9090",
	// and no longer on addr.
	Addr string `json:"addr"`
	// BearerToken, when set, must come with every scrape as
	// "Authorization: Bearer <token>"; anything else answers 401.
	BearerToken Secret `json:"bearer_token"`
}

// MinMetricsTokenLen is the shortest metrics.bearer_token accepted.
const MinMetricsTokenLen = 16

// MetricsOnMainListener reports whether /metrics is served on addr: never
// when metrics.addr gives it a listener of its own; in development always
// (as before); in production only behind metrics.bearer_token. With neither
// setting, production serves no metrics at all.
func (c *Config) MetricsOnMainListener() bool {
	if c.Metrics.Addr != "" {
		return false
	}
	return c.Dev() || c.Metrics.BearerToken != ""
}

func (c *Config) metricsProblems() []error {
	var errs []error
	if a := c.Metrics.Addr; a != "" {
		_, port, err := net.SplitHostPort(a)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("metrics.addr: %q is not host:port, e.g. \"127.0.0.1:9090\"", a))
		case a == c.Addr && port != "0":
			errs = append(errs, fmt.Errorf("metrics.addr: must differ from addr (%s)", c.Addr))
		}
	}
	if t := string(c.Metrics.BearerToken); t != "" && (len(t) < MinMetricsTokenLen || strings.ContainsFunc(t, isSpaceOrControl)) {
		errs = append(errs, fmt.Errorf("metrics.bearer_token: at least %d characters without spaces (generate one with: openssl rand -base64 32)", MinMetricsTokenLen))
	}
	return errs
}

func isSpaceOrControl(r rune) bool { return r <= ' ' || r == 0x7f }
