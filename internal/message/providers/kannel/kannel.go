// Package kannel is the SMS provider that speaks Kannel's smsbox HTTP
// sendsms interface, and the handler of the delivery reports Kannel sends
// back to the dlr-url it was given.
//
// A message goes out as one GET request to sendsms (Kannel's sendsms does
// not take form-encoded POST bodies) carrying username, password, from, to,
// text, charset=UTF-8, coding, dlr-mask and dlr-url. The recipient is the
// E.164 number as Ninsho stores it, with its leading "+"
// ("+819012345678"); rewriting it for an SMSC link (national form, no "+")
// is Kannel's job (its smsc group's number settings). Text that only uses
// plain GSM-7 characters goes with coding=0 (160 characters a segment);
// anything else, Japanese in particular, with coding=2 (UCS-2, 70 characters
// a segment), which Kannel converts from UTF-8.
//
// Kannel has no idempotency key: a dispatcher that crashes after Kannel
// accepted a message and before it recorded the acceptance sends it again
// on its next attempt, and Kannel delivers it twice.
package kannel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/message/providers/hook"
)

// DLRMask is the dlr-mask Ninsho asks for: delivered to the phone (1), not
// delivered to the phone (2), accepted by the SMSC (8) and rejected by the
// SMSC (16). Buffered at the SMSC (4) says nothing Ninsho shows, so it is
// not asked for.
const DLRMask = DLRDelivered | DLRUndelivered | DLRSubmitted | DLRRejected

// Kannel's delivery report types (the %d of a dlr-url).
const (
	DLRDelivered   = 1  // delivered to the phone
	DLRUndelivered = 2  // not delivered to the phone
	DLRBuffered    = 4  // queued at the SMSC
	DLRSubmitted   = 8  // accepted by the SMSC
	DLRRejected    = 16 // rejected by the SMSC
)

// Config configures a Sender.
type Config struct {
	// Name identifies the provider in attempts, metrics and its callback
	// address (default "kannel").
	Name string
	// SendSMSURL is smsbox's sendsms address, e.g.
	// "http://127.0.0.1:13013/cgi-bin/sendsms"; it must have no query.
	SendSMSURL string
	// Username and Password are a sendsms-user of Kannel's configuration.
	Username string
	Password string
	// From is the sender id or number shown on the handset ("" lets Kannel
	// use its global-sender).
	From string
	// SMSC routes every message to one smsc-id of bearerbox ("" lets Kannel
	// choose).
	SMSC string
	// CallbackBase is where Kannel reaches Ninsho, e.g.
	// "https://id.example.com"; the dlr-url of a message is CallbackBase +
	// "/hooks/" + Name + "/dlr?m=<outbox id>&t=<token>&type=%d". Empty: no
	// delivery reports are asked for.
	CallbackBase string
	// Tokens makes the callback tokens; required with CallbackBase.
	Tokens message.CallbackTokens
	// Client makes the requests (default a client with Timeout).
	Client *http.Client
	// Timeout bounds one request when Client is nil (default 10s); the
	// context passed to Send bounds it as well.
	Timeout time.Duration
}

// Sender sends SMS through Kannel. It is safe for concurrent use.
type Sender struct {
	cfg  Config
	base *url.URL
}

var _ message.Sender = (*Sender)(nil)

// New checks cfg and returns a sender. It does not connect.
func New(cfg Config) (*Sender, error) {
	if cfg.Name == "" {
		cfg.Name = "kannel"
	}
	u, err := url.Parse(cfg.SendSMSURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("kannel: sendsms_url %q must be an http or https address without a query", cfg.SendSMSURL)
	}
	if cfg.Username == "" || cfg.Password == "" {
		return nil, errors.New("kannel: username and password are required")
	}
	if cfg.CallbackBase != "" {
		cb, err := url.Parse(cfg.CallbackBase)
		if err != nil || (cb.Scheme != "http" && cb.Scheme != "https") || cb.Host == "" || cb.RawQuery != "" {
			return nil, fmt.Errorf("kannel: callback base %q must be an http or https address without a query", cfg.CallbackBase)
		}
		if cfg.Tokens.Hasher == nil {
			return nil, errors.New("kannel: callback tokens need a hasher")
		}
		cfg.CallbackBase = strings.TrimRight(cfg.CallbackBase, "/")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: cfg.Timeout}
	}
	return &Sender{cfg: cfg, base: u}, nil
}

// Name returns the configured provider name.
func (s *Sender) Name() string { return s.cfg.Name }

// DLRURL returns the dlr-url of message id: the callback address with the
// message id, its token and Kannel's %d escape for the report type.
func (s *Sender) DLRURL(id string) string {
	q := url.Values{"m": {id}, "t": {s.cfg.Tokens.Token(s.cfg.Name, id)}}
	// %d must reach Kannel as is: it is appended after encoding.
	return s.cfg.CallbackBase + "/hooks/" + url.PathEscape(s.cfg.Name) + "/dlr?" + q.Encode() + "&type=%d"
}

// Send hands m, which must be an SMS, to Kannel and returns the outbox id as
// the provider's message id (Kannel gives none). Kannel's 202 answers
// ("0: Accepted for delivery", "3: Queued for later delivery") are
// acceptance. A 400 answer (a recipient Kannel refuses, a missing field) is
// a permanent error (message.IsPermanent), as is a message on another
// channel; every other answer (403 for wrong credentials, 5xx) and every
// connection error is temporary. Errors name the sendsms host and Kannel's
// answer, never the credentials or the text.
func (s *Sender) Send(ctx context.Context, m *message.Outgoing) (string, error) {
	if m.Channel != message.ChannelSMS {
		return "", message.Permanent(fmt.Errorf("kannel: cannot send %s messages", m.Channel))
	}
	q := url.Values{
		"username": {s.cfg.Username},
		"password": {s.cfg.Password},
		"to":       {m.To},
		"text":     {m.Text},
		"charset":  {"UTF-8"},
		"coding":   {strconv.Itoa(Coding(m.Text))},
	}
	if s.cfg.From != "" {
		q.Set("from", s.cfg.From)
	}
	if s.cfg.SMSC != "" {
		q.Set("smsc", s.cfg.SMSC)
	}
	if s.cfg.CallbackBase != "" {
		q.Set("dlr-mask", strconv.Itoa(DLRMask))
		q.Set("dlr-url", s.DLRURL(m.ID))
	}
	u := *s.base
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", fmt.Errorf("kannel: sendsms at %s: %w", s.base.Host, err)
	}
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		// The address holds the password in its query: only the cause.
		return "", fmt.Errorf("kannel: sendsms at %s: %w", s.base.Host, hook.TransportCause(err))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	answer := strings.TrimSpace(string(body))
	switch {
	case resp.StatusCode == http.StatusAccepted || resp.StatusCode == http.StatusOK:
		return m.ID, nil
	case resp.StatusCode == http.StatusBadRequest:
		return "", message.Permanent(fmt.Errorf("kannel: sendsms at %s refused the message: %d %s", s.base.Host, resp.StatusCode, clip(answer)))
	}
	return "", message.Classify(message.HTTPClass(resp.StatusCode), fmt.Errorf("kannel: sendsms at %s answered %d %s", s.base.Host, resp.StatusCode, clip(answer)))
}

// clip keeps Kannel's answer short and on one line.
func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 120 {
		s = s[:120]
	}
	return strconv.Quote(s)
}

// Coding returns the coding Send asks Kannel for: 0 (GSM-7) when every
// character of text is a letter, digit, space, line break or punctuation
// that GSM-7's basic table and ASCII share, else 2 (UCS-2).
func Coding(text string) int {
	for _, r := range text {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune(" \n\r!\"#$%&'()*+,-./:;<=>?@_", r):
		default:
			return 2
		}
	}
	return 0
}
