package signingkey_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/secret"
	"github.com/ninsho/ninsho/internal/signingkey"
	"github.com/ninsho/ninsho/internal/store"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// recorder keeps the events it appends to the real store.
type recorder struct {
	event.Store
	got []*event.Event
}

func (r *recorder) AppendEvent(ctx context.Context, e *event.Event) error {
	r.got = append(r.got, e)
	return r.Store.AppendEvent(ctx, e)
}

func newService(tb testing.TB) (*signingkey.Service, *ninsho.ManualClock, *recorder, *store.DB) {
	tb.Helper()
	db := storetest.MustOpenSQLite(tb)
	clock := ninsho.NewManualClock(storetest.Epoch)
	box, err := secret.NewBox(ninsho.SecureRandom, bytes.Repeat([]byte{7}, 32))
	if err != nil {
		tb.Fatal(err)
	}
	rec := &recorder{Store: db}
	return &signingkey.Service{Store: db, Tx: db, Events: rec, Box: box, Clock: clock, Random: ninsho.SecureRandom}, clock, rec, db
}

func ids(keys []signingkey.Key) []string {
	var out []string
	for _, k := range keys {
		out = append(out, k.ID)
	}
	return out
}

func TestRotationDelayAndRetirement(t *testing.T) {
	ctx := context.Background()
	s, clock, rec, _ := newService(t)
	first, err := s.Rotate(ctx, "a", "", "staff:x")
	if err != nil {
		t.Fatal(err)
	}
	if first.Alg != signingkey.ES256 || !first.ActiveFrom.Equal(clock.Now()) {
		t.Fatalf("first key: alg %s active from %v, want ES256 at once (%v)", first.Alg, first.ActiveFrom, clock.Now())
	}
	clock.Advance(time.Minute)
	second, err := s.Rotate(ctx, "a", signingkey.RS256, "staff:x")
	if err != nil {
		t.Fatal(err)
	}
	if want := clock.Now().Add(signingkey.PublicationDelay); !second.ActiveFrom.Equal(want) {
		t.Errorf("second key active from %v, want %v", second.ActiveFrom, want)
	}
	// Published at once, but the first key still signs until the delay passes.
	pub, _ := s.Published(ctx, "a", clock.Now())
	if got := ids(pub); len(got) != 2 || got[0] != first.ID || got[1] != second.ID {
		t.Errorf("published after rotation: %v, want both keys", got)
	}
	sg, err := s.Signing(ctx, "a", clock.Now())
	if err != nil || sg.Key.ID != first.ID {
		t.Fatalf("signing before the delay: %v %v, want the first key", sg, err)
	}
	sg, _ = s.Signing(ctx, "a", second.ActiveFrom.Add(-time.Microsecond))
	if sg.Key.ID != first.ID {
		t.Errorf("signing just before active_from: %s, want the first key", sg.Key.ID)
	}
	sg, _ = s.Signing(ctx, "a", second.ActiveFrom)
	if sg.Key.ID != second.ID || sg.Key.Alg != signingkey.RS256 {
		t.Errorf("signing at active_from: %s %s, want the second key, RS256", sg.Key.ID, sg.Key.Alg)
	}
	// The first key stays published a token lifetime after it stopped signing.
	retire := second.ActiveFrom.Add(signingkey.MaxTokenLifetime)
	pub, _ = s.Published(ctx, "a", retire.Add(-time.Microsecond))
	if len(pub) != 2 || !pub[0].RetireAfter.Equal(retire) {
		t.Errorf("published just before retirement: %v (retire %v), want both, first retiring at %v", ids(pub), pub[0].RetireAfter, retire)
	}
	pub, _ = s.Published(ctx, "a", retire)
	if got := ids(pub); len(got) != 1 || got[0] != second.ID {
		t.Errorf("published at retirement: %v, want the second key only", got)
	}
	n, err := s.Purge(ctx, retire.Add(-time.Second))
	if err != nil || n != 0 {
		t.Errorf("purge before retirement: %d %v, want 0", n, err)
	}
	n, err = s.Purge(ctx, retire)
	if err != nil || n != 1 {
		t.Errorf("purge at retirement: %d %v, want 1", n, err)
	}
	var types []string
	for _, e := range rec.got {
		types = append(types, e.Type+":"+e.Actor+":"+e.Data["kid"].(string))
	}
	want := []string{
		event.TypeSigningKeyAdded + ":staff:x:" + first.ID,
		event.TypeSigningKeyAdded + ":staff:x:" + second.ID,
		event.TypeSigningKeyPurged + ":system:" + first.ID,
	}
	if strings.Join(types, " ") != strings.Join(want, " ") {
		t.Errorf("events: %v, want %v", types, want)
	}
}

func TestFreshRealmGetsAKeyOnFirstUse(t *testing.T) {
	ctx := context.Background()
	s, clock, _, db := newService(t)
	pub, err := s.Published(ctx, "fresh", clock.Now())
	if err != nil || len(pub) != 1 {
		t.Fatalf("published on a fresh realm: %v %v, want one new key", ids(pub), err)
	}
	sg, err := s.Signing(ctx, "fresh", clock.Now())
	if err != nil || sg.Key.ID != pub[0].ID {
		t.Fatalf("signing: %v %v, want the key just published", sg, err)
	}
	if keys, _ := db.SigningKeys(ctx, "other"); len(keys) != 0 {
		t.Errorf("another realm got keys: %v", ids(keys))
	}
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	s, _, _, _ := newService(t)
	for _, c := range []struct{ realm, alg string }{{"a", "HS256"}, {"a", "none"}, {"", "ES256"}} {
		_, err := s.Rotate(ctx, c.realm, c.alg, "system")
		var ne *ninsho.Error
		if !errors.As(err, &ne) || ne.Code == ninsho.CodeInternal {
			t.Errorf("Rotate(%q, %q): %v, want a catalogue error", c.realm, c.alg, err)
		}
	}
}

func TestSealedKeyBoundToRealmAndKid(t *testing.T) {
	ctx := context.Background()
	s, clock, _, db := newService(t)
	a, _ := s.Rotate(ctx, "a", "", "system")
	b, _ := s.Rotate(ctx, "b", "", "system")
	if _, err := s.Box.Open(a.Sealed, []byte("signingkey\x00a\x00"+a.ID)); err != nil {
		t.Fatalf("the key does not open under its own realm and kid: %v", err)
	}
	for _, ad := range []string{"signingkey\x00b\x00" + a.ID, "signingkey\x00a\x00" + b.ID, ""} {
		if _, err := s.Box.Open(a.Sealed, []byte(ad)); err == nil {
			t.Errorf("the key opens under %q", ad)
		}
	}
	// A sealed key copied to another realm's row does not sign there.
	moved := *a
	moved.ID, moved.Realm, moved.CreatedAt = b.ID+"x", "b", clock.Now().Add(time.Second)
	moved.ActiveFrom = moved.CreatedAt
	if err := db.AddSigningKey(ctx, &moved, moved.ActiveFrom); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Signing(ctx, "b", moved.ActiveFrom); err == nil {
		t.Errorf("a key sealed for realm a signed for realm b")
	}
}

func TestNoPrivateMaterialInJWKS(t *testing.T) {
	ctx := context.Background()
	s, clock, _, _ := newService(t)
	if _, err := s.Rotate(ctx, "a", signingkey.ES256, "system"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Rotate(ctx, "a", signingkey.RS256, "system"); err != nil {
		t.Fatal(err)
	}
	pub, _ := s.Published(ctx, "a", clock.Now())
	set, err := signingkey.JWKS(pub)
	if err != nil || len(set.Keys) != 2 {
		t.Fatalf("JWKS: %d keys, %v", len(set.Keys), err)
	}
	raw, _ := json.Marshal(set)
	var parsed struct{ Keys []map[string]any }
	if err := json.Unmarshal(raw, &parsed); err != nil {
		t.Fatal(err)
	}
	for _, k := range parsed.Keys {
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
			if _, ok := k[private]; ok {
				t.Errorf("JWK %v has private member %q", k["kid"], private)
			}
		}
		if k["use"] != "sig" || k["alg"] == nil || k["kid"] == nil {
			t.Errorf("JWK lacks use/alg/kid: %v", k)
		}
	}
	// A signature by Signing verifies with the published key of its kid.
	sg, _ := s.Signing(ctx, "a", clock.Now())
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(sg.Key.Alg), Key: sg.JWK()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign([]byte("payload"))
	if err != nil {
		t.Fatal(err)
	}
	compact, _ := jws.CompactSerialize()
	parsedJWS, err := jose.ParseSigned(compact, []jose.SignatureAlgorithm{jose.ES256, jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	keys := set.Key(parsedJWS.Signatures[0].Header.KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q in the JWKS %d times", parsedJWS.Signatures[0].Header.KeyID, len(keys))
	}
	if out, err := parsedJWS.Verify(keys[0]); err != nil || string(out) != "payload" {
		t.Errorf("verify: %q %v", out, err)
	}
}

// countingStore counts the key-list reads of the real store.
type countingStore struct {
	signingkey.Store
	reads int
}

func (c *countingStore) SigningKeys(ctx context.Context, realm string) ([]signingkey.Key, error) {
	c.reads++
	return c.Store.SigningKeys(ctx, realm)
}

// TestKeyListCached: signing and publishing read a realm's keys at most
// once per KeyListTTL; a key added here is seen at once, a key added by
// another process within KeyListTTL — before it signs.
func TestKeyListCached(t *testing.T) {
	svc, clock, _, db := newService(t)
	counting := &countingStore{Store: db}
	svc.Store = counting
	ctx := context.Background()
	first, err := svc.Signing(ctx, "jp", clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		if _, err := svc.Signing(ctx, "jp", clock.Now()); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Published(ctx, "jp", clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if counting.reads > 2 { // the first read, and the one after making the first key
		t.Errorf("%d key-list reads for 101 calls", counting.reads)
	}
	// Another process (its own Service on the same store) rotates.
	other := &signingkey.Service{Store: db, Tx: db, Box: svc.Box, Clock: clock, Random: ninsho.SecureRandom}
	k, err := other.Rotate(ctx, "jp", "", "test")
	if err != nil {
		t.Fatal(err)
	}
	if pub, _ := svc.Published(ctx, "jp", clock.Now()); len(pub) != 1 {
		t.Fatalf("within the TTL the cached list stays: %d keys", len(pub))
	}
	clock.Advance(signingkey.KeyListTTL)
	pub, err := svc.Published(ctx, "jp", clock.Now())
	if err != nil || len(pub) != 2 || pub[1].ID != k.ID {
		t.Fatalf("after the TTL: %v %v", ids(pub), err)
	}
	if sg, _ := svc.Signing(ctx, "jp", clock.Now()); sg.Key.ID != first.Key.ID {
		t.Errorf("the new key signed before its publication delay")
	}
	// A key added here is seen at once.
	mine, err := svc.Rotate(ctx, "jp", "", "test")
	if err != nil {
		t.Fatal(err)
	}
	if pub, _ := svc.Published(ctx, "jp", clock.Now()); len(pub) != 3 || pub[2].ID != mine.ID {
		t.Errorf("a key rotated here is not published at once: %v", ids(pub))
	}
}
