package store_test

import (
	"context"
	"testing"

	"github.com/ninsho/ninsho/internal/store"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

func TestOpenAndPing(t *testing.T) {
	storetest.EachDatabase(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		db := open(t)
		if err := db.Ping(context.Background()); err != nil {
			t.Fatalf("Ping: got %v, want nil", err)
		}
		if err := db.Migrate(context.Background()); err != nil {
			t.Fatalf("Migrate again: got %v, want nil", err)
		}
	})
}

func TestConformance(t *testing.T) {
	storetest.EachDatabase(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		storetest.All(t, func(tb testing.TB) storetest.Stores { return open(tb) })
	})
}
