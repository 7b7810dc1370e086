package store_test

import (
	"testing"

	"github.com/ninsho/ninsho/internal/store"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

func TestRealmSettingConformance(t *testing.T) {
	storetest.EachDatabase(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		storetest.RealmSettings(t, func(tb testing.TB) storetest.RealmSetStores { return open(tb) })
	})
}
