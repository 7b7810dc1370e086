package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/trust"
)

// NewTrustedDevice returns an unsaved trusted device of accountID in realm,
// trusted at Epoch for 60 days.
func NewTrustedDevice(realm, accountID string) *trust.Device {
	return &trust.Device{
		ID: NewID(), Realm: realm, AccountID: accountID, DeviceID: NewID(),
		UserAgent: "Mozilla/5.0 (Windows NT 10.0) Chrome/131.0", Network: "192.0.2.0/24",
		CreatedAt: at(0), LastUsedAt: at(0), ExpiresAt: at(60 * 24 * time.Hour),
	}
}

// MustTrustDevice stores d or fails tb.
func MustTrustDevice(tb testing.TB, s trust.Store, d *trust.Device) *trust.Device {
	tb.Helper()
	if err := s.TrustDevice(context.Background(), d); err != nil {
		tb.Fatalf("TrustDevice: %v", err)
	}
	return d
}

// Trust checks trust.Store: the round trip, the upsert that extends a
// device's trust and keeps its id, expiry, the write of the last use at
// most once per trust.UseInterval, listing order, revocation of one and of
// all, the purge of expired rows in bounded batches, and that another
// account or realm sees nothing.
func Trust(t *testing.T, open func(tb testing.TB) Stores) {
	ctx := context.Background()
	newAccount := func(tb testing.TB, s Stores, realm string) string {
		tb.Helper()
		return MustCreateAccount(tb, s, NewAccount(realm, NewID()+"@example.jp", "")).ID
	}
	trusted := func(tb testing.TB, s Stores, realm, a, dev string, now time.Time) bool {
		tb.Helper()
		ok, err := s.UseTrustedDevice(ctx, realm, a, dev, now)
		mustNil(tb, "UseTrustedDevice", err)
		return ok
	}

	t.Run("trust, list, expire", func(t *testing.T) {
		s := open(t)
		a := newAccount(t, s, "jp")
		d := MustTrustDevice(t, s, NewTrustedDevice("jp", a))
		got, err := s.TrustedDevices(ctx, "jp", a, at(time.Hour))
		mustNil(t, "TrustedDevices", err)
		if len(got) != 1 || got[0] != *d {
			t.Fatalf("TrustedDevices: got %s, want %s", show(got), show(d))
		}
		if !trusted(t, s, "jp", a, d.DeviceID, at(time.Hour)) {
			t.Errorf("UseTrustedDevice before expiry: got false, want true")
		}
		if trusted(t, s, "jp", a, d.DeviceID, d.ExpiresAt) {
			t.Errorf("UseTrustedDevice at expiry: got true, want false")
		}
		if got, _ := s.TrustedDevices(ctx, "jp", a, d.ExpiresAt); len(got) != 0 {
			t.Errorf("TrustedDevices at expiry: got %s, want none", show(got))
		}
		if trusted(t, s, "jp", a, NewID(), at(time.Hour)) {
			t.Errorf("UseTrustedDevice of another device: got true, want false")
		}
	})

	t.Run("trust again extends and keeps the id", func(t *testing.T) {
		s := open(t)
		a := newAccount(t, s, "jp")
		d := MustTrustDevice(t, s, NewTrustedDevice("jp", a))
		again := *d
		again.ID, again.CreatedAt, again.LastUsedAt = NewID(), at(time.Hour), at(time.Hour)
		again.ExpiresAt, again.Network, again.UserAgent = at(61*24*time.Hour), "2001:db8:1::/48", "Firefox/133.0"
		MustTrustDevice(t, s, &again)
		want := *d
		want.LastUsedAt, want.ExpiresAt, want.Network, want.UserAgent = again.LastUsedAt, again.ExpiresAt, again.Network, again.UserAgent
		if again != want {
			t.Fatalf("TrustDevice of a trusted device: got %s, want %s", show(again), show(want))
		}
		got, _ := s.TrustedDevices(ctx, "jp", a, at(time.Hour))
		if len(got) != 1 || got[0] != want {
			t.Errorf("TrustedDevices: got %s, want %s", show(got), show(want))
		}
	})

	t.Run("last use written at most once per interval", func(t *testing.T) {
		s := open(t)
		a := newAccount(t, s, "jp")
		d := MustTrustDevice(t, s, NewTrustedDevice("jp", a))
		lastUsed := func() time.Time {
			got, _ := s.TrustedDevices(ctx, "jp", a, at(0))
			if len(got) != 1 {
				t.Fatalf("TrustedDevices: got %s", show(got))
			}
			return got[0].LastUsedAt
		}
		trusted(t, s, "jp", a, d.DeviceID, at(trust.UseInterval-time.Second))
		if got := lastUsed(); !got.Equal(at(0)) {
			t.Errorf("last use within the interval: got %v, want %v", got, at(0))
		}
		trusted(t, s, "jp", a, d.DeviceID, at(trust.UseInterval))
		if got := lastUsed(); !got.Equal(at(trust.UseInterval)) {
			t.Errorf("last use after the interval: got %v, want %v", got, at(trust.UseInterval))
		}
	})

	t.Run("list order", func(t *testing.T) {
		s := open(t)
		a := newAccount(t, s, "jp")
		old := NewTrustedDevice("jp", a)
		recent := NewTrustedDevice("jp", a)
		recent.LastUsedAt = at(time.Minute)
		MustTrustDevice(t, s, old)
		MustTrustDevice(t, s, recent)
		got, _ := s.TrustedDevices(ctx, "jp", a, at(time.Hour))
		if len(got) != 2 || got[0].ID != recent.ID || got[1].ID != old.ID {
			t.Errorf("TrustedDevices: got %s, want the most recently used first", show(got))
		}
	})

	t.Run("revoke one and all", func(t *testing.T) {
		s := open(t)
		a, b := newAccount(t, s, "jp"), newAccount(t, s, "jp")
		d1, d2 := MustTrustDevice(t, s, NewTrustedDevice("jp", a)), MustTrustDevice(t, s, NewTrustedDevice("jp", a))
		other := MustTrustDevice(t, s, NewTrustedDevice("jp", b))

		_, err := s.RevokeTrustedDevice(ctx, "jp", b, d1.ID)
		wantCode(t, "RevokeTrustedDevice by another account", err, ninsho.CodeNotFound)
		_, err = s.RevokeTrustedDevice(ctx, "kr", a, d1.ID)
		wantCode(t, "RevokeTrustedDevice in another realm", err, ninsho.CodeNotFound)
		got, err := s.RevokeTrustedDevice(ctx, "jp", a, d1.ID)
		mustNil(t, "RevokeTrustedDevice", err)
		if got.ID != d1.ID || got.DeviceID != d1.DeviceID {
			t.Errorf("RevokeTrustedDevice: got %s, want %s", show(got), show(d1))
		}
		_, err = s.RevokeTrustedDevice(ctx, "jp", a, d1.ID)
		wantCode(t, "RevokeTrustedDevice again", err, ninsho.CodeNotFound)
		if trusted(t, s, "jp", a, d1.DeviceID, at(time.Hour)) {
			t.Errorf("revoked device still trusted")
		}

		if n, err := s.RevokeTrustedDevices(ctx, "kr", a); err != nil || n != 0 {
			t.Errorf("RevokeTrustedDevices in another realm: got %d, %v, want 0", n, err)
		}
		n, err := s.RevokeTrustedDevices(ctx, "jp", a)
		if err != nil || n != 1 {
			t.Errorf("RevokeTrustedDevices: got %d, %v, want 1", n, err)
		}
		if trusted(t, s, "jp", a, d2.DeviceID, at(time.Hour)) {
			t.Errorf("device trusted after RevokeTrustedDevices")
		}
		if !trusted(t, s, "jp", b, other.DeviceID, at(time.Hour)) {
			t.Errorf("another account's device forgotten by RevokeTrustedDevices")
		}
	})

	t.Run("another account or realm sees nothing", func(t *testing.T) {
		s := open(t)
		a, b := newAccount(t, s, "jp"), newAccount(t, s, "jp")
		d := MustTrustDevice(t, s, NewTrustedDevice("jp", a))
		if trusted(t, s, "jp", b, d.DeviceID, at(time.Hour)) {
			t.Errorf("another account trusts the device")
		}
		if trusted(t, s, "kr", a, d.DeviceID, at(time.Hour)) {
			t.Errorf("the device is trusted in another realm")
		}
		for _, c := range []struct{ realm, account string }{{"jp", b}, {"kr", a}} {
			if got, _ := s.TrustedDevices(ctx, c.realm, c.account, at(time.Hour)); len(got) != 0 {
				t.Errorf("TrustedDevices(%s, other): got %s, want none", c.realm, show(got))
			}
		}
		wrong := NewTrustedDevice("kr", a)
		wantCode(t, "TrustDevice in the account's wrong realm", s.TrustDevice(ctx, wrong), ninsho.CodeAccountNotFound)
		wantCode(t, "TrustDevice of an unknown account", s.TrustDevice(ctx, NewTrustedDevice("jp", NewID())), ninsho.CodeAccountNotFound)
	})

	t.Run("purge expired in batches", func(t *testing.T) {
		s := open(t)
		a := newAccount(t, s, "jp")
		var live *trust.Device
		for i := range 5 {
			d := NewTrustedDevice("jp", a)
			if i == 4 {
				d.ExpiresAt = at(90 * 24 * time.Hour)
				live = d
			}
			MustTrustDevice(t, s, d)
		}
		cutoff := at(70 * 24 * time.Hour)
		if n, err := s.PurgeTrustedDevices(ctx, cutoff, 3); err != nil || n != 3 {
			t.Errorf("PurgeTrustedDevices: got %d, %v, want 3", n, err)
		}
		if n, err := s.PurgeTrustedDevices(ctx, cutoff, 3); err != nil || n != 1 {
			t.Errorf("PurgeTrustedDevices again: got %d, %v, want 1", n, err)
		}
		if n, _ := s.RevokeTrustedDevices(ctx, "jp", a); n != 1 {
			t.Errorf("rows left after purge: got %d, want 1 (%s)", n, live.ID)
		}
	})
}
