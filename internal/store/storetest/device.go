package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/device"
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
	t.Run("passkey offer", func(t *testing.T) {
		s := open(t)
		phone := MustCreateDevice(t, s, NewDevice("jp"))
		pc := MustCreateDevice(t, s, NewDevice("jp"))
		steps := []struct {
			name   string
			device string
			o      device.PasskeyOffer
			t      time.Time
			moved  bool
		}{
			{"offered", phone.ID, device.PasskeyOffered, at(time.Minute), true},
			{"offered again", phone.ID, device.PasskeyOffered, at(time.Hour), false},
			{"declined", phone.ID, device.PasskeyDeclined, at(2 * time.Hour), true},
			{"declined again", phone.ID, device.PasskeyDeclined, at(3 * time.Hour), false},
			{"offered after the decline", phone.ID, device.PasskeyOffered, at(4 * time.Hour), false},
			{"a device not stored", NewID(), device.PasskeyOffered, at(time.Minute), false},
		}
		for _, st := range steps {
			moved, err := s.SetPasskeyOffer(ctx, st.device, st.o, st.t)
			mustNil(t, "SetPasskeyOffer "+st.name, err)
			if moved != st.moved {
				t.Errorf("SetPasskeyOffer %s: moved %v, want %v", st.name, moved, st.moved)
			}
		}
		got, err := s.DeviceByTokenHash(ctx, "jp", phone.TokenHash)
		mustNil(t, "DeviceByTokenHash", err)
		if want := at(2 * time.Hour); got.PasskeyOffer != device.PasskeyDeclined || got.PasskeyOfferAt == nil || !got.PasskeyOfferAt.Equal(want) {
			t.Errorf("after the decline: offer %v at %v, want %v at %v", got.PasskeyOffer, got.PasskeyOfferAt, device.PasskeyDeclined, want)
		}
		got, err = s.DeviceByTokenHash(ctx, "jp", pc.TokenHash)
		mustNil(t, "DeviceByTokenHash", err)
		if got.PasskeyOffer != device.PasskeyNotOffered || got.PasskeyOfferAt != nil {
			t.Errorf("another device: offer %v at %v, want none", got.PasskeyOffer, got.PasskeyOfferAt)
		}

		// Declining without the offer recorded first (a tab left open
		// from before) still records it.
		moved, err := s.SetPasskeyOffer(ctx, pc.ID, device.PasskeyDeclined, at(time.Minute))
		mustNil(t, "SetPasskeyOffer declined at once", err)
		if !moved {
			t.Errorf("SetPasskeyOffer declined at once: not moved")
		}
	})
}
