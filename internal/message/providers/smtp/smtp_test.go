package smtp

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// received is one message the test server accepted.
type received struct {
	user string
	from string
	to   []string
	data []byte
}

// backend is an in-process SMTP server's backend that keeps what it
// receives. rcptErr, when set, refuses every recipient.
type backend struct {
	user, pass string

	mu      sync.Mutex
	msgs    []received
	rcptErr error
}

func (b *backend) NewSession(*gosmtp.Conn) (gosmtp.Session, error) { return &session{b: b}, nil }

func (b *backend) received() []received {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]received(nil), b.msgs...)
}

type session struct {
	b   *backend
	cur received
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.b.user || pass != s.b.pass {
			return gosmtp.ErrAuthFailed
		}
		s.cur.user = user
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *gosmtp.MailOptions) error {
	if s.b.user != "" && s.cur.user == "" {
		return gosmtp.ErrAuthRequired
	}
	s.cur.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	s.b.mu.Lock()
	err := s.b.rcptErr
	s.b.mu.Unlock()
	if err != nil {
		return err
	}
	s.cur.to = append(s.cur.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = data
	s.b.mu.Lock()
	s.b.msgs = append(s.b.msgs, s.cur)
	s.b.mu.Unlock()
	s.cur = received{user: s.cur.user}
	return nil
}

func (s *session) Reset()        { s.cur = received{user: s.cur.user} }
func (s *session) Logout() error { return nil }

// mustCert returns a self-signed certificate for 127.0.0.1 and a pool that
// trusts it.
func mustCert(tb testing.TB) (tls.Certificate, *x509.CertPool) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "ninsho test smtp"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// mustServer starts an SMTP server on 127.0.0.1:0 in mode tlsMode and
// returns its port and a client TLS configuration that trusts it.
func mustServer(tb testing.TB, be *backend, tlsMode string) (int, *tls.Config) {
	tb.Helper()
	cert, pool := mustCert(tb)
	srv := gosmtp.NewServer(be)
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srvTLS := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	switch tlsMode {
	case TLSStartTLS:
		srv.TLSConfig = srvTLS
	case TLSImplicit:
		ln = tls.NewListener(ln, srvTLS)
	case TLSNone:
		srv.AllowInsecureAuth = true
	}
	go srv.Serve(ln)
	tb.Cleanup(func() { srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

var t0 = time.Date(2026, 11, 25, 1, 2, 3, 0, time.UTC)

func japaneseMail() *message.Outgoing {
	return &message.Outgoing{
		ID: "01936f5e-7a1b-7c2d-8e3f-4a5b6c7d8e9f", Realm: "jp", Channel: message.ChannelEmail,
		To: "taro@example.com", Locale: "ja", Template: message.TemplateSignupCode,
		Subject:  "【さくら商店】ご登録の確認コードのお知らせ",
		FromName: "さくら商店",
		Text:     "山田 太郎 様\n\n確認コード：123456\n",
		HTML:     "<!DOCTYPE html>\n<p>山田 太郎 様</p><p>確認コード <b>123456</b></p>\n",
		Code:     "123456",
	}
}

func englishMail() *message.Outgoing {
	return &message.Outgoing{
		ID: "01936f5e-7a1b-7c2d-8e3f-000000000002", Realm: "us", Channel: message.ChannelEmail,
		To: "jane@example.com", Locale: "en", Template: message.TemplateSignupCode,
		Subject: "Example Shop: your sign-up verification code",
		Text:    "Hello Jane,\n\nYour code: 654321\n",
		HTML:    "<p>Hello Jane,</p><p>Your code: <b>654321</b></p>\n",
		Code:    "654321",
	}
}

func TestSend(t *testing.T) {
	tests := []struct {
		name     string
		tls      string
		user     string
		m        *message.Outgoing
		wantEnc  string
		wantUser string
	}{
		{"Japanese over STARTTLS with a password", TLSStartTLS, "ninsho", japaneseMail(), "base64", "ninsho"},
		{"English over implicit TLS", TLSImplicit, "", englishMail(), "quoted-printable", ""},
		{"English without TLS", TLSNone, "", englishMail(), "quoted-printable", ""},
		{"a realm name with a line break and quotes", TLSNone, "", func() *message.Outgoing {
			m := englishMail()
			m.FromName = "Shop \"A\"\r\nBcc: eve@example.com"
			return m
		}(), "quoted-printable", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := &backend{user: tt.user, pass: "s3cret-pass"}
			port, clientTLS := mustServer(t, be, tt.tls)
			cfg := Config{
				Host: "127.0.0.1", Port: port, From: "Relay Default <no-reply@ninsho.example>",
				TLS: tt.tls, TLSConfig: clientTLS, Clock: ninsho.NewManualClock(t0),
			}
			if tt.user != "" {
				cfg.Username, cfg.Password = tt.user, be.pass
			}
			s, err := New(cfg)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			id, err := s.Send(context.Background(), tt.m)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if want := tt.m.ID + "@ninsho"; id != want {
				t.Errorf("provider id = %q, want %q", id, want)
			}
			got := be.received()
			if len(got) != 1 {
				t.Fatalf("server received %d messages, want 1", len(got))
			}
			r := got[0]
			if r.user != tt.wantUser || r.from != "no-reply@ninsho.example" || len(r.to) != 1 || r.to[0] != tt.m.To {
				t.Errorf("envelope: user %q, from %q, to %v", r.user, r.from, r.to)
			}
			checkMessage(t, r.data, tt.m, tt.wantEnc)
		})
	}
}

// checkMessage parses an RFC 5322 message and compares it with m.
func checkMessage(t *testing.T, data []byte, m *message.Outgoing, wantEnc string) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("ReadMessage: %v\n%s", err, data)
	}
	h := msg.Header
	// The realm's name wins over the name in smtp.from; a message without
	// one keeps smtp.from's. Line breaks never reach the header.
	wantName := "Relay Default"
	if m.FromName != "" {
		wantName = strings.Join(strings.Fields(m.FromName), " ")
	}
	from, err := mail.ParseAddress(h.Get("From"))
	if err != nil || from.Name != wantName || from.Address != "no-reply@ninsho.example" {
		t.Errorf("From = %q (%v), want %q <no-reply@ninsho.example>", h.Get("From"), err, wantName)
	}
	if h.Get("Bcc") != "" {
		t.Errorf("Bcc = %q: the sender name injected a header", h.Get("Bcc"))
	}
	if to, err := mail.ParseAddress(h.Get("To")); err != nil || to.Address != m.To {
		t.Errorf("To = %q, want %s", h.Get("To"), m.To)
	}
	rawSubject := h.Get("Subject")
	subject, err := new(mime.WordDecoder).DecodeHeader(rawSubject)
	if err != nil || subject != m.Subject {
		t.Errorf("Subject = %q decoded %q (%v), want %q", rawSubject, subject, err, m.Subject)
	}
	if !isASCII(rawSubject) || (!isASCII(m.Subject) && !strings.HasPrefix(strings.ToUpper(rawSubject), "=?UTF-8?")) {
		t.Errorf("raw Subject %q is not an RFC 2047 UTF-8 encoded word", rawSubject)
	}
	if got, want := h.Get("Message-ID"), "<"+m.ID+"@ninsho>"; got != want {
		t.Errorf("Message-ID = %q, want %q", got, want)
	}
	if d, err := h.Date(); err != nil || !d.Equal(t0) {
		t.Errorf("Date = %q, want %v", h.Get("Date"), t0)
	}
	if h.Get("Auto-Submitted") != "auto-generated" {
		t.Errorf("Auto-Submitted = %q, want auto-generated", h.Get("Auto-Submitted"))
	}
	mediaType, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mediaType != "multipart/alternative" {
		t.Fatalf("Content-Type = %q, want multipart/alternative", h.Get("Content-Type"))
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	parts := map[string]string{}
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ct, cparams, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if !strings.EqualFold(cparams["charset"], "UTF-8") {
			t.Errorf("%s part charset = %q, want UTF-8", ct, cparams["charset"])
		}
		enc := p.Header.Get("Content-Transfer-Encoding")
		if enc != wantEnc {
			t.Errorf("%s part encoding = %q, want %q", ct, enc, wantEnc)
		}
		var body io.Reader = p
		switch enc {
		case "base64":
			body = base64.NewDecoder(base64.StdEncoding, p)
		case "quoted-printable":
			body = quotedprintable.NewReader(p)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		parts[ct] = strings.ReplaceAll(string(b), "\r\n", "\n")
	}
	if parts["text/plain"] != m.Text {
		t.Errorf("text part = %q, want %q", parts["text/plain"], m.Text)
	}
	if parts["text/html"] != m.HTML {
		t.Errorf("html part = %q, want %q", parts["text/html"], m.HTML)
	}
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		name          string
		rcptErr       error
		password      string
		closed        bool
		m             *message.Outgoing
		wantPermanent bool
		wantErr       string
	}{
		{
			name:          "recipient refused",
			rcptErr:       &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no such user"},
			wantPermanent: true, wantErr: "no such user",
		},
		{
			name:    "recipient deferred",
			rcptErr: &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "try again later"},
			wantErr: "try again later",
		},
		{name: "wrong password", password: "wrong-pass", wantErr: "smtp: 127.0.0.1:"},
		{name: "relay down", closed: true, wantErr: "smtp: 127.0.0.1:"},
		{
			name: "not an e-mail", m: &message.Outgoing{ID: "x", Channel: message.ChannelSMS, To: "+819012345678"},
			wantPermanent: true, wantErr: "smtp: cannot send sms messages",
		},
		{
			name: "malformed recipient", m: &message.Outgoing{ID: "x", Channel: message.ChannelEmail, To: "not an address"},
			wantPermanent: true, wantErr: "smtp: recipient:",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := &backend{user: "ninsho", pass: "s3cret-pass", rcptErr: tt.rcptErr}
			port, clientTLS := mustServer(t, be, TLSStartTLS)
			if tt.closed {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				port = ln.Addr().(*net.TCPAddr).Port
				ln.Close()
			}
			password := be.pass
			if tt.password != "" {
				password = tt.password
			}
			s, err := New(Config{
				Host: "127.0.0.1", Port: port, From: "no-reply@ninsho.example", Username: "ninsho",
				Password: password, TLSConfig: clientTLS, Timeout: 5 * time.Second,
			})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			m := tt.m
			if m == nil {
				m = englishMail()
			}
			_, err = s.Send(context.Background(), m)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Send error = %v, want one containing %q", err, tt.wantErr)
			}
			if message.IsPermanent(err) != tt.wantPermanent {
				t.Errorf("IsPermanent(%v) = %v, want %v", err, !tt.wantPermanent, tt.wantPermanent)
			}
			if strings.Contains(err.Error(), password) || (m.Code != "" && strings.Contains(err.Error(), m.Code)) {
				t.Errorf("error %q reveals the password or the code", err)
			}
			if len(be.received()) != 0 {
				t.Errorf("server received a message")
			}
		})
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name     string
		cfg      Config
		wantErr  string
		wantName string
		wantPort int
	}{
		{"defaults", Config{Host: "mail.example", From: "a@example.com"}, "", "smtp", 587},
		{"tls port", Config{Host: "mail.example", From: "a@example.com", TLS: "tls", Name: "relay-2"}, "", "relay-2", 465},
		{"plain port", Config{Host: "mail.example", From: "a@example.com", TLS: "none"}, "", "smtp", 25},
		{"no host", Config{From: "a@example.com"}, "smtp: host is required", "", 0},
		{"bad from", Config{Host: "h", From: "Ninsho"}, `smtp: from "Ninsho"`, "", 0},
		{"bad tls", Config{Host: "h", From: "a@example.com", TLS: "ssl"}, `smtp: tls must be none, starttls or tls, not "ssl"`, "", 0},
		{"password in the clear", Config{Host: "h", From: "a@example.com", TLS: "none", Username: "u", Password: "p"}, "smtp: refusing to send a password without TLS", "", 0},
		{"bad port", Config{Host: "h", From: "a@example.com", Port: 70000}, "smtp: port 70000 out of range", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("New error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if s.Name() != tt.wantName || s.port != tt.wantPort {
				t.Errorf("name %q port %d, want %q %d", s.Name(), s.port, tt.wantName, tt.wantPort)
			}
		})
	}
}

func TestRefusedIgnoresOtherErrors(t *testing.T) {
	if refused(errors.New("550 looks permanent but is not a send error")) {
		t.Error("refused(plain error) = true")
	}
}
