package signin

import (
	"crypto/sha256"
	"sync"
	"time"
)

// principalCache remembers verified session tokens for a very short time, so
// that the bursts of requests a page or an app makes with one token cost one
// database read instead of one each. An entry lives at most ttl (one second
// by default): a session revoked on this instance is dropped at once; one
// revoked on another instance sharing the database is refused here within ttl.
// Keys are SHA-256 digests of tokens, never the tokens. It is safe for
// concurrent use.
type principalCache struct {
	ttl time.Duration
	max int

	mu sync.RWMutex
	m  map[[32]byte]cacheEntry
}

type cacheEntry struct {
	p     *Principal
	until time.Time
}

func newPrincipalCache(ttl time.Duration, max int) *principalCache {
	return &principalCache{ttl: ttl, max: max, m: make(map[[32]byte]cacheEntry)}
}

func cacheKey(token string) [32]byte { return sha256.Sum256([]byte(token)) }

// get returns the principal cached for token at now, or nil.
func (c *principalCache) get(token string, now time.Time) *Principal {
	if c == nil || c.ttl <= 0 {
		return nil
	}
	k := cacheKey(token)
	c.mu.RLock()
	e, ok := c.m[k]
	c.mu.RUnlock()
	if !ok || !now.Before(e.until) {
		return nil
	}
	return e.p
}

// put caches p for token from now on, for ttl but never past the session's
// own expiry.
func (c *principalCache) put(token string, p *Principal, now time.Time) {
	if c == nil || c.ttl <= 0 {
		return
	}
	until := now.Add(c.ttl)
	if p.Session.ExpiresAt.Before(until) {
		until = p.Session.ExpiresAt
	}
	k := cacheKey(token)
	c.mu.Lock()
	if len(c.m) >= c.max {
		// Full: start over rather than track recency. A miss costs one read.
		clear(c.m)
	}
	c.m[k] = cacheEntry{p: p, until: until}
	c.mu.Unlock()
}

// forget drops token.
func (c *principalCache) forget(token string) {
	if c == nil {
		return
	}
	k := cacheKey(token)
	c.mu.Lock()
	delete(c.m, k)
	c.mu.Unlock()
}

// forgetAccount drops every entry of the account (sign-out everywhere, a
// lock, a password change).
func (c *principalCache) forgetAccount(accountID string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	for k, e := range c.m {
		if e.p.Account.ID == accountID {
			delete(c.m, k)
		}
	}
	c.mu.Unlock()
}

// clear drops every entry.
func (c *principalCache) clear() {
	if c == nil {
		return
	}
	c.mu.Lock()
	clear(c.m)
	c.mu.Unlock()
}
