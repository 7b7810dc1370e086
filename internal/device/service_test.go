package device_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/ninsho/ninsho/internal/device"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/secret"
	"github.com/ninsho/ninsho/internal/store"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

func newService(t *testing.T) (*device.Service, *store.DB) {
	t.Helper()
	db := storetest.MustOpenSQLite(t)
	h, err := secret.NewHasher([]byte("0123456789abcdef0123456789abcdef-device"))
	if err != nil {
		t.Fatal(err)
	}
	return &device.Service{Store: db, Clock: ninsho.NewManualClock(storetest.Epoch), Random: ninsho.NewSeededRandom(1), Hasher: h}, db
}

// TestResolveWritesNothing (issue 8, point 7): recognising a client never
// writes a row; the same token always names the same device; only Remember
// stores it, once.
func TestResolveWritesNothing(t *testing.T) {
	ctx := context.Background()
	s, db := newService(t)
	rows := func() int {
		n, err := db.RowCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n["device"]
	}
	d, token, err := s.Resolve(ctx, "jp", "", "UA")
	if err != nil || token == "" || d.Stored {
		t.Fatalf("Resolve without a token: %+v, %q, %v; want a new, unstored device and its token", d, token, err)
	}
	if !device.WellFormed(token) || !ninsho.ValidID(d.ID) || d.ID[14] != '8' {
		t.Errorf("token %q well-formed %v, id %q: want an issued token and a UUIDv8 id", token, device.WellFormed(token), d.ID)
	}
	again, newToken, err := s.Resolve(ctx, "jp", token, "UA")
	if err != nil || newToken != "" || again.ID != d.ID || again.Stored {
		t.Fatalf("Resolve with the unstored token: %+v, %q, %v; want the same device, no new token", again, newToken, err)
	}
	for _, bad := range []string{"short", strings.Repeat("a", 43) + "!", strings.Repeat("x", 200)} {
		if _, nt, _ := s.Resolve(ctx, "jp", bad, "UA"); nt == "" {
			t.Errorf("Resolve(%q): no new token for a malformed one", bad)
		}
	}
	if n := rows(); n != 0 {
		t.Fatalf("%d device rows after Resolve alone, want 0", n)
	}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, _, err := s.Resolve(ctx, "jp", token, "UA")
			if err == nil {
				err = s.Remember(ctx, d)
			}
			if err != nil {
				t.Errorf("Remember: %v", err)
			}
		}()
	}
	wg.Wait()
	if n := rows(); n != 1 {
		t.Errorf("%d device rows after concurrent Remember of one token, want 1", n)
	}
	stored, _, err := s.Resolve(ctx, "jp", token, "UA")
	if err != nil || !stored.Stored || stored.ID != d.ID {
		t.Errorf("Resolve after Remember: %+v, %v; want the stored device with the same id", stored, err)
	}
	if other, _, _ := s.Resolve(ctx, "us", token, "UA"); other.Stored {
		t.Errorf("the token is stored in realm us too")
	}
	if !s.Matches(token, d.TokenHash) || s.Matches(token+"x", d.TokenHash) || s.Matches("", d.TokenHash) {
		t.Errorf("Matches does not tell the token from others")
	}
}
