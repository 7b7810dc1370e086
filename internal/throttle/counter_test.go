package throttle_test

import (
	"context"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/store"
	"github.com/ninsho/ninsho/internal/store/storetest"
	"github.com/ninsho/ninsho/internal/throttle"
)

// newCounter returns a counter on db with a clock stopped at
// storetest.Epoch (01:02:03).
func newCounter(db *store.DB) (*throttle.Counter, *ninsho.ManualClock) {
	clock := ninsho.NewManualClock(storetest.Epoch)
	return &throttle.Counter{Store: db, Clock: clock}, clock
}

func mustHit(tb testing.TB, c *throttle.Counter, key string, n int, window time.Duration) {
	tb.Helper()
	if err := c.Hit(context.Background(), key, n, window); err != nil {
		tb.Fatalf("Hit(%s, %d, %v): %v", key, n, window, err)
	}
}

func mustCount(tb testing.TB, c *throttle.Counter, key string, window time.Duration) int {
	tb.Helper()
	n, err := c.Count(context.Background(), key, window)
	if err != nil {
		tb.Fatalf("Count(%s, %v): %v", key, window, err)
	}
	return n
}

func TestCounter(t *testing.T) {
	storetest.EachDatabase(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		t.Run("sliding window", func(t *testing.T) { testSlidingWindow(t, open(t)) })
		t.Run("short window", func(t *testing.T) { testShortWindow(t, open(t)) })
		t.Run("expiry", func(t *testing.T) { testExpiry(t, open(t)) })
		t.Run("counts", func(t *testing.T) { testCounts(t, open(t)) })
		t.Run("distinct", func(t *testing.T) { testDistinct(t, open(t)) })
		t.Run("concurrent hits", func(t *testing.T) { testConcurrentHits(t, open(t)) })
		t.Run("transaction", func(t *testing.T) { testTransaction(t, open(t)) })
	})
}

// testSlidingWindow follows a 15-minute window, counted in 1-minute buckets,
// as the clock moves. Epoch is 01:02:03, in the bucket of 01:02:00.
func testSlidingWindow(t *testing.T, db *store.DB) {
	c, clock := newCounter(db)
	const window = 15 * time.Minute
	steps := []struct {
		at   time.Duration // after Epoch
		hit  int
		want int
	}{
		{0, 1, 1},
		{30 * time.Second, 2, 3},                // 01:02:33, the same bucket
		{time.Minute, 4, 7},                     // 01:03:03, the next bucket
		{14 * time.Minute, 0, 7},                // 01:16:03: the window starts at 01:01:03
		{14*time.Minute + 56*time.Second, 0, 7}, // 01:16:59
		{14*time.Minute + 57*time.Second, 0, 4}, // 01:17:00: the 01:02 bucket left whole
		{15*time.Minute + 57*time.Second, 8, 8}, // 01:18:00: the 01:03 bucket left too
		{31 * time.Minute, 0, 0},
	}
	for _, st := range steps {
		clock.Set(storetest.Epoch.Add(st.at))
		if st.hit > 0 {
			mustHit(t, c, "k", st.hit, window)
		}
		if got := mustCount(t, c, "k", window); got != st.want {
			t.Errorf("Count at %s: got %d, want %d", clock.Now().Format(time.TimeOnly), got, st.want)
		}
	}
}

// testShortWindow checks that buckets are never shorter than a second.
func testShortWindow(t *testing.T, db *store.DB) {
	c, clock := newCounter(db)
	const window = 5 * time.Second
	for range 5 {
		mustHit(t, c, "k", 1, window)
		clock.Advance(time.Second)
	}
	// Hits at :03 … :07; now :08, the window holds the buckets :04 … :08.
	if got := mustCount(t, c, "k", window); got != 4 {
		t.Errorf("Count: got %d, want 4", got)
	}
	clock.Advance(4 * time.Second)
	if got := mustCount(t, c, "k", window); got != 0 {
		t.Errorf("Count after the window: got %d, want 0", got)
	}
}

// testExpiry checks that a bucket expires only once it has left its window:
// deleting expired buckets never changes a count.
func testExpiry(t *testing.T, db *store.DB) {
	ctx := context.Background()
	c, clock := newCounter(db)
	const window = 15 * time.Minute
	mustHit(t, c, "k", 1, window) // bucket 01:02:00, expires 01:18:00
	clock.Advance(time.Minute)
	mustHit(t, c, "k", 1, window) // bucket 01:03:00, expires 01:19:00
	var deleted int
	for range 20 {
		clock.Advance(time.Minute)
		before := mustCount(t, c, "k", window)
		n, err := db.DeleteExpiredBuckets(ctx, clock.Now())
		if err != nil {
			t.Fatalf("DeleteExpiredBuckets: %v", err)
		}
		deleted += n
		if after := mustCount(t, c, "k", window); after != before {
			t.Errorf("at %s: Count %d before deleting expired buckets, %d after", clock.Now().Format(time.TimeOnly), before, after)
		}
	}
	if deleted != 2 {
		t.Errorf("deleted %d buckets in 20 minutes, want 2", deleted)
	}
}

func testCounts(t *testing.T, db *store.DB) {
	ctx := context.Background()
	c, _ := newCounter(db)
	const window = time.Minute
	mustHit(t, c, "a", 2, window)
	mustHit(t, c, "b", 3, window)
	got, err := c.Counts(ctx, []string{"a", "b", "c"}, window)
	if err != nil {
		t.Fatalf("Counts: %v", err)
	}
	if want := map[string]int{"a": 2, "b": 3, "c": 0}; !reflect.DeepEqual(got, want) {
		t.Errorf("Counts: got %v, want %v", got, want)
	}
	got, err = c.Counts(ctx, nil, window)
	if err != nil || len(got) != 0 {
		t.Errorf("Counts(nil): got %v, %v; want an empty map", got, err)
	}
}

func testDistinct(t *testing.T, db *store.DB) {
	c, clock := newCounter(db)
	const window = 15 * time.Minute
	set := throttle.Key("signin.idents.addr", "jp", "203.0.113.7")
	steps := []struct {
		advance time.Duration
		member  string
		want    int
	}{
		{0, "hanako@example.jp", 1},
		{0, "taro@example.jp", 2},
		{time.Minute, "hanako@example.jp", 2},
		{time.Minute, "+819012345678", 3}, // 01:04:03
		// 01:17:03: the 01:02 bucket (hanako, taro) left the window; taro is
		// added again, next to the phone number.
		{13 * time.Minute, "taro@example.jp", 2},
		{0, "jiro@example.jp", 3},
		{30 * time.Minute, "hanako@example.jp", 1},
	}
	for i, st := range steps {
		clock.Advance(st.advance)
		got, err := c.HitDistinct(context.Background(), set, st.member, window)
		if err != nil {
			t.Fatalf("HitDistinct: %v", err)
		}
		if got != st.want {
			t.Errorf("step %d, HitDistinct(%s) at %s: got %d, want %d", i+1, st.member, clock.Now().Format(time.TimeOnly), got, st.want)
		}
	}
	// Another set is counted apart.
	other := throttle.Key("signin.idents.addr", "jp", "198.51.100.1")
	if got, _ := c.HitDistinct(context.Background(), other, "hanako@example.jp", window); got != 1 {
		t.Errorf("HitDistinct on another set: got %d, want 1", got)
	}
}

func testConcurrentHits(t *testing.T, db *store.DB) {
	c, _ := newCounter(db)
	const (
		workers = 16
		each    = 25
		window  = time.Minute
	)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				if err := c.Hit(context.Background(), "hot", 2, window); err != nil {
					t.Errorf("Hit: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if got, want := mustCount(t, c, "hot", window), workers*each*2; got != want {
		t.Errorf("Count after concurrent hits: got %d, want %d", got, want)
	}
}

// testTransaction checks that hits take part in the caller's transaction.
func testTransaction(t *testing.T, db *store.DB) {
	c, _ := newCounter(db)
	err := db.InTx(context.Background(), func(ctx context.Context) error {
		if err := c.Hit(ctx, "k", 1, time.Minute); err != nil {
			return err
		}
		return ninsho.E(ninsho.CodeConflict)
	})
	if !ninsho.IsCode(err, ninsho.CodeConflict) {
		t.Fatalf("InTx: got %v, want the conflict", err)
	}
	if got := mustCount(t, c, "k", time.Minute); got != 0 {
		t.Errorf("Count after rollback: got %d, want 0", got)
	}
}

func TestHitRefusesBadArguments(t *testing.T) {
	c, _ := newCounter(storetest.MustOpenSQLite(t))
	ctx := context.Background()
	cases := []struct {
		n      int
		window time.Duration
		ok     bool
	}{
		{0, time.Minute, true}, // nothing to add
		{-1, time.Minute, false},
		{1, 999 * time.Millisecond, false},
		{1, time.Second, true},
	}
	for _, tc := range cases {
		err := c.Hit(ctx, "k", tc.n, tc.window)
		if (err == nil) != tc.ok {
			t.Errorf("Hit(n=%d, window=%v): got %v, want ok=%v", tc.n, tc.window, err, tc.ok)
		}
	}
	if _, err := c.Count(ctx, "k", 0); err == nil {
		t.Errorf("Count over 0: got nil error")
	}
}

func TestKey(t *testing.T) {
	hashed := func(s string) bool { return strings.HasPrefix(s, "~") && len(s) == 44 }
	cases := []struct {
		family, realm, subject string
		want                   string // "" when the subject is hashed
	}{
		{"signin.fail.addr", "jp", "203.0.113.7", "signin.fail.addr|jp|203.0.113.7"},
		{"signin.fail.addr", "jp", "2001:db8::1", "signin.fail.addr|jp|2001:db8::1"},
		{"signin.fail.prefix", "us", "203.0.113.0/24", "signin.fail.prefix|us|203.0.113.0/24"},
		{"signin.fail.account", "jp", "0195a1b2-0000-7000-8000-000000000000", "signin.fail.account|jp|0195a1b2-0000-7000-8000-000000000000"},
		{"signin.fail.ident", "jp", "hanako@example.jp", ""},
		{"signin.fail.ident", "jp", "+819012345678", ""},
		{"signin.fail.ident", "jp", "ｈａｎａｋｏ", ""},
		{"signin.fail.ident", "jp", "a|b", ""},
		{"signin.fail.ident", "jp", strings.Repeat("a", 65), ""},
		{"signin.fail.ident", "jp", strings.Repeat("a", 64), "signin.fail.ident|jp|" + strings.Repeat("a", 64)},
	}
	for _, tc := range cases {
		got := throttle.Key(tc.family, tc.realm, tc.subject)
		if tc.want != "" {
			if got != tc.want {
				t.Errorf("Key(%q, %q, %q): got %q, want %q", tc.family, tc.realm, tc.subject, got, tc.want)
			}
			continue
		}
		prefix := tc.family + "|" + tc.realm + "|"
		if !strings.HasPrefix(got, prefix) || !hashed(strings.TrimPrefix(got, prefix)) || strings.Contains(got, tc.subject) {
			t.Errorf("Key(%q, %q, %q): got %q, want the subject hashed", tc.family, tc.realm, tc.subject, got)
		}
		if again := throttle.Key(tc.family, tc.realm, tc.subject); again != got {
			t.Errorf("Key(%q, …) is not stable: %q, then %q", tc.subject, got, again)
		}
	}

	long := strings.Repeat("x", 10_000)
	if got := throttle.Key(long, long, long); len(got) > 200 {
		t.Errorf("Key of long parts: got %d bytes, want at most 200", len(got))
	}
	if a, b := throttle.Key("f", "jp", "hanako@example.jp"), throttle.Key("f", "us", "hanako@example.jp"); a == b {
		t.Errorf("Key of two realms: both %q", a)
	}
	if a, b := throttle.MemberKey("s", "m"), throttle.MemberKey("s", "n"); a == b || len(a) > 200 {
		t.Errorf("MemberKey: got %q and %q, want distinct keys of at most 200 bytes", a, b)
	}
	if a, b := throttle.MemberKey("ab", "c"), throttle.MemberKey("a", "bc"); a == b {
		t.Errorf("MemberKey(ab, c) = MemberKey(a, bc) = %q", a)
	}
}
