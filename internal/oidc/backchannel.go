package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/grant"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/secret"
	"github.com/ninsho/ninsho/internal/signingkey"
)

// BackchannelLogoutEvent is the member of a logout token's events claim
// (OpenID Connect Back-Channel Logout 1.0 §2.4).
const BackchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// LogoutTokenType is the typ header of a logout token (§2.4).
const LogoutTokenType = "logout+jwt"

// Back-channel delivery limits.
const (
	// BackchannelTimeout bounds one delivery (connect, send, answer).
	BackchannelTimeout = 10 * time.Second
	// BackchannelInterval is how often Run sweeps and delivers.
	BackchannelInterval = 5 * time.Second
	// backchannelBatch is how many sessions a pass sweeps and how many
	// logouts it delivers, at most.
	backchannelBatch = 100
)

// Backchannel tells clients that a session they got tokens under ended
// (grant.LogoutStore's queue): it sweeps revoked sessions into the queue
// and delivers each logout token by POST to the client's back-channel
// logout URI, retrying with back-off (grant.LogoutRetryAfter) until
// grant.LogoutAttempts deliveries have been begun.
type Backchannel struct {
	Store   grant.LogoutStore
	Tx      ninsho.TxRunner
	Events  event.Store
	Clients Clients
	Keys    *signingkey.Service
	Realms  *realm.Registry
	Hasher  *secret.Hasher
	Clock   ninsho.Clock
	Random  ninsho.Random
	// Client posts the logout tokens; nil uses BackchannelClient.
	Client func(registered *url.URL) *http.Client
	Logger *slog.Logger
}

// Run sweeps and delivers every BackchannelInterval until ctx ends.
func (b *Backchannel) Run(ctx context.Context) {
	t := time.NewTicker(BackchannelInterval)
	defer t.Stop()
	for {
		if _, err := b.Pass(ctx); err != nil && ctx.Err() == nil && b.Logger != nil {
			b.Logger.Error("oidc back-channel logout", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Pass sweeps the sessions revoked since the last pass into the queue and
// begins every delivery due; it returns how many logout tokens were
// accepted.
func (b *Backchannel) Pass(ctx context.Context) (int, error) {
	if err := b.sweep(ctx); err != nil {
		return 0, err
	}
	due, err := b.Store.DueLogouts(ctx, b.Clock.Now(), backchannelBatch)
	if err != nil {
		return 0, err
	}
	sent := 0
	for _, l := range due {
		if ctx.Err() != nil {
			return sent, ctx.Err()
		}
		ok, err := b.deliver(ctx, l)
		if err != nil {
			return sent, err
		}
		if ok {
			sent++
		}
	}
	return sent, nil
}

func (b *Backchannel) sweep(ctx context.Context) error {
	ids, err := b.Store.RevokedUnswept(ctx, backchannelBatch)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := b.Tx.InTx(ctx, func(ctx context.Context) error {
			_, err := b.Store.SweepSession(ctx, id, b.Clock.Now())
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}

// deliver begins one delivery of l (unless another instance did) and
// reports whether the client accepted it.
func (b *Backchannel) deliver(ctx context.Context, l grant.Logout) (bool, error) {
	now := b.Clock.Now()
	claimed, err := b.Store.ClaimLogout(ctx, l, now.Add(grant.LogoutLease))
	if err != nil || !claimed {
		return false, err
	}
	l.Attempts++
	c, err := b.Clients.Get(ctx, l.Realm, l.ClientID)
	if ninsho.IsCode(err, ninsho.CodeNotFound) || (err == nil && c.BackchannelLogoutURI == "") {
		return false, b.finish(ctx, l, event.TypeOIDCBackchannelLogoutFailed, "client_gone")
	}
	if err != nil {
		return false, err
	}
	rl := b.Realms.ByID(l.Realm)
	if rl == nil {
		return false, b.finish(ctx, l, event.TypeOIDCBackchannelLogoutFailed, "realm_gone")
	}
	tok, err := b.LogoutToken(ctx, rl, l)
	if err == nil {
		err = b.post(ctx, c.BackchannelLogoutURI, tok)
	}
	if err == nil {
		return true, b.finish(ctx, l, event.TypeOIDCBackchannelLogoutSent, "")
	}
	if b.Logger != nil { // the URI and the error, never the token
		b.Logger.Warn("oidc back-channel logout not accepted", "client_id", l.ClientID,
			"attempts", l.Attempts, "err", err.Error())
	}
	if l.Attempts >= grant.LogoutAttempts {
		return false, b.finish(ctx, l, event.TypeOIDCBackchannelLogoutFailed, "not_accepted")
	}
	return false, b.Store.RetryLogout(ctx, l.SessionID, l.ClientID, b.Clock.Now().Add(grant.LogoutRetryAfter(l.Attempts)))
}

// finish deletes l and records typ.
func (b *Backchannel) finish(ctx context.Context, l grant.Logout, typ, reason string) error {
	return b.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := b.Store.DeleteLogout(ctx, l.SessionID, l.ClientID); err != nil {
			return err
		}
		if b.Events == nil {
			return nil
		}
		data := map[string]any{"client_id": l.ClientID, "attempts": l.Attempts}
		if reason != "" {
			data["reason"] = reason
		}
		return b.Events.AppendEvent(ctx, &event.Event{
			ID: ninsho.NewID(b.Clock, b.Random), Realm: l.Realm, AccountID: l.AccountID, Type: typ,
			Actor: "system", Data: data, At: b.Clock.Now(),
		})
	})
}

// LogoutToken signs the logout token of l with the realm's current key:
// iss, aud (the client id), iat, exp (grant.LogoutTokenLifetime later),
// jti, sub, sid and the back-channel logout event; no nonce.
func (b *Backchannel) LogoutToken(ctx context.Context, rl *realm.Realm, l grant.Logout) (string, error) {
	now := b.Clock.Now()
	sk, err := b.Keys.Signing(ctx, rl.ID, now)
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(sk.Key.Alg), Key: sk.JWK()},
		(&jose.SignerOptions{}).WithType(LogoutTokenType))
	if err != nil {
		return "", ninsho.Internal("oidc: logout token signer: %v", err)
	}
	claims, err := json.Marshal(map[string]any{
		"iss": Issuer(rl), "aud": l.ClientID, "iat": now.Unix(), "exp": now.Add(grant.LogoutTokenLifetime).Unix(),
		"jti": ninsho.NewID(b.Clock, b.Random), "sub": Subject(b.Hasher, rl.ID, l.AccountID), "sid": l.SessionID,
		"events": map[string]any{BackchannelLogoutEvent: map[string]any{}},
	})
	if err != nil {
		return "", ninsho.Internal("oidc: logout token claims: %v", err)
	}
	jws, err := signer.Sign(claims)
	if err != nil {
		return "", ninsho.Internal("oidc: sign logout token: %v", err)
	}
	return jws.CompactSerialize()
}

// post sends the logout token; only a 2xx answer is acceptance.
func (b *Backchannel) post(ctx context.Context, uri, tok string) error {
	u, err := url.Parse(uri)
	if err != nil {
		return err
	}
	client := BackchannelClient(u)
	if b.Client != nil {
		client = b.Client(u)
	}
	ctx, cancel := context.WithTimeout(ctx, BackchannelTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uri, strings.NewReader(url.Values{"logout_token": {tok}}.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cache-Control", "no-store")
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) { // without the URI's query, which may name the client's secrets
			err = ue.Err
		}
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("answer %d", resp.StatusCode)
	}
	return nil
}

// BackchannelClient is the HTTP client that posts to registered: no
// proxy, no redirects followed, BackchannelTimeout, and connections to
// loopback, private, link-local, unspecified or multicast addresses only
// when the registered host is itself an IP address or "localhost" (a name
// that resolves to such an address is refused).
func BackchannelClient(registered *url.URL) *http.Client {
	allowPrivate := registered.Hostname() == "localhost" || net.ParseIP(registered.Hostname()) != nil
	dialer := &net.Dialer{Timeout: BackchannelTimeout, Control: func(_, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		if !DialAllowed(net.ParseIP(host), allowPrivate) {
			return fmt.Errorf("back-channel logout: address %s refused", host)
		}
		return nil
	}}
	return &http.Client{
		Timeout: BackchannelTimeout,
		Transport: &http.Transport{
			Proxy: nil, DialContext: dialer.DialContext, TLSHandshakeTimeout: BackchannelTimeout,
			ResponseHeaderTimeout: BackchannelTimeout, MaxIdleConns: 10, IdleConnTimeout: 90 * time.Second,
			ForceAttemptHTTP2: true, DisableKeepAlives: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// DialAllowed reports whether a back-channel delivery may connect to ip:
// any public address, and the others only with allowPrivate.
func DialAllowed(ip net.IP, allowPrivate bool) bool {
	if ip == nil {
		return false
	}
	if allowPrivate {
		return true
	}
	return !(ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified())
}
