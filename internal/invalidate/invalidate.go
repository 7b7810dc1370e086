// Package invalidate tells the other instances sharing one database that
// something they keep in memory changed: an account's sessions were revoked
// (they drop its cached principals), a realm's settings changed (they
// reload the realms now instead of at the next realm_refresh) or
// organisations changed (they forget the memberships they keep for
// GET /api/v1/me).
//
// A notice is a hint, never the truth: the database stays authoritative and
// every cache keeps its own short lifetime as the floor (signin's
// SessionCacheTTL, realm_refresh), which is the worst case when a notice is
// lost. On PostgreSQL the store sends notices with NOTIFY and a listener
// delivers them (store.Listener); SQLite is one process and needs none
// (Nop).
package invalidate

import (
	"context"
	"strings"
	"sync"
)

// Kind names what changed.
type Kind string

const (
	// Sessions: the sessions of the account whose id is the key were
	// revoked (a sign-out, every session ended, a lock, a new password).
	Sessions Kind = "sessions"
	// Realms: the stored settings of the realm whose id is the key changed
	// (ninsho realms set, the console's realms page).
	Realms Kind = "realms"
	// Orgs: an organisation of the realm whose id is the key, its members
	// or its policy changed (org.Service.Mine's memory).
	Orgs Kind = "orgs"
)

// Publisher sends a notice to every instance, this one included. Inside a
// transaction (the ctx of ninsho.TxRunner.InTx) the notice leaves when the
// transaction commits and not at all after a rollback. The error is worth
// logging only: the caches' own lifetime is the floor.
type Publisher interface {
	Publish(ctx context.Context, kind Kind, key string) error
}

// Nop publishes nothing: one process (SQLite), or tests.
type Nop struct{}

// Publish does nothing.
func (Nop) Publish(context.Context, Kind, string) error { return nil }

// Hub hands the notices a listener receives to the subscribers of their
// kind. The zero value is ready; it is safe for concurrent use.
type Hub struct {
	mu   sync.RWMutex
	subs map[Kind][]func(key string)
}

// Subscribe calls fn with the key of every notice of kind, and with the key
// "" when notices may have been lost (the listener reconnected): then fn
// must assume that anything of its kind changed. fn runs on the listener's
// goroutine and must be quick.
func (h *Hub) Subscribe(kind Kind, fn func(key string)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs == nil {
		h.subs = map[Kind][]func(string){}
	}
	h.subs[kind] = append(h.subs[kind], fn)
}

// Deliver hands one notice to the subscribers of its kind; an unknown kind
// is dropped.
func (h *Hub) Deliver(kind Kind, key string) {
	h.mu.RLock()
	fns := h.subs[kind]
	h.mu.RUnlock()
	for _, fn := range fns {
		fn(key)
	}
}

// Lost tells every subscriber that notices may have been lost (key "").
func (h *Hub) Lost() {
	h.mu.RLock()
	var all []func(string)
	for _, fns := range h.subs {
		all = append(all, fns...)
	}
	h.mu.RUnlock()
	for _, fn := range all {
		fn("")
	}
}

// Payload is the text of a notice: kind, a colon, key.
func Payload(kind Kind, key string) string { return string(kind) + ":" + key }

// Parse reads a Payload; ok is false for text that is not one.
func Parse(payload string) (kind Kind, key string, ok bool) {
	k, key, ok := strings.Cut(payload, ":")
	if !ok || k == "" || key == "" {
		return "", "", false
	}
	return Kind(k), key, true
}
