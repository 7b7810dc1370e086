package kannel_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/message/providers/kannel"
	"github.com/ninsho/ninsho/internal/store"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// newHookMux mounts h as the server does: at /hooks/<name>/ with the
// prefix /hooks/<name> stripped.
func newHookMux(name string, h http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/hooks/"+name+"/", http.StripPrefix("/hooks/"+name, h))
	return mux
}

// sendsms is an HTTP server answering like Kannel's smsbox sendsms: it
// records every query and answers status with body.
type sendsms struct {
	*httptest.Server
	mu      sync.Mutex
	queries []url.Values
	methods []string
	status  int
	body    string
}

func newSendSMS(tb testing.TB, status int, body string) *sendsms {
	s := &sendsms{status: status, body: body}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if r.URL.Path != "/cgi-bin/sendsms" {
			http.NotFound(w, r)
			return
		}
		s.queries = append(s.queries, r.URL.Query())
		s.methods = append(s.methods, r.Method)
		w.WriteHeader(s.status)
		io.WriteString(w, s.body)
	}))
	tb.Cleanup(s.Close)
	return s
}

func (s *sendsms) url() string { return s.URL + "/cgi-bin/sendsms" }

func TestSendAsksKannelForUCS2AndDeliveryReports(t *testing.T) {
	e := newEnv(t, storetest.MustOpenSQLite)
	k := newSendSMS(t, http.StatusAccepted, "0: Accepted for delivery")
	s := e.sender(t, k.url())
	m, text := e.enqueue(t, "+819012345678")
	if n, err := e.dispatcher(t, s).RunOnce(context.Background()); err != nil || n != 1 {
		t.Fatalf("RunOnce = %d, %v; want 1 sent", n, err)
	}
	if len(k.queries) != 1 || k.methods[0] != http.MethodGet {
		t.Fatalf("sendsms got %d requests (%v), want one GET", len(k.queries), k.methods)
	}
	q := k.queries[0]
	want := map[string]string{
		"username": "ninsho", "password": "s3cret-pw", "from": "Ninsho", "to": "+819012345678",
		"text": text, "charset": "UTF-8", "coding": "2", "dlr-mask": "27",
		"dlr-url": e.hooks.URL + "/hooks/" + providerName + "/dlr?m=" + m.ID + "&t=" + e.tokens.Token(providerName, m.ID) + "&type=%d",
	}
	for k, v := range want {
		if got := q.Get(k); got != v {
			t.Errorf("sendsms %s = %q, want %q", k, got, v)
		}
	}
	if q.Has("smsc") {
		t.Errorf("sendsms smsc = %q, want none (not configured)", q.Get("smsc"))
	}
	got, err := e.db.Message(context.Background(), m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != message.StatusSent || got.Provider != providerName || got.ProviderMessageID != m.ID || got.Delivery != message.DeliverySent {
		t.Errorf("stored message = status %s provider %s id %s delivery %s; want sent by %s with id %s",
			got.Status, got.Provider, got.ProviderMessageID, got.Delivery, providerName, m.ID)
	}
}

func TestSendRoutesToSMSCAndUsesGSM7ForPlainText(t *testing.T) {
	k := newSendSMS(t, http.StatusAccepted, "3: Queued for later delivery")
	s, err := kannel.New(kannel.Config{SendSMSURL: k.url(), Username: "u", Password: "p", SMSC: "link2"})
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.Send(context.Background(), &message.Outgoing{ID: "m1", Channel: message.ChannelSMS, To: "+15551234567", Text: "Your code: 123456\n\n@id.example.com #123456"})
	if err != nil || id != "m1" {
		t.Fatalf("Send = %q, %v; want m1 (queued is accepted)", id, err)
	}
	q := k.queries[0]
	for k, v := range map[string]string{"smsc": "link2", "coding": "0", "charset": "UTF-8"} {
		if got := q.Get(k); got != v {
			t.Errorf("sendsms %s = %q, want %q", k, got, v)
		}
	}
	for _, k := range []string{"from", "dlr-mask", "dlr-url"} {
		if q.Has(k) {
			t.Errorf("sendsms has %s = %q, want none without a sender id or callback base", k, q.Get(k))
		}
	}
	if s.Name() != "kannel" {
		t.Errorf("Name = %q, want the default kannel", s.Name())
	}
}

func TestCoding(t *testing.T) {
	for text, want := range map[string]int{
		"Your code: 123456 @id.example.com #123456": 0,
		"ログイン確認コード：123456":                          2,
		"Price: £5":                                 2, // in GSM-7, but not in the shared subset
		"a{b}":                                      2, // GSM-7 extension table: two septets
		"":                                          0,
	} {
		if got := kannel.Coding(text); got != want {
			t.Errorf("Coding(%q) = %d, want %d", text, got, want)
		}
	}
}

func TestSendAnswers(t *testing.T) {
	closer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			c.Close()
		}
	}))
	defer closer.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String() + "/cgi-bin/sendsms"
	ln.Close()

	for _, tc := range []struct {
		name      string
		url       func(t *testing.T) string
		permanent bool
		contains  string
	}{
		{"recipient refused (400)", func(t *testing.T) string {
			return newSendSMS(t, 400, "Number(s) has/have been denied by white- and/or black-lists.").url()
		}, true, "denied"},
		{"wrong credentials (403)", func(t *testing.T) string { return newSendSMS(t, 403, "Authorization failed for sendsms").url() }, false, "403"},
		{"server error (503)", func(t *testing.T) string { return newSendSMS(t, 503, "Sending failed.").url() }, false, "503"},
		{"connection closed", func(t *testing.T) string { return closer.URL + "/cgi-bin/sendsms" }, false, "EOF"},
		{"connection refused", func(t *testing.T) string { return refused }, false, "refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := kannel.New(kannel.Config{SendSMSURL: tc.url(t), Username: "ninsho", Password: "s3cret-pw"})
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Send(context.Background(), &message.Outgoing{ID: "m1", Channel: message.ChannelSMS, To: "+819012345678", Text: "コード 482913"})
			if err == nil {
				t.Fatal("Send succeeded, want an error")
			}
			if got := message.IsPermanent(err); got != tc.permanent {
				t.Errorf("IsPermanent(%v) = %v, want %v", err, got, tc.permanent)
			}
			if msg := err.Error(); strings.Contains(msg, "s3cret-pw") || strings.Contains(msg, "482913") || !strings.Contains(msg, tc.contains) {
				t.Errorf("error %q: want %q in it and neither the password nor the text", msg, tc.contains)
			}
		})
	}
	t.Run("another channel", func(t *testing.T) {
		s, err := kannel.New(kannel.Config{SendSMSURL: refused, Username: "u", Password: "p"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Send(context.Background(), &message.Outgoing{ID: "m1", Channel: message.ChannelEmail, To: "a@example.com"}); !message.IsPermanent(err) {
			t.Errorf("Send(email) = %v, want a permanent error", err)
		}
	})
}

func TestNewRefusesBadConfig(t *testing.T) {
	for name, cfg := range map[string]kannel.Config{
		"no url":                {Username: "u", Password: "p"},
		"url with query":        {SendSMSURL: "http://k/cgi-bin/sendsms?username=u", Username: "u", Password: "p"},
		"ftp url":               {SendSMSURL: "ftp://k/sendsms", Username: "u", Password: "p"},
		"no password":           {SendSMSURL: "http://k/cgi-bin/sendsms", Username: "u"},
		"callback, no hasher":   {SendSMSURL: "http://k/cgi-bin/sendsms", Username: "u", Password: "p", CallbackBase: "https://id.example.com"},
		"callback not absolute": {SendSMSURL: "http://k/cgi-bin/sendsms", Username: "u", Password: "p", CallbackBase: "id.example.com"},
	} {
		if _, err := kannel.New(cfg); err == nil {
			t.Errorf("New(%s) succeeded, want an error", name)
		}
	}
}

func TestDeliveryReports(t *testing.T) {
	storetest.EachDatabase(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		e := newEnv(t, open)
		k := newSendSMS(t, http.StatusAccepted, "0: Accepted for delivery")
		d := e.dispatcher(t, e.sender(t, k.url()))
		m, _ := e.enqueue(t, "+819012345678")
		other, _ := e.enqueue(t, "+819087654321")
		if n, err := d.RunOnce(context.Background()); err != nil || n != 2 {
			t.Fatalf("RunOnce = %d, %v; want 2 sent", n, err)
		}
		token := e.tokens.Token(providerName, m.ID)
		base := e.hooks.URL + "/hooks/" + providerName
		get := func(method, path string) (int, string) {
			t.Helper()
			req, err := http.NewRequest(method, base+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.Header.Get("Content-Type") == "application/problem+json" {
				// Refusals are the catalogue's problem documents: their code.
				var p struct{ Code string }
				if err := json.Unmarshal(b, &p); err != nil {
					t.Fatalf("%s %s: problem document: %v", method, path, err)
				}
				return resp.StatusCode, "code:" + p.Code
			}
			return resp.StatusCode, strings.TrimSpace(string(b))
		}
		dlr := func(id, tok, typ string) string {
			return "/dlr?" + url.Values{"m": {id}, "t": {tok}, "type": {typ}}.Encode()
		}
		for _, tc := range []struct {
			name       string
			method     string
			path       string
			wantStatus int
			wantBody   string
			want       message.DeliveryStatus
		}{
			{"forged token", "GET", dlr(m.ID, "AAAAAAAAAAAAAAAAAAAAAAAA", "1"), 403, "code:forbidden", message.DeliverySent},
			{"missing token", "GET", "/dlr?m=" + m.ID + "&type=1", 403, "code:forbidden", message.DeliverySent},
			{"another message's token", "GET", dlr(m.ID, e.tokens.Token(providerName, other.ID), "1"), 403, "code:forbidden", message.DeliverySent},
			{"another provider's token", "GET", dlr(m.ID, e.tokens.Token("kannel-other", m.ID), "1"), 403, "code:forbidden", message.DeliverySent},
			{"missing message", "GET", "/dlr?t=" + token + "&type=1", 400, "code:request_invalid", message.DeliverySent},
			{"malformed query", "GET", "/dlr?m=" + m.ID + "&t=%zz&type=1", 400, "code:request_invalid", message.DeliverySent},
			{"type not a number", "GET", dlr(m.ID, token, "%d"), 400, "code:request_invalid", message.DeliverySent},
			{"unknown type", "GET", dlr(m.ID, token, "3"), 400, "code:request_invalid", message.DeliverySent},
			{"other path", "GET", "/status?m=" + m.ID, 404, "code:not_found", message.DeliverySent},
			{"other method", "DELETE", dlr(m.ID, token, "1"), 405, "code:method_not_allowed", message.DeliverySent},
			{"buffered is ignored", "GET", dlr(m.ID, token, "4"), 200, "ignored", message.DeliverySent},
			{"submitted to the SMSC", "GET", dlr(m.ID, token, "8"), 200, "ok", message.DeliverySent},
			{"delivered", "GET", dlr(m.ID, token, "1"), 200, "ok", message.DeliveryDelivered},
			{"replayed", "GET", dlr(m.ID, token, "1"), 200, "ok", message.DeliveryDelivered},
			{"late failure changes nothing", "POST", dlr(m.ID, token, "16"), 200, "ok", message.DeliveryDelivered},
		} {
			status, body := get(tc.method, tc.path)
			if status != tc.wantStatus || body != tc.wantBody {
				t.Errorf("%s: %s %s = %d %q, want %d %q", tc.name, tc.method, tc.path, status, body, tc.wantStatus, tc.wantBody)
			}
			if got := e.delivery(t, m.ID); got != tc.want {
				t.Errorf("%s: delivery = %s, want %s", tc.name, got, tc.want)
			}
		}
		if got := e.delivery(t, other.ID); got != message.DeliverySent {
			t.Errorf("the other message's delivery = %s, want sent (untouched)", got)
		}
		for typ, want := range map[string]message.DeliveryStatus{"2": message.DeliveryUndelivered, "16": message.DeliveryFailed} {
			n, _ := e.enqueue(t, "+819011112222")
			if _, err := d.RunOnce(context.Background()); err != nil {
				t.Fatal(err)
			}
			if status, _ := get("GET", dlr(n.ID, e.tokens.Token(providerName, n.ID), typ)); status != 200 {
				t.Fatalf("type %s: status %d, want 200", typ, status)
			}
			if got := e.delivery(t, n.ID); got != want {
				t.Errorf("type %s: delivery = %s, want %s", typ, got, want)
			}
		}
	})
}
