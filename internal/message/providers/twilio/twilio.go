// Package twilio is the SMS and voice provider speaking Twilio's REST API
// (or a compatible one at another base URL): text messages through
// POST /2010-04-01/Accounts/{AccountSid}/Messages.json and voice calls
// reading the code with inline TwiML through .../Calls.json, both
// form-encoded with Basic auth. Each request names a StatusCallback on
// Ninsho (<callback base>/hooks/<name>/status?m=<outbox id>), whose handler
// (Provider.Handler) checks X-Twilio-Signature and records the delivery
// reports.
package twilio

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/message/providers/hook"
)

// DefaultBaseURL is Twilio's API address.
const DefaultBaseURL = "https://api.twilio.com"

// IdempotencyHeader carries the outbox id on every request: Twilio answers a
// repeated request with the same token with the first one's result instead
// of sending again, so that a retry after a lost answer or a crash cannot
// send twice.
const IdempotencyHeader = "I-Twilio-Idempotency-Token"

// StatusPath is the path of the status callback below the provider's hook
// (/hooks/<name>).
const StatusPath = "/status"

// maxAnswer bounds how much of an API answer is read.
const maxAnswer = 64 << 10

// Config configures a Provider.
type Config struct {
	// Name identifies the provider in attempts, metrics, delivery reports
	// and its callback address (default "twilio").
	Name string
	// BaseURL is the API's address without a path (default
	// DefaultBaseURL). It must be https, except on a loopback address.
	BaseURL    string
	AccountSID string
	// AuthToken is the Basic auth password of the API and the key of the
	// callbacks' signatures.
	AuthToken string
	// From is the sending number (E.164) or alphanumeric sender id (SMS).
	From string
	// CallbackBase is where Ninsho is reached from the provider (the
	// server's public_url); the status callback is CallbackBase +
	// "/hooks/" + Name + StatusPath + "?m=" + outbox id. Empty: requests
	// carry no StatusCallback.
	CallbackBase string
	// Reports records what the status callbacks report (Handler).
	Reports *message.Reports
	// Client sends the requests (default: a client with Timeout).
	Client *http.Client
	// Timeout bounds one request when Client is nil (default 10s); the
	// context given to Send bounds it as well.
	Timeout time.Duration
}

// Provider sends SMS and voice calls through the API and handles the status
// callbacks. It is safe for concurrent use.
type Provider struct {
	cfg      Config
	messages string // the Messages.json address
	calls    string // the Calls.json address
}

var _ message.Sender = (*Provider)(nil)

// New checks cfg and returns a provider. It does not connect.
func New(cfg Config) (*Provider, error) {
	if cfg.Name == "" {
		cfg.Name = "twilio"
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	switch {
	case cfg.AccountSID == "":
		return nil, errors.New("twilio: account_sid is required")
	case cfg.AuthToken == "":
		return nil, errors.New("twilio: auth_token is required")
	case cfg.From == "":
		return nil, errors.New("twilio: from is required")
	}
	base, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || base.Host == "" || (base.Path != "" && base.Path != "/") || base.RawQuery != "" {
		return nil, fmt.Errorf("twilio: base_url %q is not an address like https://api.twilio.com", cfg.BaseURL)
	}
	if base.Scheme != "https" && (base.Scheme != "http" || !loopback(base.Hostname())) {
		return nil, fmt.Errorf("twilio: base_url %q must be https (http only on a loopback address)", cfg.BaseURL)
	}
	if cfg.Client == nil {
		if cfg.Timeout <= 0 {
			cfg.Timeout = 10 * time.Second
		}
		cfg.Client = &http.Client{Timeout: cfg.Timeout}
	}
	cfg.CallbackBase = strings.TrimRight(cfg.CallbackBase, "/")
	account := base.Scheme + "://" + base.Host + "/2010-04-01/Accounts/" + url.PathEscape(cfg.AccountSID)
	return &Provider{cfg: cfg, messages: account + "/Messages.json", calls: account + "/Calls.json"}, nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Name returns the configured provider name.
func (p *Provider) Name() string { return p.cfg.Name }

// CallbackURL returns the status callback address of outbox message id, ""
// without a callback base. The handler checks signatures against exactly
// this address.
func (p *Provider) CallbackURL(id string) string {
	if p.cfg.CallbackBase == "" {
		return ""
	}
	return p.cfg.CallbackBase + "/hooks/" + p.cfg.Name + StatusPath + "?m=" + url.QueryEscape(id)
}

// Send delivers m, an SMS or a voice call, and returns the API's sid of the
// message or call. The request carries the outbox id as
// I-Twilio-Idempotency-Token. Answers:
//   - 2xx with a JSON "sid": accepted;
//   - 400 (a refused number, an unsubscribed recipient: Twilio error
//     21211, 21610, …): a permanent error (message.IsPermanent);
//   - anything else (401 and 403 from wrong credentials, 404, 429, 5xx, a
//     2xx without a sid, no answer): a temporary error, which counts
//     against the provider's breaker.
//
// A message on another channel is a permanent error. Errors name the
// provider, the HTTP status and Twilio's error code, never the auth token,
// the text or the code.
func (p *Provider) Send(ctx context.Context, m *message.Outgoing) (string, error) {
	form := url.Values{"To": {m.To}, "From": {p.cfg.From}}
	endpoint := p.messages
	switch m.Channel {
	case message.ChannelSMS:
		form.Set("Body", m.Text)
	case message.ChannelVoice:
		endpoint = p.calls
		form.Set("Twiml", TwiML(m.Locale, m.Text))
	default:
		return "", message.Permanent(fmt.Errorf("twilio %s: cannot send %s messages", p.cfg.Name, m.Channel))
	}
	if cb := p.CallbackURL(m.ID); cb != "" {
		form.Set("StatusCallback", cb)
		form.Set("StatusCallbackMethod", http.MethodPost)
		if m.Channel == message.ChannelVoice {
			form["StatusCallbackEvent"] = []string{"initiated", "ringing", "answered", "completed"}
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("twilio %s: request: %w", p.cfg.Name, err)
	}
	req.SetBasicAuth(p.cfg.AccountSID, p.cfg.AuthToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set(IdempotencyHeader, m.ID)
	res, err := p.cfg.Client.Do(req)
	if err != nil {
		// url.Error repeats the address, which holds no secret; the
		// credentials travel in a header, never in the address.
		return "", fmt.Errorf("twilio %s: %s: %w", p.cfg.Name, m.Channel, hook.TransportCause(err))
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer))
	if err != nil {
		return "", fmt.Errorf("twilio %s: %s: reading the answer (HTTP %d): %w", p.cfg.Name, m.Channel, res.StatusCode, err)
	}
	var ans struct {
		SID    string `json:"sid"`
		Status string `json:"status"`
		Code   int    `json:"code"`
	}
	_ = json.Unmarshal(body, &ans) // absent or malformed JSON leaves the fields empty
	switch {
	case res.StatusCode >= 200 && res.StatusCode < 300:
		if ans.SID == "" {
			return "", message.Classify(message.ClassProvider, fmt.Errorf("twilio %s: %s: HTTP %d without a sid", p.cfg.Name, m.Channel, res.StatusCode))
		}
		return ans.SID, nil
	case res.StatusCode == http.StatusBadRequest:
		return "", message.Permanent(apiError(p.cfg.Name, m.Channel, res.StatusCode, ans.Code))
	}
	return "", message.Classify(message.HTTPClass(res.StatusCode), apiError(p.cfg.Name, m.Channel, res.StatusCode, ans.Code))
}

func apiError(name string, ch message.Channel, status, code int) error {
	if code != 0 {
		return fmt.Errorf("twilio %s: %s refused: HTTP %d, Twilio error %d", name, ch, status, code)
	}
	return fmt.Errorf("twilio %s: %s refused: HTTP %d", name, ch, status)
}

// TwiML returns the call script that reads text in locale's voice
// (<Say language="ja-JP"> for Japanese, "en-US" for English), with text
// XML-escaped. The voice templates already read the code twice, digit by
// digit.
func TwiML(locale, text string) string {
	lang := "ja-JP"
	if message.Locale(locale) == message.LocaleEN {
		lang = "en-US"
	}
	var b bytes.Buffer
	b.WriteString(`<Response><Say language="` + lang + `">`)
	_ = xml.EscapeText(&b, []byte(text))
	b.WriteString(`</Say></Response>`)
	return b.String()
}
