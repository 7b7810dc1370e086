package store_test

import (
	"testing"

	"github.com/ninsho/ninsho/internal/store"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

func TestOAuthClientConformance(t *testing.T) {
	storetest.EachDatabase(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		storetest.OAuthClients(t, func(tb testing.TB) storetest.OAuthClientStores { return open(tb) })
	})
}
