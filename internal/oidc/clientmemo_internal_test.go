package oidc

import (
	"bytes"
	"context"
	"testing"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/oauthclient"
	"github.com/ninsho/ninsho/internal/secret"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

type countingClients struct {
	oauthclient.Store
	reads int
}

func (c *countingClients) ClientByID(ctx context.Context, realm, id string) (*oauthclient.Client, error) {
	c.reads++
	return c.Store.ClientByID(ctx, realm, id)
}

// TestClientMemo: a request reads its client once whatever the number of
// lookups and secret checks; a wrong secret is refused every time and not
// remembered as right.
func TestClientMemo(t *testing.T) {
	db := storetest.MustOpenSQLite(t)
	h, err := secret.NewHasher(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	counting := &countingClients{Store: db}
	clock := ninsho.NewManualClock(storetest.Epoch)
	svc := &oauthclient.Service{Store: counting, Tx: db, Hasher: h, Clock: clock, Random: ninsho.SecureRandom}
	ctx := context.Background()
	c, sec, err := svc.Create(ctx, oauthclient.New{Realm: "jp", Name: "Shop", Kind: oauthclient.Confidential,
		RedirectURIs: []string{"https://shop.example.jp/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	counting.reads = 0
	m := newClientMemo(svc)
	for i := 0; i < 3; i++ {
		if _, err := m.Authenticate(ctx, "jp", c.ID, sec); err != nil {
			t.Fatal(err)
		}
		if got, err := m.Get(ctx, "jp", c.ID); err != nil || got.ID != c.ID {
			t.Fatal(got, err)
		}
	}
	if counting.reads != 1 {
		t.Errorf("%d reads of the client for one request", counting.reads)
	}
	for i := 0; i < 2; i++ {
		if _, err := m.Authenticate(ctx, "jp", c.ID, "wrong"); err == nil {
			t.Fatal("a wrong secret was accepted")
		}
	}
	if _, err := newClientMemo(svc).Authenticate(ctx, "jp", c.ID, "wrong"); err == nil {
		t.Fatal("a wrong secret was accepted by a fresh memo")
	}
}
