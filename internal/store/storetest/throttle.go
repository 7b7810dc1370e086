package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// Throttle checks throttle.Store: buckets add up (also under concurrent
// additions), sums honour the since bound and list every key asked for,
// expired buckets are removed, and additions take part in transactions.
func Throttle(t *testing.T, open func(tb testing.TB) Stores) {
	ctx := context.Background()

	t.Run("add and sum", func(t *testing.T) {
		s := open(t)
		long := strings.Repeat("k", 200)
		adds := []struct {
			key   string
			start time.Duration
			n     int
		}{
			{"a", 0, 1},
			{"a", 0, 2}, // the same bucket: 3
			{"a", time.Minute, 4},
			{"a", -time.Minute, 8},
			{"b", time.Minute, 16},
			{long, 0, 32},
		}
		for _, a := range adds {
			mustNil(t, "AddToBucket", s.AddToBucket(ctx, a.key, at(a.start), a.n, at(a.start+time.Hour)))
		}
		cases := []struct {
			keys  []string
			since time.Duration
			want  map[string]int
		}{
			{[]string{"a"}, -time.Hour, map[string]int{"a": 15}},
			{[]string{"a"}, -time.Minute, map[string]int{"a": 15}}, // since is inclusive
			{[]string{"a"}, -time.Minute + time.Microsecond, map[string]int{"a": 7}},
			{[]string{"a"}, 0, map[string]int{"a": 7}},
			{[]string{"a"}, time.Minute, map[string]int{"a": 4}},
			{[]string{"a"}, 2 * time.Minute, map[string]int{"a": 0}},
			{[]string{"a", "b", "c", "a"}, 0, map[string]int{"a": 7, "b": 16, "c": 0}},
			{[]string{long}, 0, map[string]int{long: 32}},
			{[]string{}, 0, map[string]int{}},
		}
		for _, tc := range cases {
			got, err := s.SumBuckets(ctx, tc.keys, at(tc.since))
			mustNil(t, "SumBuckets", err)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("SumBuckets(%.20q, Epoch%+v): got %v, want %v", tc.keys, tc.since, got, tc.want)
			}
		}
	})

	t.Run("many keys", func(t *testing.T) {
		s := open(t)
		var keys []string
		want := map[string]int{}
		for i := range 150 {
			k := fmt.Sprintf("key-%03d", i)
			keys = append(keys, k)
			want[k] = 0
			if i%3 == 0 {
				mustNil(t, "AddToBucket", s.AddToBucket(ctx, k, Epoch, i+1, at(time.Hour)))
				want[k] = i + 1
			}
		}
		got, err := s.SumBuckets(ctx, keys, Epoch)
		mustNil(t, "SumBuckets", err)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("SumBuckets of %d keys:\ngot  %v\nwant %v", len(keys), got, want)
		}
	})

	t.Run("concurrent additions", func(t *testing.T) {
		s := open(t)
		const workers, each = 16, 20
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					start := Epoch
					if (w+i)%2 == 1 {
						start = at(time.Minute)
					}
					if err := s.AddToBucket(ctx, "hot", start, 1, at(time.Hour)); err != nil {
						t.Errorf("AddToBucket: %v", err)
						return
					}
				}
			}()
		}
		wg.Wait()
		got, err := s.SumBuckets(ctx, []string{"hot"}, Epoch)
		mustNil(t, "SumBuckets", err)
		if got["hot"] != workers*each {
			t.Errorf("SumBuckets after %d concurrent additions: got %d", workers*each, got["hot"])
		}
	})

	t.Run("delete expired", func(t *testing.T) {
		s := open(t)
		mustNil(t, "AddToBucket", s.AddToBucket(ctx, "old", Epoch, 1, at(time.Minute)))
		mustNil(t, "AddToBucket", s.AddToBucket(ctx, "edge", Epoch, 1, at(2*time.Minute)))
		mustNil(t, "AddToBucket", s.AddToBucket(ctx, "new", Epoch, 1, at(3*time.Minute)))
		// A later addition with a later expiry keeps the bucket longer;
		// an earlier one does not shorten it.
		mustNil(t, "AddToBucket", s.AddToBucket(ctx, "old", Epoch, 1, at(5*time.Minute)))
		mustNil(t, "AddToBucket", s.AddToBucket(ctx, "new", Epoch, 1, at(time.Second)))

		n, err := s.DeleteExpiredBuckets(ctx, at(2*time.Minute))
		mustNil(t, "DeleteExpiredBuckets", err)
		if n != 0 {
			t.Errorf("DeleteExpiredBuckets(Epoch+2m): got %d, want 0 (expiry is exclusive)", n)
		}
		n, err = s.DeleteExpiredBuckets(ctx, at(4*time.Minute))
		mustNil(t, "DeleteExpiredBuckets", err)
		if n != 2 {
			t.Errorf("DeleteExpiredBuckets(Epoch+4m): got %d, want 2", n)
		}
		got, err := s.SumBuckets(ctx, []string{"old", "edge", "new"}, Epoch)
		mustNil(t, "SumBuckets", err)
		if want := map[string]int{"old": 2, "edge": 0, "new": 0}; !reflect.DeepEqual(got, want) {
			t.Errorf("SumBuckets after deleting: got %v, want %v", got, want)
		}
	})

	t.Run("transaction", func(t *testing.T) {
		s := open(t)
		errBoom := errors.New("boom")
		err := s.InTx(ctx, func(ctx context.Context) error {
			if err := s.AddToBucket(ctx, "tx", Epoch, 5, at(time.Hour)); err != nil {
				return err
			}
			got, err := s.SumBuckets(ctx, []string{"tx"}, Epoch)
			if err != nil {
				return err
			}
			if got["tx"] != 5 {
				t.Errorf("SumBuckets inside the transaction: got %d, want 5", got["tx"])
			}
			return errBoom
		})
		if !errors.Is(err, errBoom) {
			t.Fatalf("InTx: got %v, want %v", err, errBoom)
		}
		got, err := s.SumBuckets(ctx, []string{"tx"}, Epoch)
		mustNil(t, "SumBuckets", err)
		if got["tx"] != 0 {
			t.Errorf("SumBuckets after rollback: got %d, want 0", got["tx"])
		}
	})
}
