package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/sessions"
)

// Sessions checks sessions.Store: the live sessions of one account (not
// revoked, expired or idle; newest first; bounded), revoking one of them
// only for its account, revoking a device's sessions, the familiar devices
// with their last network and trust, forgetting one account's link to a
// shared device (the device and the other account's link stay), and an
// account's event by id; another account or realm sees nothing.
func Sessions(t *testing.T, open func(tb testing.TB) Stores) {
	ctx := context.Background()
	s := open(t)
	mine := MustCreateAccount(t, s, NewAccount("jp", NewID()+"@example.jp", "")).ID
	other := MustCreateAccount(t, s, NewAccount("jp", NewID()+"@example.jp", "")).ID
	shared := MustCreateDevice(t, s, NewDevice("jp"))
	mustNil(t, "MarkFamiliar", s.MarkFamiliar(ctx, mine, shared.ID, at(time.Minute)))
	mustNil(t, "MarkFamiliar", s.MarkFamiliar(ctx, other, shared.ID, at(time.Minute)))

	newSession := func(accountID, deviceID string, created time.Duration) string {
		ss := NewSession("jp", accountID)
		ss.DeviceID, ss.CreatedAt, ss.LastSeenAt = deviceID, at(created), at(created)
		return MustCreateSession(t, s, ss).ID
	}
	older := newSession(mine, shared.ID, 0)
	newer := newSession(mine, shared.ID, time.Minute)
	idle := newSession(mine, "", -time.Hour)
	revoked := newSession(mine, "", 0)
	mustNil(t, "RevokeSession", s.RevokeSession(ctx, revoked, at(time.Minute)))
	theirs := newSession(other, shared.ID, 0)

	now, idleSince := at(2*time.Minute), at(-30*time.Minute)
	live, err := s.LiveSessions(ctx, "jp", mine, now, idleSince, 10)
	mustNil(t, "LiveSessions", err)
	if len(live) != 2 || live[0].ID != newer || live[1].ID != older || live[0].DeviceID != shared.ID {
		t.Errorf("LiveSessions = %s; want newer, older (not the idle, revoked or other account's)", show(live))
	}
	if live, _ := s.LiveSessions(ctx, "jp", mine, now, idleSince, 1); len(live) != 1 {
		t.Errorf("LiveSessions limit 1 = %d sessions", len(live))
	}
	if live, _ := s.LiveSessions(ctx, "us", mine, now, idleSince, 10); len(live) != 0 {
		t.Errorf("LiveSessions of another realm = %d sessions", len(live))
	}
	if live, _ := s.LiveSessions(ctx, "jp", mine, at(25*time.Hour), at(24*time.Hour), 10); len(live) != 0 {
		t.Errorf("LiveSessions past the absolute expiry = %d sessions", len(live))
	}

	for _, id := range []string{theirs, revoked, idle, NewID()} {
		if _, err := s.RevokeLiveSession(ctx, "jp", mine, id, now, idleSince); !ninsho.IsCode(err, ninsho.CodeNotFound) {
			t.Errorf("RevokeLiveSession(%s) = %v, want not_found", id, err)
		}
	}
	got, err := s.RevokeLiveSession(ctx, "jp", mine, older, now, idleSince)
	if err != nil || got.ID != older || got.RevokedAt == nil {
		t.Fatalf("RevokeLiveSession = %s, %v", show(got), err)
	}

	// Trust the shared device for mine; the other account's stays untrusted.
	td := NewTrustedDevice("jp", mine)
	td.DeviceID = shared.ID
	MustTrustDevice(t, s, td)
	ds, err := s.FamiliarDevices(ctx, "jp", mine, now, 10)
	mustNil(t, "FamiliarDevices", err)
	if len(ds) != 1 || ds[0].ID != shared.ID || ds[0].TrustedUntil == nil || ds[0].LastIP != "203.0.113.7" ||
		!ds[0].FirstAt.Equal(at(time.Minute)) || ds[0].UserAgent != shared.UserAgent {
		t.Errorf("FamiliarDevices = %s", show(ds))
	}
	if ds, _ := s.FamiliarDevices(ctx, "jp", other, now, 10); len(ds) != 1 || ds[0].TrustedUntil != nil {
		t.Errorf("FamiliarDevices of the other account = %s; want the shared device, untrusted", show(ds))
	}
	if ds, _ := s.FamiliarDevices(ctx, "jp", mine, at(61*24*time.Hour), 10); len(ds) != 1 || ds[0].TrustedUntil != nil {
		t.Errorf("FamiliarDevices after the trust expired = %s", show(ds))
	}

	trusted, err := s.ForgetFamiliarDevice(ctx, "jp", mine, shared.ID)
	if err != nil || !trusted {
		t.Fatalf("ForgetFamiliarDevice = %v, %v; want a trust deleted", trusted, err)
	}
	if _, err := s.ForgetFamiliarDevice(ctx, "jp", mine, shared.ID); !ninsho.IsCode(err, ninsho.CodeNotFound) {
		t.Errorf("ForgetFamiliarDevice again = %v, want not_found", err)
	}
	if ok, _ := s.IsFamiliar(ctx, mine, shared.ID); ok {
		t.Error("still familiar after ForgetFamiliarDevice")
	}
	if ok, _ := s.IsFamiliar(ctx, other, shared.ID); !ok {
		t.Error("the other account's link was deleted")
	}
	if _, err := s.DeviceByTokenHash(ctx, "jp", shared.TokenHash); err != nil {
		t.Errorf("the device row was deleted: %v", err)
	}
	n, err := s.RevokeDeviceSessions(ctx, mine, shared.ID, now)
	if err != nil || n != 1 {
		t.Errorf("RevokeDeviceSessions = %d, %v; want 1 (the newer; the older is revoked already)", n, err)
	}
	if live, _ := s.LiveSessions(ctx, "jp", other, now, idleSince, 10); len(live) != 1 {
		t.Errorf("the other account's session on the shared device was revoked")
	}

	e := &event.Event{ID: NewID(), Realm: "jp", AccountID: mine, Type: event.TypeSigninSucceeded, Actor: "account:" + mine,
		IP: "203.0.113.7", DeviceID: shared.ID, Data: map[string]any{"session": newer}, At: now}
	mustNil(t, "AppendEvent", s.AppendEvent(ctx, e))
	got2, err := s.AccountEvent(ctx, "jp", mine, e.ID)
	if err != nil || got2.ID != e.ID || got2.Data["session"] != newer || !got2.At.Equal(now) {
		t.Errorf("AccountEvent = %s, %v", show(got2), err)
	}
	for _, c := range []struct{ realm, account string }{{"jp", other}, {"us", mine}} {
		if _, err := s.AccountEvent(ctx, c.realm, c.account, e.ID); !ninsho.IsCode(err, ninsho.CodeNotFound) {
			t.Errorf("AccountEvent(%s, %s) = %v, want not_found", c.realm, c.account, err)
		}
	}
}

var _ sessions.Store = Stores(nil)
