package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// BenchmarkSessionByTokenHash is the first of the two reads of a session
// check that misses signin's one-second cache (the second reads the
// account): one indexed lookup by token hash.
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
					got, err := db.SessionByTokenHash(ctx, s.TokenHash)
					if err != nil {
						b.Error(err)
						return
					}
					if got.ID != s.ID {
						b.Errorf("SessionByTokenHash: got session %s, want %s", got.ID, s.ID)
						return
					}
				}
			})
		})
	}
}

// BenchmarkSigninWrites is the write side of a password sign-in that
// completes at its first request (POST /api/v1/signin from a familiar
// device), as signin writes it since issue 13: one transaction that adds
// the attempt to its three per-minute counters (address, network, device:
// a familiar device's counts are owed to the transaction that ends its
// attempt), inserts the completed flow and the session, marks the device
// and the network familiar and appends the signin.succeeded event
// (authflow.Kit.Complete). It checks afterwards that every operation left
// its session and its event.
func BenchmarkSigninWrites(b *testing.B) {
	for _, d := range storetest.Databases() {
		b.Run(d.Name, func(b *testing.B) {
			db := d.Open(b)
			ctx := context.Background()
			a := storetest.MustCreateAccount(b, db, storetest.NewAccount("jp", "hanako@example.jp", ""))
			dev := storetest.MustCreateDevice(b, db, storetest.NewDevice("jp"))
			now := storetest.Epoch.Add(time.Minute)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					f := storetest.NewFlow("jp")
					f.AccountID, f.DeviceID = a.ID, dev.ID
					f.Status, f.Step, f.UpdatedAt = flow.StatusComplete, flow.StepDone, now
					s := storetest.NewSession("jp", a.ID)
					s.DeviceID = dev.ID
					err := db.InTx(ctx, func(ctx context.Context) error {
						for _, key := range []string{"signin.addr|jp|203.0.113.7", "signin.prefix|jp|203.0.113.0/24", "signin.device|jp|" + dev.ID} {
							if err := db.AddToBucket(ctx, key, now, 1, now.Add(64*time.Second)); err != nil {
								return err
							}
						}
						if err := db.CreateSession(ctx, s); err != nil {
							return err
						}
						if err := db.MarkFamiliar(ctx, a.ID, dev.ID, now); err != nil {
							return err
						}
						if err := db.MarkNetwork(ctx, "jp", a.ID, "203.0.113.0/24", now); err != nil {
							return err
						}
						if err := db.CreateFlow(ctx, f); err != nil {
							return err
						}
						return db.AppendEvent(ctx, &event.Event{
							ID: storetest.NewID(), Realm: "jp", AccountID: a.ID, Type: event.TypeSigninSucceeded,
							Actor: "account:" + a.ID, IP: s.IP, UserAgent: s.UserAgent, DeviceID: dev.ID, RequestID: "req-bench",
							Data: map[string]any{"flow": f.ID, "session": s.ID, "methods": s.Methods, "prefix": "203.0.113.0/24"},
							At:   now,
						})
					})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			evs, err := db.AccountEvents(ctx, a.ID, storetest.Epoch, b.N+1)
			if err != nil {
				b.Fatal(err)
			}
			if len(evs) != b.N {
				b.Errorf("signin.succeeded events: got %d, want %d (one per operation)", len(evs), b.N)
			}
			if n, err := db.RevokeAccountSessions(ctx, a.ID, "", now); err != nil || n != b.N {
				b.Errorf("sessions written: got %d (%v), want %d", n, err, b.N)
			}
		})
	}
}
