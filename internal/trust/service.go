package trust

import (
	"context"
	"strings"

	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/risk"
)

// PurgeBatch is how many expired rows one Purge statement deletes at most,
// and PurgeBatches how many statements one Purge runs at most.
const (
	PurgeBatch   = 500
	PurgeBatches = 20
)

// Service holds the rules of trusted devices. Every change is an event
// (who, when, from where). All fields are required.
type Service struct {
	Tx     ninsho.TxRunner
	Clock  ninsho.Clock
	Random ninsho.Random
	Store  Store
	Events event.Store
}

// Trust makes deviceID trusted by accountID in rl until now +
// rl.TrustedDeviceFor() (a device trusted already has its trust extended),
// remembering the browser and network of req, and records EventTrusted.
// The caller makes sure deviceID is the device of req and that the owner
// has just passed the second factor on it. It runs in the transaction of
// ctx.
func (s *Service) Trust(ctx context.Context, rl *realm.Realm, req ninsho.Request, accountID, deviceID string) (*Device, error) {
	if deviceID == "" {
		return nil, ninsho.Internal("trust: no device")
	}
	now := s.Clock.Now()
	d := &Device{
		ID: ninsho.NewID(s.Clock, s.Random), Realm: rl.ID, AccountID: accountID, DeviceID: deviceID,
		UserAgent: truncate(req.UserAgent, 512), Network: risk.Prefix(req.IP),
		CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(rl.TrustedDeviceFor()),
	}
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.Store.TrustDevice(ctx, d); err != nil {
			return err
		}
		return s.record(ctx, rl, accountID, EventTrusted, req, deviceID, map[string]any{
			"trusted_device": d.ID, "expires_at": d.ExpiresAt.UTC().Format("2006-01-02T15:04:05Z"),
		})
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// Trusted reports whether accountID trusts deviceID in rl now (and notes
// the use). A device of another account, an expired or revoked trust, or
// an empty deviceID is false.
func (s *Service) Trusted(ctx context.Context, rl *realm.Realm, accountID, deviceID string) (bool, error) {
	if deviceID == "" || accountID == "" {
		return false, nil
	}
	return s.Store.UseTrustedDevice(ctx, rl.ID, accountID, deviceID, s.Clock.Now())
}

// List returns the devices accountID trusts in rl now, the most recently
// used first.
func (s *Service) List(ctx context.Context, rl *realm.Realm, accountID string) ([]Device, error) {
	return s.Store.TrustedDevices(ctx, rl.ID, accountID, s.Clock.Now())
}

// Forget revokes the trusted device id of accountID (ninsho.CodeNotFound,
// field device, for an id of no device of the account) and records
// EventRevoked.
func (s *Service) Forget(ctx context.Context, rl *realm.Realm, req ninsho.Request, accountID, id string) error {
	if !ninsho.ValidID(id) {
		return ninsho.FieldError(ninsho.CodeNotFound, "device")
	}
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		d, err := s.Store.RevokeTrustedDevice(ctx, rl.ID, accountID, id)
		if ninsho.IsCode(err, ninsho.CodeNotFound) {
			return ninsho.FieldError(ninsho.CodeNotFound, "device")
		}
		if err != nil {
			return err
		}
		return s.record(ctx, rl, accountID, EventRevoked, req, d.DeviceID, map[string]any{"trusted_device": d.ID})
	})
}

// ForgetAll revokes every trusted device of accountID in rl, for reason
// (one of the Reason* values), and records EventCleared when there was
// any. It returns how many were forgotten. It runs in the transaction of
// ctx.
func (s *Service) ForgetAll(ctx context.Context, rl *realm.Realm, req ninsho.Request, accountID, reason string) (int, error) {
	var n int
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		n, err = s.Store.RevokeTrustedDevices(ctx, rl.ID, accountID)
		if err != nil || n == 0 {
			return err
		}
		return s.record(ctx, rl, accountID, EventCleared, req, "", map[string]any{"reason": reason, "count": n})
	})
	return n, err
}

// Purge deletes trusted devices that expired before now, in at most
// PurgeBatches statements of PurgeBatch rows, and returns how many. It is
// the housekeeping of the table: a trust that expired skips nothing
// whether its row is there or not.
func (s *Service) Purge(ctx context.Context) (int, error) {
	now := s.Clock.Now()
	total := 0
	for range PurgeBatches {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, err := s.Store.PurgeTrustedDevices(ctx, now, PurgeBatch)
		total += n
		if err != nil || n < PurgeBatch {
			return total, err
		}
	}
	return total, nil
}

// record appends an event about accountID by its owner, with the request's
// who and where.
func (s *Service) record(ctx context.Context, rl *realm.Realm, accountID, typ string, req ninsho.Request, deviceID string, data map[string]any) error {
	return s.Events.AppendEvent(ctx, &event.Event{
		ID: ninsho.NewID(s.Clock, s.Random), Realm: rl.ID, AccountID: accountID, Type: typ,
		Actor: "account:" + accountID, IP: req.IP, UserAgent: truncate(req.UserAgent, 512),
		DeviceID: deviceID, RequestID: req.RequestID, Data: data, At: s.Clock.Now(),
	})
}

// truncate cuts s to at most n bytes of valid UTF-8.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
