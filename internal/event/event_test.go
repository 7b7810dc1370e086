package event_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/store"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

type recorder struct{ types []string }

func (r *recorder) Observe(e *event.Event) { r.types = append(r.types, e.Type) }

func TestObservedTellsOnlyCommittedEvents(t *testing.T) {
	storetest.EachDatabase(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		ctx := context.Background()
		db := open(t)
		rec := &recorder{}
		events := &event.Observed{Store: db, Observers: []event.Observer{rec}}
		a := storetest.MustCreateAccount(t, db, storetest.NewAccount("jp", "hanako@example.jp", ""))
		ev := func(typ string) *event.Event {
			return &event.Event{ID: storetest.NewID(), Realm: "jp", AccountID: a.ID, Type: typ, Actor: "system", At: storetest.Epoch}
		}
		boom := errors.New("boom")
		err := db.InTx(ctx, func(ctx context.Context) error {
			if err := events.AppendEvent(ctx, ev(event.TypeAccountLocked)); err != nil {
				return err
			}
			if len(rec.types) != 0 {
				t.Errorf("observed %q before the commit", rec.types)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		err = db.InTx(ctx, func(ctx context.Context) error {
			if err := events.AppendEvent(ctx, ev(event.TypePasswordChanged)); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("got %v, want the rollback", err)
		}
		if err := events.AppendEvent(ctx, ev(event.TypeSignout)); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(rec.types, " "); got != "account.locked signout" {
			t.Errorf("observed %q, want the committed events only: account.locked signout", got)
		}
	})
}

func TestSecurityLog(t *testing.T) {
	var buf bytes.Buffer
	log := event.SecurityLog{Logger: slog.New(slog.NewJSONHandler(&buf, nil))}
	e := &event.Event{
		ID: "01a2107b-0fba-7b02-bb24-795ab0397e98", Realm: "jp", AccountID: "acc-1", Type: event.TypeAccountLocked,
		Actor: "account:acc-1", IP: "203.0.113.9", UserAgent: "Mozilla/5.0", DeviceID: "dev-1", RequestID: "req-1",
		Data: map[string]any{
			"kind": "suspicious", "reason": "not_me", "sessions_revoked": 3,
			// Not for the log, even if an event ever carried them.
			"identifier": "hanako@example.jp", "code": "123456", "token": "tkn", "prefix": "203.0.113.0/24",
		},
	}
	log.Observe(e)
	log.Observe(&event.Event{Type: event.TypeSigninFailed, Realm: "jp"}) // not a security event
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("got %d records, want 1:\n%s", len(lines), buf.String())
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
		t.Fatal(err)
	}
	delete(got, "time")
	want := map[string]any{
		"level": "INFO", "msg": "security event", "event": "account.locked", "event_id": e.ID,
		"realm": "jp", "account_id": "acc-1", "device_id": "dev-1", "client_ip": "203.0.113.9",
		"user_agent": "Mozilla/5.0", "request_id": "req-1",
		"kind": "suspicious", "reason": "not_me", "sessions_revoked": float64(3),
	}
	if len(got) != len(want) {
		t.Errorf("got fields %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %v, want %v", k, got[k], v)
		}
	}
	for _, secret := range []string{"hanako@example.jp", "123456", "tkn"} {
		if strings.Contains(lines[0], secret) {
			t.Errorf("the record holds %q: %s", secret, lines[0])
		}
	}
}

func TestSecurityLogTypes(t *testing.T) {
	for _, typ := range []string{event.TypeAccountLocked, event.TypeAccountUnlocked, event.TypePasswordChanged, event.TypeSigninAlertSent, event.TypeAccountPurged,
		event.TypeTwoStepEnabled, event.TypeTwoStepDisabled, event.TypeTwoStepMethodAdded, event.TypeTwoStepMethodRemoved,
		event.TypeTwoStepPreferred, event.TypeTwoStepBackupCodes,
		event.TypeTrustedDeviceAdded, event.TypeTrustedDeviceRevoked, event.TypeTrustedDeviceCleared, event.TypeSessionReauthenticated} {
		var buf bytes.Buffer
		event.SecurityLog{Logger: slog.New(slog.NewTextHandler(&buf, nil))}.Observe(&event.Event{Type: typ, Realm: "jp"})
		if !strings.Contains(buf.String(), `msg="security event" event=`+typ+" ") {
			t.Errorf("%s: got %q, want a security event record", typ, buf.String())
		}
	}
}

// A two-step change is logged with its method and credential id, never
// with a phone number or a secret the event might carry by mistake.
func TestSecurityLogTwoStep(t *testing.T) {
	var buf bytes.Buffer
	event.SecurityLog{Logger: slog.New(slog.NewJSONHandler(&buf, nil))}.Observe(&event.Event{
		Type: event.TypeTwoStepMethodAdded, Realm: "jp", AccountID: "acc-1",
		Data: map[string]any{"credential": "cred-1", "method": "sms", "phone": "+819012345678", "secret": "JBSWY3DP"},
	})
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	if got["method"] != "sms" || got["credential"] != "cred-1" {
		t.Errorf("got method %v credential %v, want sms cred-1", got["method"], got["credential"])
	}
	for _, k := range []string{"phone", "secret"} {
		if _, ok := got[k]; ok {
			t.Errorf("record carries %q: %s", k, buf.String())
		}
	}
	if strings.Contains(buf.String(), "+8190") || strings.Contains(buf.String(), "JBSWY3DP") {
		t.Errorf("record leaks data: %s", buf.String())
	}
}
