package oidc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/grant"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/oauthclient"
	"github.com/ninsho/ninsho/internal/oidc"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/secret"
	"github.com/ninsho/ninsho/internal/signingkey"
	"github.com/ninsho/ninsho/internal/store"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// receiver is a client's back-channel logout endpoint: it keeps every
// logout_token posted and answers status.
type receiver struct {
	mu     sync.Mutex
	status int
	tokens []string
	ctypes []string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	rc.ctypes = append(rc.ctypes, r.Header.Get("Content-Type"))
	rc.tokens = append(rc.tokens, r.PostFormValue("logout_token"))
	w.WriteHeader(rc.status)
}

func (rc *receiver) got() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.tokens...)
}

// TestBackchannelLogout: a revoked session's clients with a back-channel
// URI get one signed logout token each, verifiable against the realm's
// JWKS, with exactly the claims of Back-Channel Logout 1.0; clients without
// a URI, other sessions and live sessions get nothing; a delivered logout
// is not sent again; a refused one is retried after the back-off and given
// up after grant.LogoutAttempts; a deleted client's logout is given up at
// its next attempt; each outcome is recorded as an event.
func TestBackchannelLogout(t *testing.T) {
	storetest.EachDatabase(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		ctx := context.Background()
		db := open(t)
		clock := ninsho.NewManualClock(storetest.Epoch)
		box, err := secret.NewBox(ninsho.SecureRandom, bytes.Repeat([]byte{5}, 32))
		if err != nil {
			t.Fatal(err)
		}
		hasher, err := secret.NewHasher(bytes.Repeat([]byte{6}, 32))
		if err != nil {
			t.Fatal(err)
		}
		keys := &signingkey.Service{Store: db, Tx: db, Events: db, Box: box, Clock: clock, Random: ninsho.SecureRandom}
		clients := &oauthclient.Service{Store: db, Tx: db, Events: db, Hasher: hasher, Clock: clock, Random: ninsho.SecureRandom}
		rl := &realm.Realm{ID: "jp", Hosts: []string{"id.example.jp"}, BaseURL: "https://id.example.jp/"}
		bc := &oidc.Backchannel{Store: db, Tx: db, Events: db, Clients: clients, Keys: keys,
			Realms: realm.NewRegistry([]*realm.Realm{rl}), Hasher: hasher, Clock: clock, Random: ninsho.SecureRandom}

		good := &receiver{status: http.StatusOK}
		bad := &receiver{status: http.StatusServiceUnavailable}
		goodSrv, badSrv := httptest.NewServer(good), httptest.NewServer(bad)
		t.Cleanup(goodSrv.Close)
		t.Cleanup(badSrv.Close)
		mkClient := func(id, bcl string) {
			t.Helper()
			if err := db.CreateClient(ctx, &oauthclient.Client{Realm: "jp", ID: id, Name: id, Kind: oauthclient.Confidential,
				AuthMethod: oauthclient.AuthSecretBasic, SecretHash: storetest.NewHash(), RedirectURIs: []string{"https://shop.example.jp/cb"},
				BackchannelLogoutURI: bcl, WithoutTwoStep: oauthclient.Refuse, CreatedAt: clock.Now()}); err != nil {
				t.Fatal(err)
			}
		}
		mkClient("c_good", goodSrv.URL+"/bcl")
		mkClient("c_bad", badSrv.URL+"/bcl")
		mkClient("c_none", "")
		gone := &receiver{status: http.StatusServiceUnavailable}
		goneSrv := httptest.NewServer(gone)
		t.Cleanup(goneSrv.Close)
		mkClient("c_gone", goneSrv.URL+"/bcl")

		acct := storetest.MustCreateAccount(t, db, storetest.NewAccount("jp", "hana@example.jp", ""))
		ended := storetest.MustCreateSession(t, db, storetest.NewSession("jp", acct.ID))
		live := storetest.MustCreateSession(t, db, storetest.NewSession("jp", acct.ID))
		token := func(clientID, sessionID, kind string) {
			t.Helper()
			tok := &grant.Token{ID: storetest.NewID(), Realm: "jp", ClientID: clientID, AccountID: acct.ID, SessionID: sessionID,
				Family: "f", Kind: kind, CreatedAt: clock.Now(), ExpiresAt: clock.Now().Add(time.Hour)}
			if kind == grant.KindRefresh {
				tok.Hash = storetest.NewHash()
			}
			if err := db.CreateToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
		}
		token("c_good", ended.ID, grant.KindAccess)
		token("c_good", ended.ID, grant.KindRefresh) // two tokens, one logout
		token("c_bad", ended.ID, grant.KindAccess)
		token("c_none", ended.ID, grant.KindAccess)
		token("c_good", live.ID, grant.KindAccess)
		token("c_gone", ended.ID, grant.KindAccess)

		pass := func(want int) {
			t.Helper()
			n, err := bc.Pass(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n != want {
				t.Fatalf("Pass delivered %d, want %d", n, want)
			}
		}
		pass(0) // nothing revoked yet
		if len(good.got())+len(bad.got()) != 0 {
			t.Fatal("a logout token was posted for a live session")
		}

		if err := db.RevokeSession(ctx, ended.ID, clock.Now()); err != nil {
			t.Fatal(err)
		}
		pass(1)
		pass(0) // delivered once, never again
		toks := good.got()
		if len(toks) != 1 || len(bad.got()) != 1 {
			t.Fatalf("posted %d to the good client and %d to the bad one, want 1 and 1", len(toks), len(bad.got()))
		}
		if good.ctypes[0] != "application/x-www-form-urlencoded" {
			t.Errorf("Content-Type %q", good.ctypes[0])
		}

		// The token verifies against the realm's JWKS.
		published, err := keys.Published(ctx, "jp", clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		set, err := signingkey.JWKS(published)
		if err != nil {
			t.Fatal(err)
		}
		jws, err := jose.ParseSigned(toks[0], []jose.SignatureAlgorithm{jose.ES256, jose.RS256})
		if err != nil {
			t.Fatal(err)
		}
		hdr := jws.Signatures[0].Header
		if typ, _ := hdr.ExtraHeaders[jose.HeaderType].(string); typ != oidc.LogoutTokenType {
			t.Errorf("typ %q, want %q", typ, oidc.LogoutTokenType)
		}
		ks := set.Key(hdr.KeyID)
		if len(ks) != 1 {
			t.Fatalf("kid %q is not in the JWKS", hdr.KeyID)
		}
		payload, err := jws.Verify(ks[0])
		if err != nil {
			t.Fatal(err)
		}
		var claims map[string]any
		if err := json.Unmarshal(payload, &claims); err != nil {
			t.Fatal(err)
		}
		now := clock.Now().Unix()
		want := map[string]any{
			"iss": "https://id.example.jp", "aud": "c_good", "iat": float64(now), "exp": float64(now + 120),
			"sub": oidc.Subject(hasher, "jp", acct.ID), "sid": ended.ID,
		}
		for k, v := range want {
			if claims[k] != v {
				t.Errorf("claim %s = %v, want %v", k, claims[k], v)
			}
		}
		if jti, _ := claims["jti"].(string); jti == "" {
			t.Error("no jti")
		}
		if _, ok := claims["nonce"]; ok {
			t.Error("a logout token carries a nonce")
		}
		ev, _ := claims["events"].(map[string]any)
		if m, ok := ev[oidc.BackchannelLogoutEvent].(map[string]any); !ok || len(m) != 0 || len(ev) != 1 {
			t.Errorf("events = %v", claims["events"])
		}
		if len(claims) != 8 {
			t.Errorf("claims %v, want exactly iss aud iat exp jti sub sid events", claims)
		}

		// A client deleted after a failed delivery: given up at its retry.
		if err := db.DeleteClient(ctx, "jp", "c_gone"); err != nil {
			t.Fatal(err)
		}

		// The refused one: not before its back-off, then again until given up.
		for attempt := 1; attempt < grant.LogoutAttempts; attempt++ {
			clock.Advance(grant.LogoutRetryAfter(attempt) - time.Second)
			pass(0)
			if n := len(bad.got()); n != attempt {
				t.Fatalf("attempt %d began before its back-off (%d posts)", attempt+1, n)
			}
			clock.Advance(time.Second)
			pass(0)
			if n := len(bad.got()); n != attempt+1 {
				t.Fatalf("after the back-off of attempt %d: %d posts, want %d", attempt, n, attempt+1)
			}
		}
		clock.Advance(24 * time.Hour)
		pass(0)
		if n := len(bad.got()); n != grant.LogoutAttempts {
			t.Fatalf("%d posts after giving up, want %d", n, grant.LogoutAttempts)
		}
		if n := len(gone.got()); n != 1 {
			t.Fatalf("%d posts to the deleted client, want 1 (before its deletion)", n)
		}

		evs, err := db.AccountEvents(ctx, acct.ID, time.Time{}, 100)
		if err != nil {
			t.Fatal(err)
		}
		outcome := map[string]string{}
		for _, e := range evs {
			if e.Type == event.TypeOIDCBackchannelLogoutSent || e.Type == event.TypeOIDCBackchannelLogoutFailed {
				if _, dup := outcome[e.Data["client_id"].(string)]; dup {
					t.Errorf("two outcomes for %v", e.Data["client_id"])
				}
				outcome[e.Data["client_id"].(string)] = e.Type
			}
		}
		if outcome["c_good"] != event.TypeOIDCBackchannelLogoutSent || outcome["c_bad"] != event.TypeOIDCBackchannelLogoutFailed ||
			outcome["c_gone"] != event.TypeOIDCBackchannelLogoutFailed || len(outcome) != 3 {
			t.Errorf("events %v", outcome)
		}
	})
}

// TestBackchannelLogoutClaim: a delivery begun by one instance is not begun
// by another before its lease runs out (an instance stopped mid-delivery
// leaves it to be retried), a session is swept once and queues one logout
// per client — a late sweep by another instance queues nothing, even after
// the logout was delivered and deleted — and a deleted logout is gone.
func TestBackchannelLogoutClaim(t *testing.T) {
	storetest.EachDatabase(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		ctx := context.Background()
		db := open(t)
		acct := storetest.MustCreateAccount(t, db, storetest.NewAccount("jp", "hana@example.jp", ""))
		s := storetest.MustCreateSession(t, db, storetest.NewSession("jp", acct.ID))
		if err := db.CreateClient(ctx, &oauthclient.Client{Realm: "jp", ID: "c1", Name: "c1", Kind: oauthclient.Public,
			AuthMethod: oauthclient.AuthNone, RedirectURIs: []string{"https://a.example/cb"}, BackchannelLogoutURI: "https://a.example/bcl",
			WithoutTwoStep: oauthclient.Refuse, CreatedAt: storetest.Epoch}); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateToken(ctx, &grant.Token{ID: storetest.NewID(), Realm: "jp", ClientID: "c1", AccountID: acct.ID,
			SessionID: s.ID, Kind: grant.KindAccess, CreatedAt: storetest.Epoch, ExpiresAt: storetest.Epoch.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if err := db.RevokeSession(ctx, s.ID, storetest.Epoch); err != nil {
			t.Fatal(err)
		}
		ids, err := db.RevokedUnswept(ctx, 10)
		if err != nil || len(ids) != 1 || ids[0] != s.ID {
			t.Fatalf("RevokedUnswept = %v, %v", ids, err)
		}
		if n, err := db.SweepSession(ctx, s.ID, storetest.Epoch); err != nil || n != 1 {
			t.Fatalf("SweepSession = %d, %v", n, err)
		}
		if ids, _ := db.RevokedUnswept(ctx, 10); len(ids) != 0 {
			t.Fatalf("swept session still unswept: %v", ids)
		}
		if n, err := db.SweepSession(ctx, s.ID, storetest.Epoch); err != nil || n != 0 {
			t.Fatalf("second SweepSession = %d, %v (want 0: one logout per client)", n, err)
		}
		due, err := db.DueLogouts(ctx, storetest.Epoch, 10)
		if err != nil || len(due) != 1 {
			t.Fatalf("DueLogouts = %v, %v", due, err)
		}
		lease := storetest.Epoch.Add(grant.LogoutLease)
		if ok, err := db.ClaimLogout(ctx, due[0], lease); err != nil || !ok {
			t.Fatalf("first claim = %v, %v", ok, err)
		}
		if ok, err := db.ClaimLogout(ctx, due[0], lease); err != nil || ok {
			t.Fatalf("second claim of the same row = %v, %v", ok, err)
		}
		if due, _ := db.DueLogouts(ctx, lease.Add(-time.Microsecond), 10); len(due) != 0 {
			t.Fatal("a claimed logout is due within its lease")
		}
		due, _ = db.DueLogouts(ctx, lease, 10)
		if len(due) != 1 || due[0].Attempts != 1 {
			t.Fatalf("after the lease: %+v", due)
		}
		if err := db.DeleteLogout(ctx, s.ID, "c1"); err != nil {
			t.Fatal(err)
		}
		if due, _ := db.DueLogouts(ctx, lease.Add(time.Hour), 10); len(due) != 0 {
			t.Fatal("a deleted logout is still due")
		}
		// Another instance that listed the session as unswept before the
		// first sweep committed sweeps it late: the delivered logout is not
		// queued again (the sweep is a compare-and-set on the session).
		if n, err := db.SweepSession(ctx, s.ID, lease); err != nil || n != 0 {
			t.Fatalf("late SweepSession after delivery = %d, %v (want 0: delivered once)", n, err)
		}
		if due, _ := db.DueLogouts(ctx, lease.Add(time.Hour), 10); len(due) != 0 {
			t.Fatalf("a late sweep queued a delivered logout again: %+v", due)
		}
	})
}

// TestBackchannelDialRule: private and loopback addresses only where the
// registered host is an address (or localhost) itself.
func TestBackchannelDialRule(t *testing.T) {
	for _, tc := range []struct {
		ip    string
		allow bool
		want  bool
	}{
		{"203.0.113.5", false, true}, {"127.0.0.1", false, false}, {"10.1.2.3", false, false},
		{"169.254.169.254", false, false}, {"::1", false, false}, {"fd00::1", false, false}, {"0.0.0.0", false, false},
		{"127.0.0.1", true, true}, {"10.1.2.3", true, true},
	} {
		if got := oidc.DialAllowed(net.ParseIP(tc.ip), tc.allow); got != tc.want {
			t.Errorf("DialAllowed(%s, %v) = %v, want %v", tc.ip, tc.allow, got, tc.want)
		}
	}
}
