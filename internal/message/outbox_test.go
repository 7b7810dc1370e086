package message_test

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	. "github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/secret"
	"github.com/ninsho/ninsho/internal/store"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// The outbox and dispatcher tests run on the real store (SQLite, opened in
// a temporary directory); the store's own behaviour is held by the
// conformance suite in internal/store/storetest and by TestWithStore.

// testT0 is where the tests' clocks start: storetest.Epoch.
var testT0 = storetest.Epoch

// claimable returns every message of db due by a day after testT0 that a
// dispatcher could claim, that is every pending one.
func claimable(tb testing.TB, db *store.DB) []*Message {
	tb.Helper()
	now := testT0.Add(24 * time.Hour)
	ms, err := db.ClaimMessages(context.Background(), "probe", now, now.Add(time.Minute), 1000)
	if err != nil {
		tb.Fatalf("ClaimMessages: %v", err)
	}
	return ms
}

func codeVars() map[string]string {
	return map[string]string{"code": "482913", "name": "Taro Yamada", "minutes": "10", "host": "id.example.com"}
}

func TestOutboxEnqueue(t *testing.T) {
	ctx := context.Background()
	st := storetest.MustOpenSQLite(t)
	clock := ninsho.NewManualClock(testT0)
	box := MustBox(t, 7)
	o := NewOutbox(st, box, MustTemplates(t), clock, NewTestRandom(2))

	m, err := o.Enqueue(ctx, "jp", ChannelSMS, "+819012345678", TemplateSignupCode, "ja-JP", codeVars())
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	got, err := st.Message(ctx, m.ID)
	if err != nil {
		t.Fatalf("Message: %v", err)
	}
	if !ninsho.ValidID(got.ID) || got.Realm != "jp" || got.Channel != ChannelSMS || got.To != "+819012345678" ||
		got.Template != TemplateSignupCode || got.Locale != "ja" || got.Status != StatusPending ||
		got.Attempts != 0 || !got.NextAttemptAt.Equal(testT0) || !got.CreatedAt.Equal(testT0) {
		t.Errorf("stored message = %+v, want a pending jp sms signup_code in ja due at %v", got, testT0)
	}
	if bytes.Contains(got.SealedVars, []byte("482913")) || bytes.Contains(got.SealedVars, []byte("Taro")) {
		t.Errorf("SealedVars holds variables in the clear")
	}
	vars, err := OpenVars(box, got.ID, got.SealedVars)
	if err != nil {
		t.Fatalf("openVars: %v", err)
	}
	if !maps.Equal(vars, codeVars()) {
		t.Errorf("opened vars = %v, want %v", vars, codeVars())
	}
	if _, err := OpenVars(box, ninsho.NewID(clock, NewTestRandom(9)), got.SealedVars); err == nil {
		t.Errorf("vars open under another message id, want them bound to %s", got.ID)
	}
}

func TestOutboxEnqueueRefuses(t *testing.T) {
	tests := []struct {
		name     string
		ch       Channel
		to       string
		template string
		vars     map[string]string
		wantErr  string
	}{
		{"unknown template", ChannelEmail, "a@example.com", "welcome", codeVars(), `no template "welcome"`},
		{"missing variable", ChannelEmail, "a@example.com", TemplateSignupCode, map[string]string{"name": "x"}, `no entry for key`},
		{"unknown channel", Channel("fax"), "a@example.com", TemplateSignupCode, codeVars(), `for channel fax`},
		{"empty recipient", ChannelEmail, "", TemplateSignupCode, codeVars(), `empty recipient`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := storetest.MustOpenSQLite(t)
			o := NewOutbox(st, MustBox(t, 1), MustTemplates(t), ninsho.NewManualClock(testT0), NewTestRandom(1))
			_, err := o.Enqueue(context.Background(), "jp", tt.ch, tt.to, tt.template, "en", tt.vars)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Enqueue error = %v, want one containing %q", err, tt.wantErr)
			}
			if ms := claimable(t, st); len(ms) != 0 {
				t.Errorf("store holds %d pending messages, want 0", len(ms))
			}
		})
	}
}

// failingStore is the real store with EnqueueMessage failing.
type failingStore struct{ *store.DB }

func (failingStore) EnqueueMessage(context.Context, *Message) error {
	return ninsho.Internal("store: down")
}

func TestOutboxEnqueueStoreError(t *testing.T) {
	o := NewOutbox(failingStore{storetest.MustOpenSQLite(t)}, MustBox(t, 1), MustTemplates(t), ninsho.NewManualClock(testT0), NewTestRandom(1))
	_, err := o.Enqueue(context.Background(), "jp", ChannelEmail, "a@example.com", TemplateSignupCode, "en", codeVars())
	if !ninsho.IsCode(err, ninsho.CodeInternal) {
		t.Fatalf("Enqueue error = %v, want the store's internal error", err)
	}
}

func TestOutboxWake(t *testing.T) {
	o := NewOutbox(storetest.MustOpenSQLite(t), MustBox(t, 1), MustTemplates(t), ninsho.NewManualClock(testT0), NewTestRandom(1))
	o.Wake()
	o.Wake() // merged, never blocks
	select {
	case <-o.Wakeups():
	default:
		t.Fatal("Wakeups() has no signal after Wake")
	}
	select {
	case <-o.Wakeups():
		t.Fatal("two wake-ups pending, want them merged into one")
	default:
	}
}

func TestOpenVarsErrors(t *testing.T) {
	box := MustBox(t, 1)
	for name, sealed := range map[string][]byte{"erased": nil, "garbage": []byte("not sealed at all, not at all")} {
		if _, err := OpenVars(box, "id", sealed); err == nil {
			t.Errorf("%s: openVars succeeded, want an error", name)
		} else if !strings.HasPrefix(err.Error(), "message: ") {
			t.Errorf("%s: error %q lacks the package prefix", name, err)
		}
	}
	bad, _ := box.Seal([]byte("[1,2]"), []byte("id"))
	if _, err := OpenVars(box, "id", bad); err == nil || errors.Is(err, secret.ErrOpen) {
		t.Errorf("malformed vars: error = %v, want a malformed error", err)
	}
}
