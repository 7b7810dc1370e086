package signin_test

import (
	"context"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// BenchmarkSigninOutsideTheHash measures what a complete password sign-in
// costs besides the hash (the hash parameters here are tiny), with sign-in
// protection on, on SQLite. Metric writetx/op: the write transactions it
// makes (store.DB.WriteTransactions).
func BenchmarkSigninOutsideTheHash(b *testing.B) {
	e := flowtest.New(b, storetest.MustOpenSQLite(b))
	ctx := context.Background()
	dev := e.MustSignUp(b, e.JP, "bench@example.jp", pw, "bench@example.jp")
	writes := e.DB.WriteTransactions()
	defer func() {
		b.ReportMetric(float64(e.DB.WriteTransactions()-writes)/float64(b.N), "writetx/op")
	}()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.Clock.Advance(time.Second) // one sign-in a second: within the per-address limit
		ans, err := e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.7", dev), signin.Input{Identifier: "bench@example.jp", Password: pw})
		if err != nil || ans.Session == nil {
			b.Fatalf("sign-in %d: %v", i, err)
		}
	}
}
