package org

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/invalidate"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// MineTTL is the longest Mine answers from memory. A change made through
// this instance's Service is seen at once; one made on another instance
// sharing the database is seen when its notice arrives (invalidate.Orgs),
// and within MineTTL when the notice is lost. It is the same bound as a
// session's (signin.SessionCacheTTL): GET /api/v1/me is the request an app
// sends most, and its organisations would otherwise cost a database read
// each time.
const MineTTL = time.Second

// mineCacheMax bounds the accounts remembered; when full the cache starts
// over (a miss costs one read).
const mineCacheMax = 50_000

// mineCache remembers Mine's answers. Any committed change to any
// organisation moves gen on, which retires every entry at once: changes are
// rare next to reads, and this needs no bookkeeping of whom a change
// concerns. The zero value is ready; it is safe for concurrent use.
type mineCache struct {
	gen atomic.Uint64
	mu  sync.Mutex
	m   map[mineKey]mineEntry
}

type mineKey struct{ realm, account string }

type mineEntry struct {
	affs  []Affiliation
	gen   uint64
	until time.Time
}

func (c *mineCache) get(k mineKey, now time.Time) ([]Affiliation, bool) {
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	if !ok || e.gen != c.gen.Load() || !now.Before(e.until) {
		return nil, false
	}
	return e.affs, true
}

// put remembers affs, read after the cache was at generation gen; an answer
// read before a change that committed meanwhile is not kept.
func (c *mineCache) put(k mineKey, affs []Affiliation, gen uint64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen.Load() {
		return
	}
	if c.m == nil || len(c.m) >= mineCacheMax {
		c.m = make(map[mineKey]mineEntry)
	}
	c.m[k] = mineEntry{affs: affs, gen: gen, until: now.Add(MineTTL)}
}

// drop retires every entry.
func (c *mineCache) drop() { c.gen.Add(1) }

// Mine lists the organisations the person belongs to with their role, by
// joining time (GET /api/v1/me's organisations, the account's organisations
// page, the OIDC claim). The answer may come from memory (MineTTL) and is
// shared: callers must not modify it or the organisations it points to.
func (s *Service) Mine(ctx context.Context, realm, accountID string) ([]Affiliation, error) {
	k := mineKey{realm, accountID}
	now := s.Clock.Now()
	if affs, ok := s.mine.get(k, now); ok {
		return affs, nil
	}
	gen := s.mine.gen.Load()
	affs, err := s.Store.Affiliations(ctx, realm, accountID)
	if err != nil {
		return nil, err
	}
	// Inside a transaction the answer may hold its uncommitted changes: it
	// is kept only once that commits (and then retired by the change's
	// own drop, which runs in the same order).
	ninsho.AfterCommit(ctx, func() { s.mine.put(k, affs, gen, now) })
	return affs, nil
}

// DropCached forgets every answer Mine keeps in memory: a notice of
// invalidate.Orgs from another instance (any key; "" when notices may have
// been lost).
func (s *Service) DropCached(string) { s.mine.drop() }

// keepsMine are the events of changes that leave every Mine answer as it
// was: an Affiliation shows an organisation's id, name, kind and status and
// the person's role, never its invitations or its sign-in policy. Any other
// event, including kinds added later, retires the answers.
var keepsMine = map[string]bool{
	event.TypeOrgInvited:           true,
	event.TypeOrgInvitationRevoked: true,
	event.TypeOrgPolicyChanged:     true,
}

// changed is called in the transaction of every change to an organisation
// or its members (record does it with the change's event): once it
// commits, this instance's Mine forgets what it remembers and the other
// instances are told to.
func (s *Service) changed(ctx context.Context, realm string) {
	ninsho.AfterCommit(ctx, s.mine.drop)
	if s.Invalidate != nil {
		// The notice leaves at commit; a failure is the publisher's to log,
		// and MineTTL bounds its reach.
		_ = s.Invalidate.Publish(ctx, invalidate.Orgs, realm)
	}
}
