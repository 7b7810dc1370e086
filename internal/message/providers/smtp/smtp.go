// Package smtp is the e-mail provider: it delivers rendered messages to an
// SMTP relay as UTF-8 multipart mail (plain text and HTML alternatives), with
// the outbox id in the Message-ID header so that a send retried after a crash
// can be recognised as the same message.
package smtp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	gomail "github.com/wneessen/go-mail"

	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// TLS modes.
const (
	TLSNone     = "none"     // plain connection; refused together with a password
	TLSStartTLS = "starttls" // STARTTLS is required (default)
	TLSImplicit = "tls"      // TLS from the first byte (SMTPS)
)

// Config configures a Sender.
type Config struct {
	// Name identifies the provider in attempts, health and metrics (default
	// "smtp"). Give each relay of a fail-over list its own name.
	Name string
	Host string
	// Port defaults by TLS mode: 587 for starttls, 465 for tls, 25 for none.
	Port     int
	Username string // empty: no authentication
	Password string
	// From is the sender: a bare address ("no-reply@example.com") or one
	// with a display name ("Example <no-reply@example.com>"). The address is
	// always this one; the display name is the realm's name
	// (message.Outgoing.FromName) when the message has one, and this name
	// only for a message without one.
	From string
	// TLS is "none", "starttls" (default) or "tls".
	TLS string
	// TLSConfig, if set, replaces the default TLS configuration (system
	// roots, server name Host), for example to trust a private CA.
	TLSConfig *tls.Config
	// Timeout bounds connecting and each SMTP command (default 10s). The
	// context passed to Send bounds the dial as well.
	Timeout time.Duration
	// Clock stamps the Date header (default ninsho.SystemClock).
	Clock ninsho.Clock
}

// Sender delivers e-mail through one SMTP relay. It opens a connection per
// message and is safe for concurrent use.
type Sender struct {
	name  string
	from  *mail.Address
	opts  []gomail.Option
	host  string
	port  int
	clock ninsho.Clock
}

var _ message.Sender = (*Sender)(nil)

// New checks cfg and returns a sender. It does not connect.
func New(cfg Config) (*Sender, error) {
	if cfg.Host == "" {
		return nil, errors.New("smtp: host is required")
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("smtp: from %q: %w", cfg.From, err)
	}
	if cfg.Name == "" {
		cfg.Name = "smtp"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = ninsho.SystemClock{}
	}
	if cfg.TLS == "" {
		cfg.TLS = TLSStartTLS
	}
	tlsConfig := &tls.Config{ServerName: cfg.Host, MinVersion: tls.VersionTLS12}
	if cfg.TLSConfig != nil {
		tlsConfig = cfg.TLSConfig.Clone()
		if tlsConfig.ServerName == "" {
			tlsConfig.ServerName = cfg.Host
		}
	}
	opts := []gomail.Option{gomail.WithTimeout(cfg.Timeout), gomail.WithTLSConfig(tlsConfig)}
	switch cfg.TLS {
	case TLSNone:
		if cfg.Password != "" {
			return nil, errors.New("smtp: refusing to send a password without TLS")
		}
		setPort(&cfg.Port, 25)
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case TLSStartTLS:
		setPort(&cfg.Port, 587)
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSImplicit:
		setPort(&cfg.Port, 465)
		opts = append(opts, gomail.WithSSL())
	default:
		return nil, fmt.Errorf("smtp: tls must be none, starttls or tls, not %q", cfg.TLS)
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, fmt.Errorf("smtp: port %d out of range", cfg.Port)
	}
	opts = append(opts, gomail.WithPort(cfg.Port))
	if cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(cfg.Username), gomail.WithPassword(cfg.Password))
	}
	return &Sender{name: cfg.Name, from: from, opts: opts, host: cfg.Host, port: cfg.Port, clock: cfg.Clock}, nil
}

func setPort(p *int, def int) {
	if *p == 0 {
		*p = def
	}
}

// Name returns the configured provider name.
func (s *Sender) Name() string { return s.name }

// Send delivers m, which must be an e-mail, and returns its Message-ID
// (without angle brackets), "<outbox id>@ninsho". A recipient or content
// refused with a 5xx reply is a permanent error (message.IsPermanent); so is
// a message on another channel or with a malformed address. Errors name the
// relay, never the credentials.
func (s *Sender) Send(ctx context.Context, m *message.Outgoing) (string, error) {
	if m.Channel != message.ChannelEmail {
		return "", message.Permanent(fmt.Errorf("smtp: cannot send %s messages", m.Channel))
	}
	enc := gomail.EncodingQP
	if !isASCII(m.Subject) || !isASCII(m.Text) || !isASCII(m.HTML) {
		enc = gomail.EncodingB64 // compact and conventional for Japanese mail
	}
	msg := gomail.NewMsg(gomail.WithCharset(gomail.CharsetUTF8), gomail.WithEncoding(enc), gomail.WithNoDefaultUserAgent())
	from := *s.from
	if name := strings.Join(strings.Fields(m.FromName), " "); name != "" {
		from.Name = name // one line: no header can be injected
	}
	msg.FromMailAddress(&from)
	if err := msg.To(m.To); err != nil {
		return "", message.Permanent(fmt.Errorf("smtp: recipient: %w", err))
	}
	id := m.ID + "@ninsho"
	msg.SetMessageIDWithValue(id)
	msg.SetDateWithValue(s.clock.Now())
	msg.Subject(m.Subject)
	msg.SetGenHeader("Auto-Submitted", "auto-generated") // RFC 3834: no auto-replies
	msg.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}

	c, err := gomail.NewClient(s.host, s.opts...)
	if err != nil {
		return "", fmt.Errorf("smtp: client for %s:%d: %w", s.host, s.port, err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		if msg.IsDelivered() {
			// The relay accepted the message; only the RSET or QUIT
			// after it failed. Sending again would duplicate it.
			return id, nil
		}
		err = fmt.Errorf("smtp: %s:%d: %w", s.host, s.port, err)
		if refused(err) {
			return "", message.Permanent(err)
		}
		return "", classify(err)
	}
	return id, nil
}

// classify names a temporary SMTP failure for the attempt log: a reply the
// relay gave (421 and 452 ask the sender to slow down) or, without one,
// what message.ClassOf finds (time-out, broken connection).
func classify(err error) error {
	var se *gomail.SendError
	if !errors.As(err, &se) || se.ErrorCode() == 0 {
		return err
	}
	switch se.ErrorCode() {
	case 421, 452:
		return message.Classify(message.ClassThrottled, err)
	}
	if message.ClassOf(err) == message.ClassOther {
		return message.Classify(message.ClassProvider, err)
	}
	return err
}

// refused reports whether the relay refused the recipient or the content
// with a permanent (5xx) reply.
func refused(err error) bool {
	var se *gomail.SendError
	if !errors.As(err, &se) {
		return false
	}
	switch se.Reason {
	case gomail.ErrSMTPRcptTo, gomail.ErrSMTPData, gomail.ErrSMTPDataClose:
		return se.ErrorCode() >= 500 && se.ErrorCode() < 600
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
