package store_test

import (
	"testing"

	"github.com/ninsho/ninsho/internal/store"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

func TestOrgConsoleConformance(t *testing.T) {
	storetest.EachDatabase(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		storetest.OrgConsole(t, func(tb testing.TB) storetest.OrgConsoleStores { return open(tb) })
	})
}
