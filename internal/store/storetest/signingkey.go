package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/signingkey"
)

// SigningKeyStores are the stores of signing keys.
type SigningKeyStores interface {
	Stores
	signingkey.Store
}

// SigningKeys checks signing keys: round trip oldest first, per realm and
// for every realm, an id only once (and a failed add changes nothing), adding a key retires only its own
// realm's still-signing keys (never moving an earlier retirement), and
// deleting takes only keys retired at or before the time given.
func SigningKeys(t *testing.T, open func(tb testing.TB) SigningKeyStores) {
	ctx := context.Background()
	s := open(t)
	key := func(realm string, created time.Duration) *signingkey.Key {
		return &signingkey.Key{ID: NewID(), Realm: realm, Alg: signingkey.ES256, Sealed: []byte("sealed-" + realm),
			Public: []byte(`{"kty":"EC"}`), CreatedAt: at(created), ActiveFrom: at(created + time.Hour)}
	}
	a1, a2, a3, b1 := key("a", 0), key("a", time.Minute), key("a", 2*time.Minute), key("b", 30*time.Second)
	a1.ActiveFrom = a1.CreatedAt
	mustNil(t, "AddSigningKey a1", s.AddSigningKey(ctx, a1, at(time.Hour)))
	mustNil(t, "AddSigningKey b1", s.AddSigningKey(ctx, b1, at(time.Hour)))
	mustNil(t, "AddSigningKey a2", s.AddSigningKey(ctx, a2, at(10*time.Hour)))
	if err := s.AddSigningKey(ctx, a2, at(11*time.Hour)); err == nil {
		t.Errorf("AddSigningKey with a stored id: no error")
	}
	mustNil(t, "AddSigningKey a3", s.AddSigningKey(ctx, a3, at(20*time.Hour)))

	got, err := s.SigningKeys(ctx, "a")
	mustNil(t, "SigningKeys a", err)
	if len(got) != 3 || got[0].ID != a1.ID || got[1].ID != a2.ID || got[2].ID != a3.ID {
		t.Fatalf("SigningKeys a: got %s, want a1, a2, a3", show(got))
	}
	g := got[0]
	if g.Realm != "a" || g.Alg != signingkey.ES256 || string(g.Sealed) != "sealed-a" || string(g.Public) != `{"kty":"EC"}` ||
		!g.CreatedAt.Equal(a1.CreatedAt) || !g.ActiveFrom.Equal(a1.ActiveFrom) {
		t.Errorf("round trip: got %s, want %s", show(g), show(a1))
	}
	// a1 was retired by a2 (10h) and kept that when a3 came (and when the
	// stored id failed: nothing of it stays); a2 by a3; a3 signs.
	if !got[0].RetireAfter.Equal(at(10*time.Hour)) || !got[1].RetireAfter.Equal(at(20*time.Hour)) || !got[2].RetireAfter.IsZero() {
		t.Errorf("retire_after: got %v, %v, %v; want 10h, 20h, zero", got[0].RetireAfter, got[1].RetireAfter, got[2].RetireAfter)
	}
	bs, _ := s.SigningKeys(ctx, "b")
	if len(bs) != 1 || bs[0].ID != b1.ID || !bs[0].RetireAfter.IsZero() {
		t.Errorf("the other realm: got %s, want b1 still signing", show(bs))
	}
	all, err := s.SigningKeys(ctx, "")
	mustNil(t, "SigningKeys all", err)
	if len(all) != 4 || all[0].ID != a1.ID || all[1].ID != b1.ID || all[2].ID != a2.ID || all[3].ID != a3.ID {
		t.Errorf("SigningKeys all: got %s, want a1, b1, a2, a3", show(all))
	}
	if none, err := s.SigningKeys(ctx, "c"); err != nil || len(none) != 0 {
		t.Errorf("SigningKeys of a realm without keys: got %s, %v", show(none), err)
	}

	gone, err := s.DeleteRetiredSigningKeys(ctx, at(10*time.Hour-time.Microsecond))
	mustNil(t, "DeleteRetiredSigningKeys before", err)
	if len(gone) != 0 {
		t.Errorf("DeleteRetiredSigningKeys before any retirement: got %s", show(gone))
	}
	gone, err = s.DeleteRetiredSigningKeys(ctx, at(10*time.Hour))
	mustNil(t, "DeleteRetiredSigningKeys", err)
	if len(gone) != 1 || gone[0].ID != a1.ID || gone[0].Realm != "a" {
		t.Errorf("DeleteRetiredSigningKeys at 10h: got %s, want a1", show(gone))
	}
	gone, _ = s.DeleteRetiredSigningKeys(ctx, at(1000*time.Hour))
	if len(gone) != 1 || gone[0].ID != a2.ID {
		t.Errorf("DeleteRetiredSigningKeys much later: got %s, want a2 only", show(gone))
	}
	all, _ = s.SigningKeys(ctx, "")
	if len(all) != 2 || all[0].ID != b1.ID || all[1].ID != a3.ID {
		t.Errorf("after deleting: got %s, want b1, a3", show(all))
	}
}
