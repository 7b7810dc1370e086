package twilio_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/message/providers/twilio"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/secret"
	"github.com/ninsho/ninsho/internal/store"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

const (
	accountSID = "AC0123456789abcdef0123456789abcdef"
	authToken  = "tok-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
	fromNumber = "+815012345678"
	toNumber   = "+819012345678"
	code       = "482913"
)

// TestSignatureTwilioVector checks Signature against the worked example of
// Twilio's "Webhooks security" guide
// (https://www.twilio.com/docs/usage/security#validating-requests): auth
// token 12345, that address and those parameters sign to
// 0/KCTR6DLpKmkAf8muzZqo1nDgQ=.
func TestSignatureTwilioVector(t *testing.T) {
	form := url.Values{
		"To": {"+18005551212"}, "CallSid": {"CA1234567890ABCDE"}, "Digits": {"1234"},
		"From": {"+12349013030"}, "Caller": {"+12349013030"},
	}
	const address = "https://mycompany.com/myapp.php?foo=1&bar=2"
	if got := twilio.Signature("12345", address, form); got != "0/KCTR6DLpKmkAf8muzZqo1nDgQ=" {
		t.Errorf("Signature = %q, want Twilio's 0/KCTR6DLpKmkAf8muzZqo1nDgQ=", got)
	}
	form.Set("Digits", "1235")
	if got := twilio.Signature("12345", address, form); got == "0/KCTR6DLpKmkAf8muzZqo1nDgQ=" {
		t.Error("a changed parameter kept the signature")
	}
}

// fakeTwilio implements the documented endpoints Messages.json and
// Calls.json of one account: it checks the method, the path, Basic auth,
// the form and its required fields, honours I-Twilio-Idempotency-Token (a
// repeated token gets the first answer and sends nothing) and answers 201
// with a sid, unless fail says otherwise.
type fakeTwilio struct {
	t *testing.T

	mu    sync.Mutex
	fail  func(n int) (status int, body string) // n counts requests from 1; nil: accept
	reqs  []url.Values
	heads []http.Header
	paths []string
	sent  map[string]string // idempotency token → sid
	n     int
}

func (f *fakeTwilio) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	refuse := func(status, code int, msg string) {
		f.t.Errorf("fake twilio: %s %s: %s", r.Method, r.URL.Path, msg)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"code": %d, "message": %q, "status": %d}`, code, msg, status)
	}
	if r.Method != http.MethodPost {
		refuse(405, 20004, "method not allowed")
		return
	}
	prefix := "/2010-04-01/Accounts/" + accountSID + "/"
	kind := strings.TrimPrefix(r.URL.Path, prefix)
	if !strings.HasPrefix(r.URL.Path, prefix) || (kind != "Messages.json" && kind != "Calls.json") {
		refuse(404, 20404, "no such resource "+r.URL.Path)
		return
	}
	if u, p, ok := r.BasicAuth(); !ok || u != accountSID || p != authToken {
		refuse(401, 20003, "authenticate")
		return
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/x-www-form-urlencoded" {
		refuse(400, 20001, "content type "+ct)
		return
	}
	if err := r.ParseForm(); err != nil {
		refuse(400, 20001, "form: "+err.Error())
		return
	}
	required := []string{"To", "From", "StatusCallback"}
	if kind == "Messages.json" {
		required = append(required, "Body")
	} else {
		required = append(required, "Twiml")
	}
	for _, k := range required {
		if r.PostForm.Get(k) == "" {
			refuse(400, 21603, "missing "+k)
			return
		}
	}
	f.reqs = append(f.reqs, r.PostForm)
	f.heads = append(f.heads, r.Header.Clone())
	f.paths = append(f.paths, kind)
	if f.fail != nil {
		if status, body := f.fail(f.n); status != 0 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			fmt.Fprint(w, body)
			return
		}
	}
	token := r.Header.Get(twilio.IdempotencyHeader)
	sid, seen := f.sent[token]
	if !seen {
		prefix := "SM"
		if kind == "Calls.json" {
			prefix = "CA"
		}
		sid = fmt.Sprintf("%s%032d", prefix, len(f.sent)+1)
		if token != "" {
			f.sent[token] = sid
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]string{"sid": sid, "status": "queued", "account_sid": accountSID})
}

// request returns the i-th accepted request's form and headers.
func (f *fakeTwilio) request(i int) (url.Values, http.Header, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i >= len(f.reqs) {
		f.t.Fatalf("fake twilio got %d requests, want more than %d", len(f.reqs), i)
	}
	return f.reqs[i], f.heads[i], f.paths[i]
}

func (f *fakeTwilio) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.reqs)
}

// env is a real store with an outbox, the fake Twilio, Ninsho's hook
// server (whose address is the callback base) and a provider between them.
type env struct {
	t        *testing.T
	db       *store.DB
	clock    *ninsho.ManualClock
	outbox   *message.Outbox
	box      *secret.Box
	tpl      *message.Templates
	api      *fakeTwilio
	hooks    *httptest.Server
	provider *twilio.Provider
}

func newEnv(t *testing.T, open func(testing.TB) *store.DB) *env {
	t.Helper()
	e := &env{t: t, db: open(t), clock: ninsho.NewManualClock(storetest.Epoch)}
	var err error
	e.box, err = secret.NewBox(ninsho.NewSeededRandom(7), bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	if e.tpl, err = message.DefaultTemplates(); err != nil {
		t.Fatal(err)
	}
	e.outbox = message.NewOutbox(e.db, e.box, e.tpl, e.clock, ninsho.NewSeededRandom(1))
	e.api = &fakeTwilio{t: t, sent: map[string]string{}}
	apiSrv := httptest.NewServer(e.api)
	t.Cleanup(apiSrv.Close)
	mux := http.NewServeMux()
	e.hooks = httptest.NewServer(mux)
	t.Cleanup(e.hooks.Close)
	e.provider, err = twilio.New(twilio.Config{
		Name: "tw", BaseURL: apiSrv.URL, AccountSID: accountSID, AuthToken: authToken, From: fromNumber,
		CallbackBase: e.hooks.URL, Reports: &message.Reports{Store: e.db, Clock: e.clock},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/hooks/tw/", http.StripPrefix("/hooks/tw", e.provider.Handler()))
	return e
}

func (e *env) enqueue(ch message.Channel, locale string) *message.Message {
	e.t.Helper()
	var m *message.Message
	err := e.db.InTx(context.Background(), func(ctx context.Context) error {
		var err error
		m, err = e.outbox.Enqueue(ctx, "jp", ch, toNumber, message.TemplateSigninCode, locale,
			map[string]string{"code": code, "minutes": "10", "host": "id.example.com"})
		return err
	})
	if err != nil {
		e.t.Fatalf("enqueue: %v", err)
	}
	return m
}

func (e *env) dispatch() int {
	e.t.Helper()
	d, err := message.NewDispatcher(message.DispatcherConfig{
		Store: e.db, Box: e.box, Templates: e.tpl,
		Senders: map[message.Channel][]message.Sender{message.ChannelSMS: {e.provider}, message.ChannelVoice: {e.provider}},
		Clock:   e.clock, Random: ninsho.NewSeededRandom(2), Owner: "d1",
		Looks: func(string) message.Look { return message.Look{Brand: message.Brand{Name: `A&B <"株">`}} },
	})
	if err != nil {
		e.t.Fatal(err)
	}
	n, err := d.RunOnce(context.Background())
	if err != nil {
		e.t.Fatalf("RunOnce: %v", err)
	}
	return n
}

func (e *env) message(id string) *message.Message {
	e.t.Helper()
	m, err := e.db.Message(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

// callback POSTs form to address as Twilio would, signed with signer's
// token over signedAddress (normally address itself), and returns the
// answer's status.
func (e *env) callback(address, signedAddress, token string, form url.Values, tamper func(url.Values)) int {
	e.t.Helper()
	sig := twilio.Signature(token, signedAddress, form)
	if tamper != nil {
		form = cloneForm(form)
		tamper(form)
	}
	return e.post(address, form.Encode(), "application/x-www-form-urlencoded", sig)
}

func (e *env) post(address, body, contentType, sig string) int {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, address, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if sig != "" {
		req.Header.Set(twilio.SignatureHeader, sig)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func cloneForm(f url.Values) url.Values {
	c := url.Values{}
	for k, v := range f {
		c[k] = append([]string(nil), v...)
	}
	return c
}

func smsStatus(sid, status string) url.Values {
	return url.Values{
		"AccountSid": {accountSID}, "MessageSid": {sid}, "SmsSid": {sid}, "MessageStatus": {status},
		"SmsStatus": {status}, "To": {toNumber}, "From": {fromNumber}, "ApiVersion": {"2010-04-01"},
	}
}

func callStatus(sid, status string) url.Values {
	return url.Values{
		"AccountSid": {accountSID}, "CallSid": {sid}, "CallStatus": {status}, "To": {toNumber},
		"From": {fromNumber}, "Direction": {"outbound-api"}, "ApiVersion": {"2010-04-01"},
	}
}

func TestContract(t *testing.T) {
	storetest.EachDatabase(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		t.Run("sms: request, signed callbacks, forged and replayed ones", func(t *testing.T) {
			e := newEnv(t, open)
			m := e.enqueue(message.ChannelSMS, "ja")
			if n := e.dispatch(); n != 1 {
				t.Fatalf("dispatched %d, want 1", n)
			}
			form, head, kind := e.api.request(0)
			cb := e.hooks.URL + "/hooks/tw/status?m=" + url.QueryEscape(m.ID)
			if kind != "Messages.json" || form.Get("To") != toNumber || form.Get("From") != fromNumber ||
				!strings.Contains(form.Get("Body"), "#"+code) || form.Get("StatusCallback") != cb ||
				head.Get(twilio.IdempotencyHeader) != m.ID {
				t.Fatalf("request %s: form %v, idempotency %q; want the SMS with callback %s and token %s",
					kind, form, head.Get(twilio.IdempotencyHeader), cb, m.ID)
			}
			got := e.message(m.ID)
			if got.Status != message.StatusSent || got.Delivery != message.DeliverySent || got.Provider != "tw" ||
				!strings.HasPrefix(got.ProviderMessageID, "SM") {
				t.Fatalf("after send: %+v", got)
			}
			sid := got.ProviderMessageID
			sentAt := got.DeliveryUpdatedAt

			// Forgeries while the message is only sent: nothing changes.
			e.clock.Advance(time.Second)
			forged := []struct {
				name string
				code int
				do   func() int
			}{
				{"wrong token", 403, func() int { return e.callback(cb, cb, "not-the-token", smsStatus(sid, "undelivered"), nil) }},
				{"no signature", 403, func() int {
					return e.post(cb, smsStatus(sid, "undelivered").Encode(), "application/x-www-form-urlencoded", "")
				}},
				{"status changed after signing", 403, func() int {
					return e.callback(cb, cb, authToken, smsStatus(sid, "sent"), func(f url.Values) { f.Set("MessageStatus", "undelivered") })
				}},
				{"parameter added after signing", 403, func() int {
					return e.callback(cb, cb, authToken, smsStatus(sid, "sent"), func(f url.Values) { f.Set("ErrorCode", "30003") })
				}},
				{"signed for another message", 403, func() int {
					other := e.hooks.URL + "/hooks/tw/status?m=other"
					return e.callback(cb, other, authToken, smsStatus(sid, "undelivered"), nil)
				}},
				{"signed for the request's host, not the callback address", 403, func() int {
					hostURL := strings.Replace(cb, "127.0.0.1", "localhost", 1)
					return e.callback(hostURL, hostURL, authToken, smsStatus(sid, "undelivered"), nil)
				}},
				{"another account", 403, func() int {
					f := smsStatus(sid, "undelivered")
					f.Set("AccountSid", "AC"+strings.Repeat("9", 32))
					return e.callback(cb, cb, authToken, f, nil)
				}},
			}
			for _, f := range forged {
				if c := f.do(); c != f.code {
					t.Errorf("%s: answer %d, want %d", f.name, c, f.code)
				}
				if g := e.message(m.ID); g.Delivery != message.DeliverySent || !g.DeliveryUpdatedAt.Equal(sentAt) {
					t.Fatalf("%s changed the message: %s at %v", f.name, g.Delivery, g.DeliveryUpdatedAt)
				}
			}

			// Twilio's own callbacks: sent (no change), then undelivered.
			sentForm := smsStatus(sid, "sent")
			if c := e.callback(cb, cb, authToken, sentForm, nil); c != http.StatusNoContent {
				t.Fatalf("signed sent: %d, want 204", c)
			}
			e.clock.Advance(time.Second)
			undelivered := smsStatus(sid, "undelivered")
			undelivered.Set("ErrorCode", "30003")
			if c := e.callback(cb, cb, authToken, undelivered, nil); c != http.StatusNoContent {
				t.Fatalf("signed undelivered: %d, want 204", c)
			}
			final := e.message(m.ID)
			if final.Delivery != message.DeliveryUndelivered || !final.DeliveryUpdatedAt.Equal(e.clock.Now()) {
				t.Fatalf("after undelivered: %s at %v, want undelivered at %v", final.Delivery, final.DeliveryUpdatedAt, e.clock.Now())
			}

			// Replays of earlier and later callbacks change nothing.
			e.clock.Advance(time.Second)
			for _, f := range []url.Values{sentForm, undelivered, smsStatus(sid, "delivered")} {
				if c := e.callback(cb, cb, authToken, f, nil); c != http.StatusNoContent {
					t.Errorf("replay %s: %d, want 204", f.Get("MessageStatus"), c)
				}
				if g := e.message(m.ID); g.Delivery != message.DeliveryUndelivered || !g.DeliveryUpdatedAt.Equal(final.DeliveryUpdatedAt) {
					t.Fatalf("replay %s changed the message: %s at %v", f.Get("MessageStatus"), g.Delivery, g.DeliveryUpdatedAt)
				}
			}
			if n := e.api.count(); n != 1 {
				t.Errorf("fake twilio saw %d sends, want 1", n)
			}
		})

		t.Run("voice: TwiML, call callbacks", func(t *testing.T) {
			e := newEnv(t, open)
			m := e.enqueue(message.ChannelVoice, "ja")
			if n := e.dispatch(); n != 1 {
				t.Fatalf("dispatched %d, want 1", n)
			}
			form, head, kind := e.api.request(0)
			twiml := form.Get("Twiml")
			spelled := strings.Join(strings.Split(code, ""), "、")
			if kind != "Calls.json" || head.Get(twilio.IdempotencyHeader) != m.ID ||
				!strings.HasPrefix(twiml, `<Response><Say language="ja-JP">`) || !strings.HasSuffix(twiml, `</Say></Response>`) ||
				strings.Count(twiml, spelled) != 2 || !strings.Contains(twiml, "A&amp;B &lt;&#34;株&#34;&gt;") ||
				strings.Contains(twiml, `<"株">`) || form.Get("Body") != "" {
				t.Fatalf("call request %s, token %q, Twiml %q", kind, head.Get(twilio.IdempotencyHeader), twiml)
			}
			if ev := form["StatusCallbackEvent"]; strings.Join(ev, " ") != "initiated ringing answered completed" {
				t.Errorf("StatusCallbackEvent = %v", ev)
			}
			sid := e.message(m.ID).ProviderMessageID
			cb := form.Get("StatusCallback")
			for _, st := range []string{"initiated", "ringing", "in-progress"} {
				if c := e.callback(cb, cb, authToken, callStatus(sid, st), nil); c != http.StatusNoContent {
					t.Fatalf("%s: %d", st, c)
				}
				if g := e.message(m.ID); g.Delivery != message.DeliverySent {
					t.Fatalf("after %s: %s, want sent", st, g.Delivery)
				}
			}
			e.clock.Advance(time.Minute)
			if c := e.callback(cb, cb, authToken, callStatus(sid, "completed"), nil); c != http.StatusNoContent {
				t.Fatalf("completed: %d", c)
			}
			if g := e.message(m.ID); g.Delivery != message.DeliveryDelivered || !g.DeliveryUpdatedAt.Equal(e.clock.Now()) {
				t.Fatalf("after completed: %s at %v, want delivered", g.Delivery, g.DeliveryUpdatedAt)
			}
			e.clock.Advance(time.Minute)
			if c := e.callback(cb, cb, authToken, callStatus(sid, "no-answer"), nil); c != http.StatusNoContent {
				t.Fatalf("late no-answer: %d", c)
			}
			if g := e.message(m.ID); g.Delivery != message.DeliveryDelivered {
				t.Fatalf("a late no-answer moved delivered to %s", g.Delivery)
			}
		})

		t.Run("400 21211 fails the message at once", func(t *testing.T) {
			e := newEnv(t, open)
			e.api.fail = func(int) (int, string) {
				return 400, `{"code": 21211, "message": "The 'To' number is not a valid phone number.", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}`
			}
			m := e.enqueue(message.ChannelSMS, "ja")
			if n := e.dispatch(); n != 0 {
				t.Fatalf("dispatched %d, want 0", n)
			}
			got := e.message(m.ID)
			if got.Status != message.StatusFailed || got.Delivery != message.DeliveryFailed || got.Attempts != 1 ||
				!strings.Contains(got.LastError, "21211") || strings.Contains(got.LastError, authToken) || strings.Contains(got.LastError, code) {
				t.Errorf("after 400: status %s, delivery %s, attempts %d, error %q", got.Status, got.Delivery, got.Attempts, got.LastError)
			}
		})

		t.Run("500 and 401 are retried with the same idempotency token", func(t *testing.T) {
			e := newEnv(t, open)
			e.api.fail = func(n int) (int, string) {
				switch n {
				case 1:
					return 500, `{"code": 20500, "message": "Internal Server Error", "status": 500}`
				case 2:
					return 401, `{"code": 20003, "message": "Authenticate", "status": 401}`
				}
				return 0, ""
			}
			m := e.enqueue(message.ChannelSMS, "en")
			for round, want := range []string{"HTTP 500, Twilio error 20500", "HTTP 401, Twilio error 20003"} {
				if n := e.dispatch(); n != 0 {
					t.Fatalf("round %d dispatched %d, want 0", round+1, n)
				}
				got := e.message(m.ID)
				if got.Status != message.StatusPending || got.Attempts != round+1 || !strings.Contains(got.LastError, want) ||
					strings.Contains(got.LastError, authToken) || strings.Contains(got.LastError, code) {
					t.Fatalf("round %d: status %s, attempts %d, error %q; want pending with %q", round+1, got.Status, got.Attempts, got.LastError, want)
				}
				e.clock.Set(got.NextAttemptAt)
			}
			if n := e.dispatch(); n != 1 {
				t.Fatalf("round 3 dispatched %d, want 1", n)
			}
			for i := range 3 {
				if _, h, _ := e.api.request(i); h.Get(twilio.IdempotencyHeader) != m.ID {
					t.Errorf("request %d token %q, want %s", i+1, h.Get(twilio.IdempotencyHeader), m.ID)
				}
			}
			as, err := e.db.Attempts(context.Background(), m.ID)
			if err != nil || len(as) != 3 || as[0].OK || as[1].OK || !as[2].OK {
				t.Errorf("attempts = %+v, %v; want failed, failed, ok", as, err)
			}
		})

		t.Run("malformed callbacks are refused with 4xx", func(t *testing.T) {
			e := newEnv(t, open)
			m := e.enqueue(message.ChannelSMS, "ja")
			e.dispatch()
			cb := e.provider.CallbackURL(m.ID)
			sig := twilio.Signature(authToken, cb, smsStatus("SMx", "delivered"))
			for _, c := range []struct {
				name, address, body, ct string
				want                    int
			}{
				{"bad percent-encoding", cb, "MessageStatus=%zz", "application/x-www-form-urlencoded", 400},
				{"JSON", cb, `{"MessageStatus":"delivered"}`, "application/json", 400},
				{"no m", e.hooks.URL + "/hooks/tw/status", smsStatus("SMx", "delivered").Encode(), "application/x-www-form-urlencoded", 400},
				{"no status", cb, url.Values{"AccountSid": {accountSID}}.Encode(), "application/x-www-form-urlencoded", 403},
				{"too large", cb, "Body=" + strings.Repeat("x", 70<<10), "application/x-www-form-urlencoded", 400},
				{"another path", e.hooks.URL + "/hooks/tw/other?m=" + m.ID, "", "application/x-www-form-urlencoded", 404},
			} {
				if got := e.post(c.address, c.body, c.ct, sig); got != c.want {
					t.Errorf("%s: %d, want %d", c.name, got, c.want)
				}
			}
			f := url.Values{"AccountSid": {accountSID}}
			if got := e.callback(cb, cb, authToken, f, nil); got != http.StatusBadRequest {
				t.Errorf("signed, without a status: %d, want 400", got)
			}
			res, err := http.Get(cb)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("GET: %d, want 405", res.StatusCode)
			}
			f = smsStatus(e.message(m.ID).ProviderMessageID, "teleported")
			if got := e.callback(cb, cb, authToken, f, nil); got != http.StatusNoContent {
				t.Errorf("unknown status: %d, want 204", got)
			}
			if g := e.message(m.ID); g.Delivery != message.DeliverySent {
				t.Errorf("malformed callbacks moved the message to %s", g.Delivery)
			}
		})
	})
}

func TestTimeoutIsTemporary(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // answers only after the client gave up
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	p, err := twilio.New(twilio.Config{BaseURL: srv.URL, AccountSID: accountSID, AuthToken: authToken, From: fromNumber, Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Send(context.Background(), &message.Outgoing{ID: "m1", Channel: message.ChannelSMS, To: toNumber, Text: "code " + code})
	if err == nil || message.IsPermanent(err) || strings.Contains(err.Error(), authToken) || strings.Contains(err.Error(), code) {
		t.Errorf("Send to a silent server = %v, want a temporary error without secrets", err)
	}
}

func TestTwiML(t *testing.T) {
	for _, c := range []struct{ locale, text, want string }{
		{"ja", "コードは、1、2、です。", `<Response><Say language="ja-JP">コードは、1、2、です。</Say></Response>`},
		{"en", `Tom & "Jerry" <b>`, `<Response><Say language="en-US">Tom &amp; &#34;Jerry&#34; &lt;b&gt;</Say></Response>`},
		{"fr", "x", `<Response><Say language="ja-JP">x</Say></Response>`},
	} {
		if got := twilio.TwiML(c.locale, c.text); got != c.want {
			t.Errorf("TwiML(%q, %q) = %q, want %q", c.locale, c.text, got, c.want)
		}
	}
}

func TestNew(t *testing.T) {
	ok := twilio.Config{AccountSID: accountSID, AuthToken: authToken, From: fromNumber}
	for _, c := range []struct {
		name string
		edit func(*twilio.Config)
		want string // "" : accepted
	}{
		{"defaults", func(*twilio.Config) {}, ""},
		{"loopback http", func(c *twilio.Config) { c.BaseURL = "http://127.0.0.1:8080" }, ""},
		{"plain http elsewhere", func(c *twilio.Config) { c.BaseURL = "http://sms.example.com" }, "must be https"},
		{"a path", func(c *twilio.Config) { c.BaseURL = "https://sms.example.com/api" }, "not an address"},
		{"no account", func(c *twilio.Config) { c.AccountSID = "" }, "account_sid"},
		{"no token", func(c *twilio.Config) { c.AuthToken = "" }, "auth_token"},
		{"no from", func(c *twilio.Config) { c.From = "" }, "from"},
	} {
		cfg := ok
		c.edit(&cfg)
		_, err := twilio.New(cfg)
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: New = %v, want %q", c.name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), authToken) {
			t.Errorf("%s: error shows the token", c.name)
		}
	}
	p, _ := twilio.New(ok)
	if _, err := p.Send(context.Background(), &message.Outgoing{ID: "m", Channel: message.ChannelEmail}); !message.IsPermanent(err) {
		t.Errorf("e-mail: %v, want a permanent error", err)
	}
	if p.CallbackURL("m") != "" {
		t.Error("a callback address without a callback base")
	}
}
