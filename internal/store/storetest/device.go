package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/ninsho"
)

// Device checks device.Store: lookups by realm and token hash, and
// familiarity between accounts and devices.
func Device(t *testing.T, open func(tb testing.TB) Stores) {
	ctx := context.Background()

	t.Run("round trip", func(t *testing.T) {
		s := open(t)
		d := NewDevice("jp")
		d.LastSeenAt = at(time.Minute)
		MustCreateDevice(t, s, d)
		got, err := s.DeviceByTokenHash(ctx, "jp", d.TokenHash)
		mustNil(t, "DeviceByTokenHash", err)
		if !reflect.DeepEqual(got, d) {
			t.Errorf("DeviceByTokenHash:\ngot  %s\nwant %s", show(got), show(d))
		}
		misses := []struct {
			name  string
			realm string
			hash  []byte
		}{
			{"another realm", "us", d.TokenHash},
			{"unknown token", "jp", NewHash()},
			{"no token", "jp", nil},
		}
		for _, m := range misses {
			_, err := s.DeviceByTokenHash(ctx, m.realm, m.hash)
			wantCode(t, "DeviceByTokenHash of "+m.name, err, ninsho.CodeNotFound)
		}
	})

	t.Run("familiarity", func(t *testing.T) {
		s := open(t)
		a := MustCreateAccount(t, s, NewAccount("jp", "hanako@example.jp", ""))
		b := MustCreateAccount(t, s, NewAccount("jp", "taro@example.jp", ""))
		phone := MustCreateDevice(t, s, NewDevice("jp"))
		pc := MustCreateDevice(t, s, NewDevice("jp"))

		if ok, err := s.IsFamiliar(ctx, a.ID, phone.ID); err != nil || ok {
			t.Fatalf("IsFamiliar before any sign-in: got %v, %v; want false, nil", ok, err)
		}
		mustNil(t, "MarkFamiliar", s.MarkFamiliar(ctx, a.ID, phone.ID, at(time.Minute)))
		mustNil(t, "MarkFamiliar again", s.MarkFamiliar(ctx, a.ID, phone.ID, at(time.Hour)))
		mustNil(t, "MarkFamiliar earlier", s.MarkFamiliar(ctx, a.ID, phone.ID, Epoch))

		cases := []struct {
			name            string
			account, device string
			want            bool
		}{
			{"account on its device", a.ID, phone.ID, true},
			{"account on another device", a.ID, pc.ID, false},
			{"another account on the device", b.ID, phone.ID, false},
			{"unknown account", NewID(), phone.ID, false},
		}
		for _, tc := range cases {
			got, err := s.IsFamiliar(ctx, tc.account, tc.device)
			mustNil(t, "IsFamiliar", err)
			if got != tc.want {
				t.Errorf("IsFamiliar(%s): got %v, want %v", tc.name, got, tc.want)
			}
		}
	})
}
