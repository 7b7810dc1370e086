package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/store/storetest"
)

// BenchmarkSessionByTokenHash is the read behind every authenticated
// request (/api/v1/me).
func BenchmarkSessionByTokenHash(b *testing.B) {
	for _, d := range storetest.Databases() {
		b.Run(d.Name, func(b *testing.B) {
			db := d.Open(b)
			a := storetest.MustCreateAccount(b, db, storetest.NewAccount("jp", "hanako@example.jp", ""))
			s := storetest.MustCreateSession(b, db, storetest.NewSession("jp", a.ID))
			ctx := context.Background()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := db.SessionByTokenHash(ctx, s.TokenHash); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkSigninWrites is the write side of a completed sign-in: one
// transaction with a flow update, a familiarity mark, a session and an
// event.
func BenchmarkSigninWrites(b *testing.B) {
	for _, d := range storetest.Databases() {
		b.Run(d.Name, func(b *testing.B) {
			db := d.Open(b)
			ctx := context.Background()
			a := storetest.MustCreateAccount(b, db, storetest.NewAccount("jp", "hanako@example.jp", ""))
			dev := storetest.MustCreateDevice(b, db, storetest.NewDevice("jp"))
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					f := storetest.MustCreateFlow(b, db, storetest.NewFlow("jp"))
					err := db.InTx(ctx, func(ctx context.Context) error {
						f.AccountID = a.ID
						if err := db.UpdateFlow(ctx, f); err != nil {
							return err
						}
						if err := db.MarkFamiliar(ctx, a.ID, dev.ID, storetest.Epoch.Add(time.Minute)); err != nil {
							return err
						}
						return db.CreateSession(ctx, storetest.NewSession("jp", a.ID))
					})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
