package store_test

import (
	"testing"

	"github.com/ninsho/ninsho/internal/store"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

func TestRecoveryConformance(t *testing.T) {
	storetest.EachDatabase(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		storetest.Recovery(t, func(tb testing.TB) storetest.RecoveryStores { return open(tb) })
	})
}
