package oidc

import (
	"context"
	"crypto/sha256"

	"github.com/ninsho/ninsho/internal/oauthclient"
)

// clientMemo reads each client once per request. A token request asks for
// its client several times — the method check, the secret check before the
// library, the library's own lookup and secret check — which were four
// reads of the same row; the memo makes them one (and one secret hash).
// It lives in the request's reqContext and is never shared.
type clientMemo struct {
	next   Clients
	byID   map[string]*oauthclient.Client
	proved map[[32]byte]*oauthclient.Client // (realm, id, secret) digest → client
}

func newClientMemo(next Clients) *clientMemo {
	return &clientMemo{next: next, byID: map[string]*oauthclient.Client{}, proved: map[[32]byte]*oauthclient.Client{}}
}

// Get is Clients.Get, once per (realm, id) found.
func (m *clientMemo) Get(ctx context.Context, realm, id string) (*oauthclient.Client, error) {
	if c, ok := m.byID[realm+"\x00"+id]; ok {
		return c, nil
	}
	c, err := m.next.Get(ctx, realm, id)
	if err == nil {
		m.byID[realm+"\x00"+id] = c
	}
	return c, err
}

// Authenticate is Clients.Authenticate, once per (realm, id, secret)
// accepted; a refusal is asked again (and refused again) each time.
func (m *clientMemo) Authenticate(ctx context.Context, realm, id, secret string) (*oauthclient.Client, error) {
	key := sha256.Sum256([]byte(realm + "\x00" + id + "\x00" + secret))
	if c, ok := m.proved[key]; ok {
		return c, nil
	}
	c, err := m.next.Authenticate(ctx, realm, id, secret)
	if err == nil {
		m.proved[key] = c
		m.byID[realm+"\x00"+id] = c
	}
	return c, err
}

// clients is the request's memo when ctx carries one, else the store.
func (s *storage) clientsFor(ctx context.Context) Clients {
	if rc, ok := ctx.Value(ctxKey{}).(*reqContext); ok && rc.clients != nil {
		return rc.clients
	}
	return s.clients
}
