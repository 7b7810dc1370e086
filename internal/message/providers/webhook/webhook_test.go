package webhook_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/message/providers/webhook"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

var testSecret = []byte("test-secret-0123456789abcdef")

// gotRequest is one request the test gateway accepted after checking it.
type gotRequest struct {
	key    string
	ts     int64
	fields map[string]any
	body   webhook.Request
}

// gateway is an HTTP server implementing the gateway side of the documented
// contract: it checks method, headers, signature and schema and refuses
// (400, failing the test) a request that breaks the contract. answer
// chooses its reply to a good request.
type gateway struct {
	t      *testing.T
	secret []byte

	mu     sync.Mutex
	got    []gotRequest
	answer func(w http.ResponseWriter, r gotRequest)
}

// requestFields are the keys a request may have; the first six always.
var requestFields = []string{"id", "channel", "to", "locale", "template", "text", "callback_url", "subject", "html", "from_name"}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	bad := func(f string, a ...any) {
		g.t.Errorf("gateway: "+f, a...)
		http.Error(w, "contract broken", http.StatusBadRequest)
	}
	body, _ := io.ReadAll(r.Body)
	if r.Method != http.MethodPost {
		bad("method %s", r.Method)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		bad("content type %q", ct)
		return
	}
	ts := r.Header.Get("X-Ninsho-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		bad("timestamp %q", ts)
		return
	}
	// The recipe of the documentation, computed here on its own.
	mac := hmac.New(sha256.New, g.secret)
	mac.Write([]byte(ts + "." + string(body)))
	if want := "v1=" + hex.EncodeToString(mac.Sum(nil)); r.Header.Get("X-Ninsho-Signature") != want {
		bad("signature %q, want %q", r.Header.Get("X-Ninsho-Signature"), want)
		return
	}
	var fields map[string]any
	if err := json.Unmarshal(body, &fields); err != nil {
		bad("body: %v", err)
		return
	}
	for k, v := range fields {
		if !slices.Contains(requestFields, k) {
			bad("unknown field %q", k)
			return
		}
		if _, ok := v.(string); !ok {
			bad("field %q is not a string", k)
			return
		}
	}
	for _, k := range requestFields[:7] {
		if _, ok := fields[k]; !ok {
			bad("field %q missing", k)
			return
		}
	}
	var req webhook.Request
	_ = json.Unmarshal(body, &req)
	if key := r.Header.Get("Idempotency-Key"); key != req.ID {
		bad("Idempotency-Key %q, id %q", key, req.ID)
		return
	}
	got := gotRequest{key: req.ID, ts: sec, fields: fields, body: req}
	g.mu.Lock()
	g.got = append(g.got, got)
	answer := g.answer
	g.mu.Unlock()
	if answer == nil {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"gw-`+req.ID+`"}`)
		return
	}
	answer(w, got)
}

func (g *gateway) requests() []gotRequest {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.got)
}

func newGateway(t *testing.T) (*gateway, *httptest.Server) {
	g := &gateway{t: t, secret: testSecret}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return g, srv
}

func newSender(t *testing.T, url string, clock ninsho.Clock, timeout time.Duration) *webhook.Sender {
	t.Helper()
	s, err := webhook.New(webhook.Config{
		Name: "gw", URL: url, Secret: testSecret, CallbackURL: "https://id.example.com/hooks/gw/status",
		Clock: clock, Timeout: timeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSendFollowsTheContract(t *testing.T) {
	g, srv := newGateway(t)
	clock := ninsho.NewManualClock(storetest.Epoch)
	s := newSender(t, srv.URL+"/send?token=abc", clock, 0)
	mail := &message.Outgoing{
		ID: "01JDMAIL", Realm: "jp", Channel: message.ChannelEmail, To: "taro@example.jp", Locale: "ja",
		Template: "signup_code", Subject: "確認コード", Text: "コード 482913", HTML: "<p>コード <b>482913</b></p>",
		FromName: "山田商店", Code: "482913",
	}
	sms := &message.Outgoing{ID: "01JDSMS", Realm: "jp", Channel: message.ChannelSMS, To: "+819012345678", Locale: "en",
		Template: "signup_code", Text: "Your code 771204\n@id.example.com #771204", Code: "771204",
		Subject: "not for sms", HTML: "<p>not for sms</p>", FromName: "not for sms"}
	id, err := s.Send(context.Background(), mail)
	if err != nil || id != "gw-01JDMAIL" {
		t.Fatalf("Send(mail) = %q, %v; want gw-01JDMAIL", id, err)
	}
	clock.Advance(90 * time.Second)
	if id, err := s.Send(context.Background(), sms); err != nil || id != "gw-01JDSMS" {
		t.Fatalf("Send(sms) = %q, %v; want gw-01JDSMS", id, err)
	}
	got := g.requests()
	if len(got) != 2 {
		t.Fatalf("gateway got %d requests, want 2", len(got))
	}
	wantMail := map[string]any{
		"id": "01JDMAIL", "channel": "email", "to": "taro@example.jp", "locale": "ja", "template": "signup_code",
		"subject": "確認コード", "text": "コード 482913", "html": "<p>コード <b>482913</b></p>", "from_name": "山田商店",
		"callback_url": "https://id.example.com/hooks/gw/status",
	}
	wantSMS := map[string]any{
		"id": "01JDSMS", "channel": "sms", "to": "+819012345678", "locale": "en", "template": "signup_code",
		"text": "Your code 771204\n@id.example.com #771204", "callback_url": "https://id.example.com/hooks/gw/status",
	}
	for i, want := range []map[string]any{wantMail, wantSMS} {
		if !mapsEqual(got[i].fields, want) {
			t.Errorf("request %d = %v, want %v", i, got[i].fields, want)
		}
	}
	if got[0].ts != storetest.Epoch.Unix() || got[1].ts != storetest.Epoch.Unix()+90 {
		t.Errorf("timestamps %d, %d; want the clock's %d, %d", got[0].ts, got[1].ts, storetest.Epoch.Unix(), storetest.Epoch.Unix()+90)
	}
}

func mapsEqual(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestSendMapsAnswers(t *testing.T) {
	g, srv := newGateway(t)
	s := newSender(t, srv.URL, ninsho.SystemClock{}, 0)
	for _, tc := range []struct {
		status    int
		body      string
		wantID    string
		ok, perm  bool
		errSubstr string
	}{
		{200, `{"id":"abc-1"}`, "abc-1", true, false, ""},
		{202, ``, "", true, false, ""},
		{201, `not json`, "", true, false, ""},
		{204, ``, "", true, false, ""},
		{400, `{"error":"bad number"}`, "", false, true, "refused the message with 400"},
		{403, ``, "", false, true, "403"},
		{404, ``, "", false, true, "404"},
		{422, ``, "", false, true, "422"},
		{408, ``, "", false, false, "408"},
		{429, ``, "", false, false, "429"},
		{500, ``, "", false, false, "500"},
		{502, ``, "", false, false, "502"},
		{503, ``, "", false, false, "503"},
		{302, ``, "", false, false, "302"},
	} {
		g.mu.Lock()
		g.answer = func(w http.ResponseWriter, _ gotRequest) {
			if tc.status == 302 {
				w.Header().Set("Location", "/elsewhere")
			}
			w.WriteHeader(tc.status)
			io.WriteString(w, tc.body)
		}
		g.mu.Unlock()
		id, err := s.Send(context.Background(), &message.Outgoing{ID: "m" + strconv.Itoa(tc.status), Channel: message.ChannelSMS,
			To: "+819012345678", Locale: "ja", Template: "signup_code", Text: "コード 482913", Code: "482913"})
		switch {
		case tc.ok && (err != nil || id != tc.wantID):
			t.Errorf("%d: Send = %q, %v; want %q, nil", tc.status, id, err, tc.wantID)
		case !tc.ok && err == nil:
			t.Errorf("%d: Send succeeded, want an error", tc.status)
		case !tc.ok && message.IsPermanent(err) != tc.perm:
			t.Errorf("%d: permanent %v, want %v (%v)", tc.status, message.IsPermanent(err), tc.perm, err)
		case !tc.ok && !strings.Contains(err.Error(), tc.errSubstr):
			t.Errorf("%d: error %q does not say %q", tc.status, err, tc.errSubstr)
		}
		if err != nil {
			noSecrets(t, err.Error())
		}
	}
	if n := len(g.requests()); n != 14 {
		t.Errorf("gateway got %d requests, want 14 (no redirect followed)", n)
	}
}

// noSecrets fails if s holds the secret, the code or the message text.
func noSecrets(t *testing.T, s string) {
	t.Helper()
	for _, x := range []string{string(testSecret), "482913", "コード", "bad number"} {
		if strings.Contains(s, x) {
			t.Errorf("error %q contains %q", s, x)
		}
	}
}

func TestSendTemporaryFailures(t *testing.T) {
	out := &message.Outgoing{ID: "m1", Channel: message.ChannelVoice, To: "+819012345678", Locale: "ja", Template: "signup_code", Text: "コード 482913"}
	t.Run("timeout", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		t.Cleanup(srv.Close)
		t.Cleanup(func() { close(release) })
		s := newSender(t, srv.URL, ninsho.SystemClock{}, 100*time.Millisecond)
		_, err := s.Send(context.Background(), out)
		if err == nil || message.IsPermanent(err) {
			t.Fatalf("Send = %v; want a temporary error", err)
		}
		noSecrets(t, err.Error())
	})
	t.Run("connection closed", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				c.Close()
			}
		}))
		t.Cleanup(srv.Close)
		_, err := newSender(t, srv.URL, ninsho.SystemClock{}, 0).Send(context.Background(), out)
		if err == nil || message.IsPermanent(err) {
			t.Fatalf("Send = %v; want a temporary error", err)
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		_, err = newSender(t, "http://"+addr+"/?token=hunter2", ninsho.SystemClock{}, 0).Send(context.Background(), out)
		if err == nil || message.IsPermanent(err) {
			t.Fatalf("Send = %v; want a temporary error", err)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error %q shows the address's query", err)
		}
	})
}

func TestNewRefusesBadConfig(t *testing.T) {
	for name, cfg := range map[string]webhook.Config{
		"no url":       {Secret: testSecret, CallbackURL: "http://x/hooks/gw/status"},
		"relative url": {URL: "/send", Secret: testSecret, CallbackURL: "http://x/hooks/gw/status"},
		"ftp url":      {URL: "ftp://gw.example/", Secret: testSecret, CallbackURL: "http://x/hooks/gw/status"},
		"short secret": {URL: "https://gw.example/", Secret: []byte("short"), CallbackURL: "http://x/hooks/gw/status"},
		"no callback":  {URL: "https://gw.example/", Secret: testSecret},
	} {
		if _, err := webhook.New(cfg); err == nil {
			t.Errorf("%s: New succeeded", name)
		} else if strings.Contains(err.Error(), string(testSecret)) {
			t.Errorf("%s: error %q shows the secret", name, err)
		}
	}
}

// The worked example of docs/operations.md, computed here so that it is
// right, and the documentation must show it.
const (
	exampleSecret    = "whsec-3f9a1c7e52b84d06"
	exampleTimestamp = "1767225600"
	exampleBody      = `{"id":"01KBX4R6Y8ZB3F5T9W2N7QJ0HD","status":"delivered"}`
	exampleSignature = "v1=f7f9e205a57b5f287740166de29dc78f710856b7edbc716dab88f97dfeac85c7"
)

func TestSignatureExample(t *testing.T) {
	got := webhook.Sign([]byte(exampleSecret), exampleTimestamp, []byte(exampleBody))
	if got != exampleSignature {
		t.Fatalf("Sign = %s, want %s", got, exampleSignature)
	}
	doc, err := os.ReadFile("../../../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{exampleSecret, exampleTimestamp, exampleBody, exampleSignature} {
		if !bytes.Contains(doc, []byte(s)) {
			t.Errorf("docs/operations.md does not show %s", s)
		}
	}
}
