package devinbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/message/providers/devinbox"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/store"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// faultyStore is the real store with a switch that makes it fail.
type faultyStore struct {
	*store.DB
	err error
}

var _ devinbox.Store = (*faultyStore)(nil)

func newStore(tb testing.TB) *faultyStore { return &faultyStore{DB: storetest.MustOpenSQLite(tb)} }

func (s *faultyStore) SaveDevMessage(ctx context.Context, m *devinbox.Message) error {
	if s.err != nil {
		return s.err
	}
	return s.DB.SaveDevMessage(ctx, m)
}

func (s *faultyStore) DevMessages(ctx context.Context, to string, limit int) ([]*devinbox.Message, error) {
	if s.err != nil {
		return nil, s.err
	}
	return s.DB.DevMessages(ctx, to, limit)
}

// all returns every stored message, newest first.
func (s *faultyStore) all(tb testing.TB) []*devinbox.Message {
	tb.Helper()
	ms, err := s.DB.DevMessages(context.Background(), "", 1000)
	if err != nil {
		tb.Fatal(err)
	}
	return ms
}

var t0 = time.Date(2026, 11, 25, 1, 2, 3, 0, time.UTC)

func outgoing(id string, ch message.Channel, to, code string) *message.Outgoing {
	o := &message.Outgoing{
		ID: id, Realm: "jp", Channel: ch, To: to, Locale: "ja", Template: message.TemplateSignupCode,
		Text: "確認コード：" + code, Code: code,
	}
	if ch == message.ChannelEmail {
		o.Subject = "【Ninsho】確認コード <b>"
		o.HTML = `<p onclick="x()">確認コード ` + code + `</p>`
	}
	return o
}

// mustSend saves the messages through a Sender, one second apart.
func mustSend(tb testing.TB, s *faultyStore, ms ...*message.Outgoing) {
	tb.Helper()
	clock := ninsho.NewManualClock(t0)
	snd := devinbox.NewSender(s, clock)
	for _, m := range ms {
		id, err := snd.Send(context.Background(), m)
		if err != nil || id != m.ID {
			tb.Fatalf("Send = %q, %v; want %q, nil", id, err, m.ID)
		}
		clock.Advance(time.Second)
	}
}

func TestSender(t *testing.T) {
	s := newStore(t)
	snd := devinbox.NewSender(s, ninsho.NewManualClock(t0))
	if snd.Name() != "devinbox" {
		t.Errorf("Name() = %q, want devinbox", snd.Name())
	}
	m := outgoing("m1", message.ChannelEmail, "taro@example.com", "123456")
	mustSend(t, s, m, m) // a retried send keeps one message
	stored := s.all(t)
	if len(stored) != 1 {
		t.Fatalf("store holds %d messages, want 1", len(stored))
	}
	got := stored[0]
	want := &devinbox.Message{ID: "m1", Realm: "jp", Channel: "email", To: "taro@example.com", Locale: "ja",
		Template: "signup_code", Subject: m.Subject, Text: m.Text, HTML: m.HTML, Code: "123456", CreatedAt: t0}
	if *got != *want {
		t.Errorf("saved %+v, want %+v", got, want)
	}

	s.err = errors.New("store: down")
	if _, err := snd.Send(context.Background(), m); err == nil || !strings.HasPrefix(err.Error(), "devinbox: save: ") {
		t.Errorf("Send error = %v, want a devinbox: save error", err)
	}
}

func TestAPIMessages(t *testing.T) {
	s := newStore(t)
	mustSend(t, s,
		outgoing("m1", message.ChannelEmail, "taro@example.com", "111111"),
		outgoing("m2", message.ChannelSMS, "+819012345678", "222222"),
		outgoing("m3", message.ChannelEmail, "taro@example.com", "333333"),
	)
	h := devinbox.NewHandler(s)
	tests := []struct {
		query   string
		wantIDs []string
	}{
		{"", []string{"m3", "m2", "m1"}},
		{"?to=taro@example.com", []string{"m3", "m1"}},
		{"?to=%2B819012345678", []string{"m2"}},
		{"?to=nobody@example.com", []string{}},
		{"?limit=1", []string{"m3"}},
		{"?limit=junk", []string{"m3", "m2", "m1"}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/dev/api/messages"+tt.query, nil))
			if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json; charset=utf-8" ||
				rec.Header().Get("Cache-Control") != "no-store" {
				t.Fatalf("status %d, headers %v", rec.Code, rec.Header())
			}
			var body struct {
				Messages []map[string]any `json:"messages"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if body.Messages == nil {
				t.Fatalf("messages is null, want an array: %s", rec.Body)
			}
			ids := []string{}
			for _, m := range body.Messages {
				ids = append(ids, m["id"].(string))
			}
			if !slices.Equal(ids, tt.wantIDs) {
				t.Errorf("ids = %v, want %v", ids, tt.wantIDs)
			}
		})
	}

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/dev/api/messages?to=%2B819012345678", nil))
	want := `{"messages":[{"id":"m2","realm":"jp","channel":"sms","to":"+819012345678","subject":"","body":"確認コード：222222","template":"signup_code","locale":"ja","code":"222222","created_at":"2026-11-25T01:02:04Z"}]}` + "\n"
	if rec.Body.String() != want {
		t.Errorf("body =\n%s\nwant\n%s", rec.Body, want)
	}
}

func TestInboxPage(t *testing.T) {
	s := newStore(t)
	mustSend(t, s,
		outgoing("m1", message.ChannelEmail, "taro@example.com", "111111"),
		outgoing("m2", message.ChannelSMS, "+819012345678", "222222"),
	)
	h := devinbox.NewHandler(s)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", `/dev/inbox?to=taro@example.com`, nil))
	body := rec.Body.String()
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("status %d, headers %v", rec.Code, rec.Header())
	}
	for _, want := range []string{
		`value="taro@example.com"`,
		`<span class="code">111111</span>`,
		`【Ninsho】確認コード &lt;b&gt;`,                                        // subject escaped
		`srcdoc="&lt;p onclick=&#34;x()&#34;&gt;確認コード 111111&lt;/p&gt;"`, // HTML body inert, in a sandbox
		`<iframe sandbox=""`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "222222") || strings.Contains(body, `<p onclick`) {
		t.Errorf("page shows another recipient's message or unescaped HTML:\n%s", body)
	}

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", `/dev/inbox?to=%22%3E%3Cscript%3E`, nil))
	if strings.Contains(rec.Body.String(), `"><script>`) || !strings.Contains(rec.Body.String(), "No messages") {
		t.Errorf("filter value not escaped or empty list not shown:\n%s", rec.Body)
	}
}

func TestHandlerErrors(t *testing.T) {
	s := newStore(t)
	s.err = errors.New("store: down")
	h := devinbox.NewHandler(s)
	for _, path := range []string{"/dev/api/messages", "/dev/inbox"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != 500 || strings.Contains(rec.Body.String(), "store: down") {
			t.Errorf("%s: status %d body %q, want a bare 500", path, rec.Code, rec.Body)
		}
	}
	var got error
	h.WriteError = func(w http.ResponseWriter, r *http.Request, err error) { got = err; w.WriteHeader(503) }
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/dev/api/messages", nil))
	if rec.Code != 503 || got == nil || got.Error() != "store: down" {
		t.Errorf("WriteError not used: status %d, err %v", rec.Code, got)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/dev/api/messages", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d, want 405", rec.Code)
	}
}

// TestAPIMessagesToNoText: an address that is no text (invalid UTF-8, a NUL)
// lists no message, on every database — PostgreSQL refuses such text in a
// query, which answered 500 (found from outside).
func TestAPIMessagesToNoText(t *testing.T) {
	storetest.EachDatabase(t, func(t *testing.T, open func(tb testing.TB) *store.DB) {
		h := devinbox.NewHandler(open(t))
		for _, q := range []string{"?to=%ff%fe", "?to=a%00b"} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/dev/api/messages"+q, nil))
			if rec.Code != 200 || rec.Body.String() != `{"messages":[]}`+"\n" {
				t.Errorf("GET /dev/api/messages%s: %d %q, want 200 and no message", q, rec.Code, rec.Body)
			}
		}
	})
}
