package oauthclient

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ninsho/ninsho/internal/ninsho"
)

// FormSources returns the Content-Security-Policy source expressions of
// the places clients' redirect URIs lead to: "https://shop.example.jp", a
// loopback origin with any port ("http://127.0.0.1:*", RFC 8252 §7.3), a
// private-use scheme ("jp.example.shop:"). The hosted pages add them to
// form-action, which browsers apply to the redirects after a form: a
// sign-in posted on the pages ends, through the OpenID Connect bridge, at a
// client's redirect URI.
func FormSources(clients []Client) []string {
	var out []string
	add := func(s string) {
		if s != "" && safeSource(s) && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	for _, c := range clients {
		for _, raw := range c.RedirectURIs {
			u, err := url.Parse(raw)
			if err != nil || u.Scheme == "" {
				continue
			}
			switch {
			case u.Scheme == "https":
				add("https://" + strings.ToLower(u.Host))
			case u.Scheme == "http" && isLoopback(u.Hostname()):
				add("http://" + strings.ToLower(hostForCSP(u.Hostname())) + ":*")
			case u.Host == "" && u.Scheme != "http":
				add(strings.ToLower(u.Scheme) + ":")
			}
		}
	}
	return out
}

func hostForCSP(h string) string {
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}

// safeSource reports whether s holds only characters a CSP source
// expression of this kind may hold (nothing that ends or splits a
// directive).
func safeSource(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte(".-+:/*[]", c) >= 0) {
			return false
		}
	}
	return true
}

// SourceCache keeps FormSources per realm for a short time, so that pages
// do not read the clients on every request; a client registered or deleted
// shows within TTL.
type SourceCache struct {
	Clients interface {
		List(ctx context.Context, realm string) ([]Client, error)
	}
	Clock ninsho.Clock
	TTL   time.Duration

	mu      sync.Mutex
	entries map[string]sourceEntry
}

type sourceEntry struct {
	sources []string
	until   time.Time
}

// Sources returns the realm's FormSources; on a read error the last known
// list (or none).
func (c *SourceCache) Sources(ctx context.Context, realm string) []string {
	now := c.Clock.Now()
	c.mu.Lock()
	e, ok := c.entries[realm]
	c.mu.Unlock()
	if ok && now.Before(e.until) {
		return e.sources
	}
	list, err := c.Clients.List(ctx, realm)
	if err != nil {
		return e.sources
	}
	e = sourceEntry{sources: FormSources(list), until: now.Add(c.TTL)}
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[string]sourceEntry{}
	}
	c.entries[realm] = e
	c.mu.Unlock()
	return e.sources
}
