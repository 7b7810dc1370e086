package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/message/providers/webhook"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/secret"
	"github.com/ninsho/ninsho/internal/store"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// callbackEnv is a real store with an outbox, a dispatcher sending through
// the webhook provider "gw" to a test gateway, and Ninsho's side of the
// callbacks served as the server mounts it (/hooks/gw/).
type callbackEnv struct {
	db      *store.DB
	clock   *ninsho.ManualClock
	outbox  *message.Outbox
	disp    *message.Dispatcher
	gateway *gateway
	hooks   *httptest.Server
}

func newCallbackEnv(t *testing.T, open func(testing.TB) *store.DB) *callbackEnv {
	t.Helper()
	e := &callbackEnv{db: open(t), clock: ninsho.NewManualClock(storetest.Epoch)}
	box, err := secret.NewBox(ninsho.NewSeededRandom(7), bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	templates, err := message.DefaultTemplates()
	if err != nil {
		t.Fatal(err)
	}
	h, err := webhook.NewHandler(webhook.HandlerConfig{Name: "gw", Secret: testSecret,
		Reports: &message.Reports{Store: e.db, Clock: e.clock}, Clock: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/hooks/gw/", http.StripPrefix("/hooks/gw", h))
	e.hooks = httptest.NewServer(mux)
	t.Cleanup(e.hooks.Close)
	var gw *httptest.Server
	e.gateway, gw = newGateway(t)
	s, err := webhook.New(webhook.Config{Name: "gw", URL: gw.URL, Secret: testSecret,
		CallbackURL: e.hooks.URL + "/hooks/gw/status", Clock: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	e.outbox = message.NewOutbox(e.db, box, templates, e.clock, ninsho.NewSeededRandom(1))
	e.disp, err = message.NewDispatcher(message.DispatcherConfig{
		Store: e.db, Box: box, Templates: templates, Clock: e.clock, Random: ninsho.NewSeededRandom(2), Owner: "d1",
		Senders: map[message.Channel][]message.Sender{message.ChannelSMS: {s}, message.ChannelEmail: {s}, message.ChannelVoice: {s}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// send enqueues an SMS and dispatches it; it returns the request the
// gateway received.
func (e *callbackEnv) send(t *testing.T, to string) gotRequest {
	t.Helper()
	var m *message.Message
	err := e.db.InTx(context.Background(), func(ctx context.Context) error {
		var err error
		m, err = e.outbox.Enqueue(ctx, "jp", message.ChannelSMS, to, message.TemplateSignupCode, "ja",
			map[string]string{"code": "482913", "name": "山田 太郎", "minutes": "10", "host": "id.example.com"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	before := len(e.gateway.requests())
	if n, err := e.disp.RunOnce(context.Background()); n != 1 || err != nil {
		t.Fatalf("RunOnce = %d, %v; want 1", n, err)
	}
	got := e.gateway.requests()
	if len(got) != before+1 || got[before].key != m.ID {
		t.Fatalf("gateway did not receive message %s", m.ID)
	}
	if !strings.Contains(got[before].body.Text, "482913") {
		t.Errorf("text %q does not carry the code", got[before].body.Text)
	}
	return got[before]
}

// signed is a callback the way a gateway sends it: body signed at ts.
type signed struct {
	body []byte
	ts   string
	sig  string
}

func sign(body string, at time.Time) signed {
	ts := strconv.FormatInt(at.Unix(), 10)
	return signed{body: []byte(body), ts: ts, sig: webhook.Sign(testSecret, ts, []byte(body))}
}

// post sends c to url and returns the status.
func post(t *testing.T, method, url string, c signed) int {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.ts != "" {
		req.Header.Set("X-Ninsho-Timestamp", c.ts)
	}
	if c.sig != "" {
		req.Header.Set("X-Ninsho-Signature", c.sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		// A refused signature is the callback's own code, not a person's
		// sign-in: signature_invalid, with no Bearer challenge.
		var p struct{ Code string }
		if err := json.NewDecoder(resp.Body).Decode(&p); err != nil || p.Code != "signature_invalid" || resp.Header.Get("WWW-Authenticate") != "" {
			t.Errorf("401 answer: code %q (%v), WWW-Authenticate %q; want signature_invalid and none", p.Code, err, resp.Header.Get("WWW-Authenticate"))
		}
	}
	return resp.StatusCode
}

func (e *callbackEnv) delivery(t *testing.T, id string) message.Delivery {
	t.Helper()
	d, err := e.db.Delivery(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestCallbacks(t *testing.T) {
	storetest.EachDatabase(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		e := newCallbackEnv(t, open)
		req := e.send(t, "+819012345678")
		id, cbURL := req.key, req.body.CallbackURL
		if cbURL != e.hooks.URL+"/hooks/gw/status" {
			t.Fatalf("callback_url %q", cbURL)
		}
		sentAt := e.clock.Now()
		if d := e.delivery(t, id); d.Status != message.DeliverySent {
			t.Fatalf("after sending: %s, want sent", d.Status)
		}
		// A genuine "sent" callback, kept to be replayed later; it changes
		// nothing now either (the message is sent already).
		e.clock.Advance(time.Second)
		sentCB := sign(`{"id":"`+id+`","status":"sent","provider_message_id":"gw-`+id+`"}`, e.clock.Now())
		if code := post(t, "POST", cbURL, sentCB); code != http.StatusNoContent {
			t.Fatalf("sent callback: %d, want 204", code)
		}

		e.clock.Advance(2 * time.Second)
		now := e.clock.Now()
		good := sign(`{"id":"`+id+`","status":"delivered","provider_message_id":"gw-`+id+`"}`, now)
		other := append(append([]byte(nil), good.body...), ' ')
		for _, tc := range []struct {
			name   string
			method string
			url    string
			cb     signed
			want   int
		}{
			{"no signature", "POST", cbURL, signed{body: good.body, ts: good.ts}, 401},
			{"no timestamp", "POST", cbURL, signed{body: good.body, sig: good.sig}, 401},
			{"wrong secret", "POST", cbURL, signed{body: good.body, ts: good.ts,
				sig: webhook.Sign([]byte("another-secret-0123456789"), good.ts, good.body)}, 401},
			{"signature not hex", "POST", cbURL, signed{body: good.body, ts: good.ts, sig: "v1=zz"}, 401},
			{"upper-case signature", "POST", cbURL, signed{body: good.body, ts: good.ts, sig: "v1=" + strings.ToUpper(good.sig[3:])}, 401},
			{"body changed after signing", "POST", cbURL, signed{body: bytes.Replace(good.body, []byte("delivered"), []byte("undelivered"), 1), ts: good.ts, sig: good.sig}, 401},
			{"body extended after signing", "POST", cbURL, signed{body: other, ts: good.ts, sig: good.sig}, 401},
			{"timestamp changed after signing", "POST", cbURL, signed{body: good.body, ts: strconv.FormatInt(now.Unix()+1, 10), sig: good.sig}, 401},
			{"stale", "POST", cbURL, sign(string(good.body), now.Add(-webhook.MaxSkew-time.Second)), 401},
			{"from the future", "POST", cbURL, sign(string(good.body), now.Add(webhook.MaxSkew+time.Second)), 401},
			{"not json", "POST", cbURL, sign(`id=`+id+`&status=delivered`, now), 400},
			{"two objects", "POST", cbURL, sign(`{"id":"`+id+`","status":"delivered"}{}`, now), 400},
			{"no id", "POST", cbURL, sign(`{"status":"delivered"}`, now), 400},
			{"unknown status", "POST", cbURL, sign(`{"id":"`+id+`","status":"read"}`, now), 400},
			{"queued", "POST", cbURL, sign(`{"id":"`+id+`","status":"queued"}`, now), 400},
			{"status not a string", "POST", cbURL, sign(`{"id":"`+id+`","status":2}`, now), 400},
			{"too large", "POST", cbURL, sign(`{"id":"`+id+`","status":"delivered","x":"`+strings.Repeat("a", webhook.MaxCallback)+`"}`, now), 413},
			{"GET", "GET", cbURL, good, 405},
			{"other path", "POST", e.hooks.URL + "/hooks/gw/other", good, 404},
		} {
			if code := post(t, tc.method, tc.url, tc.cb); code != tc.want {
				t.Errorf("%s: %d, want %d", tc.name, code, tc.want)
			}
			if d := e.delivery(t, id); d.Status != message.DeliverySent || !d.UpdatedAt.Equal(sentAt) {
				t.Fatalf("%s changed the message: %s at %v", tc.name, d.Status, d.UpdatedAt)
			}
		}

		// Accepted until the end of its window.
		e.clock.Advance(webhook.MaxSkew - time.Second) // a second before its window closes
		if code := post(t, "POST", cbURL, good); code != http.StatusNoContent {
			t.Fatalf("genuine callback: %d, want 204", code)
		}
		deliveredAt := e.clock.Now()
		if d := e.delivery(t, id); d.Status != message.DeliveryDelivered || !d.UpdatedAt.Equal(deliveredAt) {
			t.Fatalf("after the callback: %s at %v, want delivered at %v", d.Status, d.UpdatedAt, deliveredAt)
		}

		// Replays change nothing: the same callback within its window
		// (answered 204, as a gateway retrying a lost answer needs) or
		// after it (401), the earlier "sent" one, a late "undelivered".
		e.clock.Advance(time.Second)
		if code := post(t, "POST", cbURL, good); code != http.StatusNoContent {
			t.Fatalf("replay within the window: %d, want 204", code)
		}
		if d := e.delivery(t, id); d.Status != message.DeliveryDelivered || !d.UpdatedAt.Equal(deliveredAt) {
			t.Fatalf("the replay changed the message: %s at %v", d.Status, d.UpdatedAt)
		}
		e.clock.Advance(time.Minute)
		other2 := e.send(t, "+819011112222")
		for name, cb := range map[string]signed{
			"replayed delivered": good,
			"replayed sent":      sentCB,
			"late undelivered":   sign(`{"id":"`+id+`","status":"undelivered"}`, e.clock.Now()),
			"unknown message":    sign(`{"id":"01KBX4R6Y8ZB3F5T9W2N7QJ0HD","status":"delivered"}`, e.clock.Now()),
		} {
			want := http.StatusNoContent
			if strings.HasPrefix(name, "replayed") {
				want = http.StatusUnauthorized // stale by now
			}
			if code := post(t, "POST", cbURL, cb); code != want {
				t.Errorf("%s: %d, want %d", name, code, want)
			}
			if d := e.delivery(t, id); d.Status != message.DeliveryDelivered || !d.UpdatedAt.Equal(deliveredAt) {
				t.Fatalf("%s changed the message: %s at %v", name, d.Status, d.UpdatedAt)
			}
		}
		if d := e.delivery(t, other2.key); d.Status != message.DeliverySent {
			t.Errorf("the other message is %s, want sent", d.Status)
		}
		// The other message's own report moves it.
		if code := post(t, "POST", cbURL, sign(`{"id":"`+other2.key+`","status":"undelivered"}`, e.clock.Now())); code != 204 {
			t.Fatalf("undelivered callback: %d", code)
		}
		if d := e.delivery(t, other2.key); d.Status != message.DeliveryUndelivered {
			t.Errorf("the other message is %s, want undelivered", d.Status)
		}
	})
}
