package kannel_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/message/providers/kannel"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/secret"
	"github.com/ninsho/ninsho/internal/store"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// env is a real store with an outbox, the delivery reports and the DLR
// handler served by a real HTTP server (the callback base).
type env struct {
	db        *store.DB
	clock     *ninsho.ManualClock
	box       *secret.Box
	templates *message.Templates
	outbox    *message.Outbox
	tokens    message.CallbackTokens
	reports   *message.Reports
	hooks     *httptest.Server // serves /hooks/<name>/ like the server does

	mu   sync.Mutex
	dlrs []dlrCall // every call of the hook, in order
}

// dlrCall is one call of the DLR handler: its query and the answer.
type dlrCall struct {
	Query  string
	Status int
}

// recorder is a ResponseWriter that keeps the status.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

// calls returns the DLR calls so far.
func (e *env) calls() []dlrCall {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.dlrs)
}

const providerName = "kannel-jp"

func newEnv(tb testing.TB, open func(testing.TB) *store.DB) *env {
	tb.Helper()
	e := &env{db: open(tb), clock: ninsho.NewManualClock(storetest.Epoch)}
	var err error
	if e.box, err = secret.NewBox(ninsho.NewSeededRandom(7), bytes.Repeat([]byte{7}, 32)); err != nil {
		tb.Fatal(err)
	}
	if e.templates, err = message.DefaultTemplates(); err != nil {
		tb.Fatal(err)
	}
	h, err := secret.NewHasher(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		tb.Fatal(err)
	}
	e.tokens = message.CallbackTokens{Hasher: h}
	e.outbox = message.NewOutbox(e.db, e.box, e.templates, e.clock, ninsho.NewSeededRandom(1))
	e.reports = &message.Reports{Store: e.db, Clock: e.clock}
	mux := newHookMux(providerName, kannel.NewHandler(providerName, e.tokens, e.reports))
	e.hooks = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		mux.ServeHTTP(rec, r)
		e.mu.Lock()
		e.dlrs = append(e.dlrs, dlrCall{Query: r.URL.RawQuery, Status: rec.status})
		e.mu.Unlock()
	}))
	tb.Cleanup(e.hooks.Close)
	return e
}

// sender returns a Kannel sender to sendsmsURL whose dlr-url points at the
// env's hook server.
func (e *env) sender(tb testing.TB, sendsmsURL string) *kannel.Sender {
	tb.Helper()
	s, err := kannel.New(kannel.Config{
		Name: providerName, SendSMSURL: sendsmsURL, Username: "ninsho", Password: "s3cret-pw",
		From: "Ninsho", CallbackBase: e.hooks.URL, Tokens: e.tokens,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// dispatcher returns a dispatcher sending SMS through s.
func (e *env) dispatcher(tb testing.TB, s message.Sender) *message.Dispatcher {
	tb.Helper()
	d, err := message.NewDispatcher(message.DispatcherConfig{
		Store: e.db, Box: e.box, Templates: e.templates,
		Senders: map[message.Channel][]message.Sender{message.ChannelSMS: {s}},
		Clock:   e.clock, Random: ninsho.NewSeededRandom(2), Owner: "d1",
	})
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// vars are a Japanese sign-in code message's variables.
var vars = map[string]string{"code": "482913", "minutes": "10", "host": "id.example.com"}

// enqueue writes a Japanese sign-in code SMS to to and returns it with its
// rendered text.
func (e *env) enqueue(tb testing.TB, to string) (*message.Message, string) {
	tb.Helper()
	var m *message.Message
	err := e.db.InTx(context.Background(), func(ctx context.Context) error {
		var err error
		m, err = e.outbox.Enqueue(ctx, "jp", message.ChannelSMS, to, message.TemplateSigninCode, "ja", vars)
		return err
	})
	if err != nil {
		tb.Fatalf("enqueue: %v", err)
	}
	r, err := e.templates.Render(message.ChannelSMS, message.TemplateSigninCode, "ja", message.Brand{}, vars)
	if err != nil {
		tb.Fatal(err)
	}
	return m, r.Text
}

// delivery returns the stored delivery status of message id.
func (e *env) delivery(tb testing.TB, id string) message.DeliveryStatus {
	tb.Helper()
	d, err := e.db.Delivery(context.Background(), id)
	if err != nil {
		tb.Fatalf("Delivery(%s): %v", id, err)
	}
	return d.Status
}
