// Package webhook is the generic provider for e-mail, SMS and voice: Ninsho
// POSTs each rendered message as signed JSON to a gateway the operator runs,
// and the gateway reports what became of it with signed callbacks. The
// contract gateway authors implement is in docs/operations.md ("Webhook
// provider (for gateway authors)"); this package is its reference.
//
// Both directions carry the same two headers:
//
//	X-Ninsho-Timestamp: <unix seconds>
//	X-Ninsho-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//
// where body is the exact bytes of the request body.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/message/providers/hook"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// Header names.
const (
	HeaderTimestamp   = "X-Ninsho-Timestamp"
	HeaderSignature   = "X-Ninsho-Signature"
	HeaderIdempotency = "Idempotency-Key"
)

// maxAnswer bounds how much of a gateway's answer is read.
const maxAnswer = 64 << 10

// Sign returns the X-Ninsho-Signature value of body sent at timestamp (unix
// seconds, as written in X-Ninsho-Timestamp): "v1=" and the lower-case hex
// HMAC-SHA256 under secret of timestamp + "." + body.
func Sign(secret []byte, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(timestamp))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1=" + hex.EncodeToString(mac.Sum(nil))
}

// Request is the JSON body POSTed to the gateway for one message. The
// one-time code, if any, is only in Text (and HTML): there is no field of
// its own.
type Request struct {
	ID          string `json:"id"`      // outbox message id; also the Idempotency-Key
	Channel     string `json:"channel"` // "email", "sms" or "voice"
	To          string `json:"to"`      // e-mail address or E.164 number
	Locale      string `json:"locale"`  // "ja" or "en"
	Template    string `json:"template"`
	Subject     string `json:"subject,omitempty"`   // e-mail only
	Text        string `json:"text"`                // what to send, read out or show
	HTML        string `json:"html,omitempty"`      // e-mail only
	FromName    string `json:"from_name,omitempty"` // e-mail only, when the realm has a name
	CallbackURL string `json:"callback_url"`        // where to POST status callbacks
}

// Config configures a Sender.
type Config struct {
	// Name identifies the provider in attempts, metrics and its callback
	// address (default "webhook").
	Name string
	// URL is the gateway's address; http or https.
	URL string
	// Secret signs requests and authenticates callbacks; at least 16 bytes.
	Secret []byte
	// CallbackURL is sent in every request as callback_url: the address of
	// this provider's Handler (<base>/hooks/<name>/status).
	CallbackURL string
	// Client sends the requests (default: a client with Timeout). It must
	// not follow redirects; the default does not.
	Client *http.Client
	// Timeout bounds one request when Client is nil (default 10s); the
	// context passed to Send bounds it as well.
	Timeout time.Duration
	// Clock stamps X-Ninsho-Timestamp (default ninsho.SystemClock).
	Clock ninsho.Clock
}

// Sender posts messages to a gateway. It is safe for concurrent use.
type Sender struct {
	name     string
	url      string
	host     string
	secret   []byte
	callback string
	client   *http.Client
	clock    ninsho.Clock
}

var _ message.Sender = (*Sender)(nil)

// MinSecret is the shortest secret New accepts.
const MinSecret = 16

// New checks cfg and returns a sender. It does not connect.
func New(cfg Config) (*Sender, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("webhook: url must be an absolute http or https address")
	}
	if len(cfg.Secret) < MinSecret {
		return nil, fmt.Errorf("webhook: secret must be at least %d bytes", MinSecret)
	}
	if cfg.CallbackURL == "" {
		return nil, errors.New("webhook: callback url is required")
	}
	if cfg.Name == "" {
		cfg.Name = "webhook"
	}
	if cfg.Clock == nil {
		cfg.Clock = ninsho.SystemClock{}
	}
	if cfg.Client == nil {
		if cfg.Timeout <= 0 {
			cfg.Timeout = 10 * time.Second
		}
		cfg.Client = &http.Client{
			Timeout:       cfg.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return &Sender{
		name: cfg.Name, url: cfg.URL, host: u.Host, secret: bytes.Clone(cfg.Secret),
		callback: cfg.CallbackURL, client: cfg.Client, clock: cfg.Clock,
	}, nil
}

// Name returns the configured provider name.
func (s *Sender) Name() string { return s.name }

// Send POSTs m to the gateway as a signed Request with Idempotency-Key m.ID
// and returns the gateway's message id: the "id" of a 2xx answer's JSON
// body, or "" when the answer has none. A 4xx answer other than 408 and 429
// is a permanent error (message.IsPermanent); 408, 429, 5xx, any other
// answer, a timeout or a connection error is temporary, and the dispatcher
// tries again (with the same Idempotency-Key). Errors name the provider,
// the gateway's host and the status, never the secret, the body or the
// gateway's answer.
func (s *Sender) Send(ctx context.Context, m *message.Outgoing) (string, error) {
	req := Request{
		ID: m.ID, Channel: string(m.Channel), To: m.To, Locale: m.Locale, Template: m.Template,
		Text: m.Text, CallbackURL: s.callback,
	}
	if m.Channel == message.ChannelEmail {
		req.Subject, req.HTML, req.FromName = m.Subject, m.HTML, m.FromName
	}
	body, err := encode(req)
	if err != nil {
		return "", message.Permanent(fmt.Errorf("webhook %s: encode: %w", s.name, err))
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return "", message.Permanent(fmt.Errorf("webhook %s: request: %w", s.name, err))
	}
	ts := strconv.FormatInt(s.clock.Now().Unix(), 10)
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set(HeaderIdempotency, m.ID)
	hr.Header.Set(HeaderTimestamp, ts)
	hr.Header.Set(HeaderSignature, Sign(s.secret, ts, body))
	resp, err := s.client.Do(hr)
	if err != nil {
		return "", fmt.Errorf("webhook %s: POST %s: %w", s.name, s.host, hook.TransportCause(err))
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		var a struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(answer, &a) != nil {
			return "", nil // accepted; an answer without an id is allowed
		}
		return a.ID, nil
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests:
		return "", message.Classify(message.HTTPClass(code), fmt.Errorf("webhook %s: %s answered %d", s.name, s.host, code))
	case code >= 400 && code < 500:
		return "", message.Permanent(fmt.Errorf("webhook %s: %s refused the message with %d", s.name, s.host, code))
	default:
		return "", message.Classify(message.HTTPClass(code), fmt.Errorf("webhook %s: %s answered %d", s.name, s.host, code))
	}
}

// encode is json.Marshal without HTML escaping (so that "<" stays "<" in
// the signed bytes gateway authors see) and without a trailing newline.
func encode(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte{'\n'}), nil
}
