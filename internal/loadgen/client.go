package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// NewClient returns the load generator's HTTP client: HTTP/1.1 with
// keep-alive, no limit on connections and up to idle idle connections kept
// per host, so that every worker reuses its own connection.
//
// Every request looks like a person's browser at its own address: it carries
// a browser User-Agent and an X-Forwarded-For address drawn from 10.0.0.0/8
// (the server under test trusts 127.0.0.1 as its proxy), so that the risk
// engine's per-address limits and automation signs treat the load as many
// people rather than one robot.
func NewClient(idle int, timeout time.Duration) *http.Client {
	return NewClientFrom(idle, timeout, 0)
}

// NewClientFrom is NewClient with the client addresses counted on from
// first: the addresses 10.x.y.z stand for the number first+n of the n-th
// request. A benchmark with accounts of its own gives its clients another
// range, so that its load does not add to the per-address and per-network
// counters of the other benchmarks' clients (and the other way round).
func NewClientFrom(idle int, timeout time.Duration, first uint32) *http.Client {
	t := &peopleTransport{base: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        idle,
		MaxIdleConnsPerHost: idle,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}}
	t.n.Store(first)
	return &http.Client{Timeout: timeout, Transport: t}
}

// BrowserUA is the User-Agent the load generator sends.
const BrowserUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0 Safari/537.36"

// peopleTransport sets a browser User-Agent and a spread client address on
// every request that has none.
type peopleTransport struct {
	base     http.RoundTripper
	n        atomic.Uint32
	noSpread bool // leave X-Forwarded-For out
}

func (t *peopleTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Header.Get("User-Agent") == "" || r.Header.Get("X-Forwarded-For") == "" && !t.noSpread {
		r = r.Clone(r.Context())
		if r.Header.Get("User-Agent") == "" {
			r.Header.Set("User-Agent", BrowserUA)
		}
		if r.Header.Get("X-Forwarded-For") == "" && !t.noSpread {
			n := t.n.Add(1)
			r.Header.Set("X-Forwarded-For", fmt.Sprintf("10.%d.%d.%d", byte(n>>16), byte(n>>8), byte(n)))
		}
	}
	return t.base.RoundTrip(r)
}

// Account is a seeded account: how to sign in as it, the device it signed up
// from and the session its sign-up opened.
type Account struct {
	Identifier   string
	Password     string
	DeviceToken  string
	SessionToken string
}

// Reply is what one request got: the status, whether a 503 carried
// Retry-After, and the decoded flow for flow endpoints.
type Reply struct {
	Status     int
	RetryAfter bool
	Flow       *Flow
	Problem    string // the code of an application/problem+json answer

	contentType string
}

// Flow is the part of the flow JSON the benchmarks read.
type Flow struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	DeviceToken string `json:"device_token"`
	Session     *struct {
		Token string `json:"token"`
	} `json:"session"`
	Errors []struct {
		Code string `json:"code"`
	} `json:"errors"`
	Next *struct {
		Step         string   `json:"step"`
		Method       string   `json:"method"`
		Alternatives []string `json:"alternatives"`
	} `json:"next"`
}

// At reports whether the flow waits at step (of next.step).
func (f *Flow) At(step string) bool { return f != nil && f.Next != nil && f.Next.Step == step }

// API calls the JSON API of one server with one client.
type API struct {
	Client *http.Client
	URL    string // base URL
}

// Signin posts a password sign-in. A status other than 200 is a Reply, not
// an error; errors are transport failures.
func (a *API) Signin(ctx context.Context, identifier, password, deviceToken string) (Reply, error) {
	return a.postFlow(ctx, "/api/v1/signin", map[string]string{
		"identifier": identifier, "password": password, "device_token": deviceToken,
	})
}

// Get requests path with the bearer token (if not "") and reads the whole
// body. It is the request of the session-check benchmark, sent alike to the
// server and to the bare handler.
func (a *API) Get(ctx context.Context, path, token string) (Reply, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.URL+path, nil)
	if err != nil {
		return Reply{}, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := a.Client.Do(req)
	if err != nil {
		return Reply{}, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return Reply{}, err
	}
	return ReplyOf(resp), nil
}

// Act posts an action to the flow id: {"action": action} and the fields.
func (a *API) Act(ctx context.Context, id, action string, fields map[string]any) (Reply, error) {
	body := map[string]any{"action": action}
	for k, v := range fields {
		body[k] = v
	}
	return a.postFlow(ctx, "/api/v1/flows/"+id, body)
}

func (a *API) postFlow(ctx context.Context, path string, body any) (Reply, error) {
	r, data, err := a.Post(ctx, path, "", body)
	if err != nil {
		return r, err
	}
	r.Decode(data)
	return r, nil
}

// Post sends body as JSON to path, with the bearer token if not "", and
// returns the status and the whole answer.
func (a *API) Post(ctx context.Context, path, token string, body any) (Reply, []byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return Reply{}, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.URL+path, bytes.NewReader(b))
	if err != nil {
		return Reply{}, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := a.Client.Do(req)
	if err != nil {
		return Reply{}, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return Reply{}, nil, err
	}
	r := ReplyOf(resp)
	r.contentType = resp.Header.Get("Content-Type")
	return r, data, nil
}

// Decode reads a flow or a problem document from the answer's body.
func (r *Reply) Decode(data []byte) {
	switch ct := r.contentType; {
	case strings.HasPrefix(ct, "application/json"):
		var f Flow
		if json.Unmarshal(data, &f) == nil && f.ID != "" {
			r.Flow = &f
		}
	case strings.HasPrefix(ct, "application/problem+json"):
		var p struct {
			Code string `json:"code"`
		}
		if json.Unmarshal(data, &p) == nil {
			r.Problem = p.Code
		}
	}
}

// ReplyOf reads the status of resp and whether a 503 carries Retry-After.
func ReplyOf(resp *http.Response) Reply {
	return Reply{
		Status:     resp.StatusCode,
		RetryAfter: resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "",
	}
}

// ErrorCodes lists the error codes of the flow answer, for messages.
func (r Reply) ErrorCodes() string {
	codes := []string{r.Problem}
	if r.Flow != nil {
		for _, e := range r.Flow.Errors {
			codes = append(codes, e.Code)
		}
	}
	return strings.TrimSpace(strings.Join(codes, " "))
}

// SignedIn reports whether r is a completed sign-in with a session.
func (r Reply) SignedIn() bool {
	return r.Status == http.StatusOK && r.Flow != nil && r.Flow.Status == "complete" &&
		r.Flow.Session != nil && r.Flow.Session.Token != ""
}

// Signup creates the account of identifier and completes it with the code
// from the development inbox.
func (a *API) Signup(ctx context.Context, identifier, password, name string) (Account, error) {
	acc := Account{Identifier: identifier, Password: password}
	var r Reply
	var err error
	// A machine busy with other work can keep a sign-up's hash waiting
	// longer than the limiter lets it: 503 with Retry-After, before the
	// account is written. Seeding then tries again (from another address)
	// rather than failing the run.
	for try := 0; ; try++ {
		r, err = a.postFlow(ctx, "/api/v1/signup", map[string]string{
			"identifier": identifier, "password": password, "name": name, "locale": "en",
		})
		if err != nil {
			return acc, err
		}
		if !r.RetryAfter || try == seedRetries {
			break
		}
		select {
		case <-ctx.Done():
			return acc, ctx.Err()
		case <-time.After(time.Duration(100+50*try) * time.Millisecond):
		}
	}
	if r.Status != http.StatusCreated || r.Flow == nil {
		return acc, fmt.Errorf("loadgen: sign-up of %s: status %d %s", identifier, r.Status, r.ErrorCodes())
	}
	acc.DeviceToken = r.Flow.DeviceToken
	code, err := a.inboxCode(ctx, identifier)
	if err != nil {
		return acc, err
	}
	r, err = a.postFlow(ctx, "/api/v1/flows/"+r.Flow.ID, map[string]string{
		"action": "submit_code", "code": code, "device_token": acc.DeviceToken,
	})
	if err != nil {
		return acc, err
	}
	if !r.SignedIn() {
		return acc, fmt.Errorf("loadgen: confirming the sign-up of %s: status %d %s", identifier, r.Status, r.ErrorCodes())
	}
	acc.SessionToken = r.Flow.Session.Token
	return acc, nil
}

// seedRetries is how many times Signup tries again after 503 with
// Retry-After.
const seedRetries = 20

// inboxCode polls the development inbox for the newest code sent to to;
// delivery is asynchronous.
func (a *API) inboxCode(ctx context.Context, to string) (string, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.URL+"/dev/api/messages?to="+url.QueryEscape(to), nil)
		if err != nil {
			return "", err
		}
		resp, err := a.Client.Do(req)
		if err != nil {
			return "", err
		}
		var inbox struct {
			Messages []struct {
				Code string `json:"code"`
			} `json:"messages"`
		}
		err = json.NewDecoder(resp.Body).Decode(&inbox)
		resp.Body.Close()
		if err == nil && len(inbox.Messages) > 0 && inbox.Messages[0].Code != "" {
			return inbox.Messages[0].Code, nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("loadgen: no code for %s in the development inbox", to)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Seed signs up n accounts named prefix0000@example.com … with workers
// sign-ups at a time and returns them in order. Their passwords differ and
// hold nothing of the identifier or the name (the policy refuses that).
func (a *API) Seed(ctx context.Context, prefix string, n, workers int) ([]Account, error) {
	accs := make([]Account, n)
	err := ForEach(n, workers, func(i int) error {
		var err error
		accs[i], err = a.Signup(ctx, SeedIdentifier(prefix, i), SeedPassword(prefix, i), "Bench Account")
		return err
	})
	if err != nil {
		return nil, err
	}
	return accs, nil
}

// SeedIdentifier is the identifier of the i-th account Seed creates.
func SeedIdentifier(prefix string, i int) string { return fmt.Sprintf("%s%04d@example.com", prefix, i) }

// SeedPassword is the password of the i-th account Seed creates.
func SeedPassword(prefix string, i int) string {
	return fmt.Sprintf("Momiji-%x-Tsukiyo-%x", len(prefix), 7919*i+104729)
}

// ForEach calls f(0) … f(n-1), workers at a time, and returns the first
// error in the order of i.
func ForEach(n, workers int, f func(i int) error) error {
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				errs[i] = f(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
