package oauthclient_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/oauthclient"
	"github.com/ninsho/ninsho/internal/secret"
	"github.com/ninsho/ninsho/internal/store"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// recorder keeps the events it appends to the real store; fail makes the
// next append fail.
type recorder struct {
	event.Store
	got  []*event.Event
	fail bool
}

func (r *recorder) AppendEvent(ctx context.Context, e *event.Event) error {
	if r.fail {
		r.fail = false
		return ninsho.Internal("recorder: told to fail")
	}
	r.got = append(r.got, e)
	return r.Store.AppendEvent(ctx, e)
}

func newService(tb testing.TB) (*oauthclient.Service, *ninsho.ManualClock, *recorder, *store.DB) {
	tb.Helper()
	db := storetest.MustOpenSQLite(tb)
	clock := ninsho.NewManualClock(storetest.Epoch)
	hasher, err := secret.NewHasher(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		tb.Fatal(err)
	}
	rec := &recorder{Store: db}
	return &oauthclient.Service{Store: db, Tx: db, Events: rec, Hasher: hasher, Clock: clock,
		Random: ninsho.NewSeededRandom(14)}, clock, rec, db
}

var idPattern = regexp.MustCompile(`^c_[a-z2-7]{20}$`)

func webApp() oauthclient.New {
	return oauthclient.New{Realm: "jp", Name: "  Shop web  ", Kind: oauthclient.Confidential,
		RedirectURIs: []string{"https://shop.example.jp/callback"}}
}

func TestCreateConfidentialAndAuthenticate(t *testing.T) {
	ctx := context.Background()
	s, clock, rec, db := newService(t)
	c, plain, err := s.Create(ctx, webApp())
	if err != nil {
		t.Fatal(err)
	}
	if !idPattern.MatchString(c.ID) {
		t.Errorf("client id %q, want c_ and 20 lowercase base32 characters", c.ID)
	}
	if raw, err := base64.RawURLEncoding.DecodeString(plain); err != nil || len(raw) != 32 {
		t.Errorf("secret %q: %d bytes, %v; want 32 random bytes, base64url", plain, len(raw), err)
	}
	if c.Name != "Shop web" || c.AuthMethod != oauthclient.AuthSecretBasic || c.WithoutTwoStep != oauthclient.Enrol ||
		!c.CreatedAt.Equal(clock.Now()) || c.FirstParty || c.JWKS != nil {
		t.Errorf("defaults: %+v, want the trimmed name, client_secret_basic, enrol, now", c)
	}
	stored, err := db.ClientByID(ctx, "jp", c.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := s.Hasher.Hash("oauth_client_secret", "jp", c.ID, plain)
	if !bytes.Equal(stored.SecretHash, want) {
		t.Errorf("stored hash %x, want Hash(oauth_client_secret, realm, id, secret) %x", stored.SecretHash, want)
	}
	got, err := s.Authenticate(ctx, "jp", c.ID, plain)
	if err != nil || got.ID != c.ID {
		t.Fatalf("Authenticate with the secret: %v, %v", got, err)
	}

	// Every failure is the same error, with nothing that tells them apart.
	other, otherSecret, err := s.Create(ctx, oauthclient.New{Realm: "jp", Name: "Other", Kind: oauthclient.Confidential,
		AuthMethod: oauthclient.AuthSecretPost, RedirectURIs: []string{"https://other.example.jp/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	public, _, err := s.Create(ctx, oauthclient.New{Realm: "jp", Name: "App", Kind: oauthclient.Public,
		RedirectURIs: []string{"jp.example.shop:/callback"}})
	if err != nil {
		t.Fatal(err)
	}
	failures := map[string][3]string{
		"wrong secret":             {"jp", c.ID, plain[:len(plain)-1] + "A"},
		"another client's secret":  {"jp", c.ID, otherSecret},
		"the secret's prefix":      {"jp", c.ID, plain[:10]},
		"empty secret":             {"jp", c.ID, ""},
		"unknown client":           {"jp", "c_aaaaaaaaaaaaaaaaaaaa", plain},
		"another realm":            {"us", c.ID, plain},
		"public client, no secret": {"jp", public.ID, ""},
		"public client, a secret":  {"jp", public.ID, plain},
	}
	var first string
	for name, f := range failures {
		got, err := s.Authenticate(ctx, f[0], f[1], f[2])
		e := ninsho.ErrorOf(err)
		if got != nil || e == nil || e.Code != ninsho.CodeUnauthenticated || e.Field != "" || e.Params != nil || e.Err != nil {
			t.Errorf("%s: %v, %#v; want unauthenticated and nothing more", name, got, e)
			continue
		}
		if first == "" {
			first = e.Error()
		} else if e.Error() != first {
			t.Errorf("%s: %q, want the same error as every other failure (%q)", name, e.Error(), first)
		}
	}
	if got, err := s.Authenticate(ctx, "jp", other.ID, otherSecret); err != nil || got.AuthMethod != oauthclient.AuthSecretPost {
		t.Errorf("client_secret_post client: %v, %v", got, err)
	}

	// The event says what was made, never the secret or its hash.
	if len(rec.got) != 3 {
		t.Fatalf("events: %d, want 3", len(rec.got))
	}
	e := rec.got[0]
	if e.Type != "oauth_client.created" || e.Actor != "operator" || e.Realm != "jp" || e.Data["client_id"] != c.ID ||
		e.Data["kind"] != "confidential" || e.Data["auth_method"] != "client_secret_basic" || e.Data["name"] != "Shop web" {
		t.Errorf("event: %+v", e)
	}
	raw, _ := json.Marshal(rec.got)
	for _, leak := range []string{plain, otherSecret, hex.EncodeToString(want), base64.StdEncoding.EncodeToString(want)} {
		if strings.Contains(string(raw), leak) {
			t.Errorf("an event holds a secret or its hash: %s", raw)
		}
	}
}

func TestClientIDsDiffer(t *testing.T) {
	ctx := context.Background()
	s, _, _, _ := newService(t)
	seen := map[string]bool{}
	for range 20 {
		c, _, err := s.Create(ctx, webApp())
		if err != nil {
			t.Fatal(err)
		}
		if seen[c.ID] || !idPattern.MatchString(c.ID) {
			t.Fatalf("id %q: repeated or malformed", c.ID)
		}
		seen[c.ID] = true
	}
}

func ecJWK(t *testing.T) (pub, priv jose.JSONWebKey) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	priv = jose.JSONWebKey{Key: k, KeyID: "k1", Algorithm: "ES256", Use: "sig"}
	return priv.Public(), priv
}

func jwks(t *testing.T, keys ...jose.JSONWebKey) []byte {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPublicAndPrivateKeyJWTClients(t *testing.T) {
	ctx := context.Background()
	s, _, _, db := newService(t)
	app, plain, err := s.Create(ctx, oauthclient.New{Realm: "jp", Name: "ショップ アプリ", Kind: oauthclient.Public,
		RedirectURIs:           []string{"jp.example.shop:/callback", "http://127.0.0.1/cb", "http://[::1]:51004/cb", "http://localhost:8080/"},
		PostLogoutRedirectURIs: []string{"jp.example.shop:/bye"}, WithoutTwoStep: oauthclient.Refuse})
	if err != nil {
		t.Fatal(err)
	}
	if plain != "" || app.SecretHash != nil || app.AuthMethod != oauthclient.AuthNone || app.WithoutTwoStep != oauthclient.Refuse {
		t.Errorf("public client: secret %q, %+v; want no secret, none, refuse", plain, app)
	}
	if !app.HasRedirectURI("http://[::1]:51004/cb") || app.HasRedirectURI("http://[::1]:51004/cb/") ||
		app.HasRedirectURI("JP.example.shop:/callback") || !app.HasPostLogoutRedirectURI("jp.example.shop:/bye") {
		t.Errorf("exact matching of redirect URIs is wrong")
	}

	pub, _ := ecJWK(t)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	enc := jose.JSONWebKey{Key: rsaKey.Public(), KeyID: "enc", Algorithm: "RSA-OAEP", Use: "enc"}
	c, plain, err := s.Create(ctx, oauthclient.New{Realm: "jp", Name: "Back end", Kind: oauthclient.Confidential,
		AuthMethod: oauthclient.AuthPrivateKeyJWT, JWKS: jwks(t, enc, pub), RedirectURIs: []string{"https://api.example.jp/cb"},
		FirstParty: true, BackchannelLogoutURI: "https://api.example.jp/logout?x=1", FrontchannelLogoutURI: "https://api.example.jp/fc"})
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := db.ClientByID(ctx, "jp", c.ID)
	var set jose.JSONWebKeySet
	if plain != "" || stored.SecretHash != nil || json.Unmarshal(stored.JWKS, &set) != nil || len(set.Keys) != 2 ||
		set.Keys[1].KeyID != "k1" || !set.Keys[1].IsPublic() || !stored.FirstParty {
		t.Errorf("private_key_jwt client: secret %q, stored %s", plain, stored.JWKS)
	}
	if _, err := s.Authenticate(ctx, "jp", c.ID, ""); !ninsho.IsCode(err, ninsho.CodeUnauthenticated) {
		t.Errorf("a private_key_jwt client authenticated without a secret: %v", err)
	}
}

// refusal is what one refused registration should say.
type refusal struct {
	field  string
	code   ninsho.Code
	reason string
}

func TestRefusals(t *testing.T) {
	ctx := context.Background()
	s, _, rec, db := newService(t)
	pub, priv := ecJWK(t)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	smallJWK := jose.JSONWebKey{Key: small.Public(), KeyID: "small", Algorithm: "RS256", Use: "sig"}
	encOnly := pub
	encOnly.Use = "enc"
	oct := []byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0","alg":"HS256"}]}`)
	jwtClient := func(set []byte) func(*oauthclient.New) {
		return func(n *oauthclient.New) { n.AuthMethod, n.JWKS = oauthclient.AuthPrivateKeyJWT, set }
	}
	uris := func(list ...string) func(*oauthclient.New) { return func(n *oauthclient.New) { n.RedirectURIs = list } }
	public := func(list ...string) func(*oauthclient.New) {
		return func(n *oauthclient.New) { n.Kind, n.RedirectURIs = oauthclient.Public, list }
	}
	eleven := make([]string, 11)
	for i := range eleven {
		eleven[i] = "https://shop.example.jp/cb" + strings.Repeat("x", i)
	}
	cases := []struct {
		name string
		edit func(*oauthclient.New)
		want refusal
	}{
		{"no realm", func(n *oauthclient.New) { n.Realm = "" }, refusal{"realm", ninsho.CodeFieldRequired, ""}},
		{"blank name", func(n *oauthclient.New) { n.Name = " \t " }, refusal{"name", ninsho.CodeFieldRequired, ""}},
		{"long name", func(n *oauthclient.New) { n.Name = strings.Repeat("名", 101) }, refusal{"name", ninsho.CodeFieldTooLong, ""}},
		{"control in name", func(n *oauthclient.New) { n.Name = "Shop\x07" }, refusal{"name", ninsho.CodeRequestInvalid, "control_character"}},
		{"no kind", func(n *oauthclient.New) { n.Kind = "" }, refusal{"kind", ninsho.CodeFieldRequired, ""}},
		{"unknown kind", func(n *oauthclient.New) { n.Kind = "native" }, refusal{"kind", ninsho.CodeRequestInvalid, "unknown"}},
		{"unknown method", func(n *oauthclient.New) { n.AuthMethod = "tls_client_auth" }, refusal{"auth_method", ninsho.CodeRequestInvalid, "unknown"}},
		{"none for confidential", func(n *oauthclient.New) { n.AuthMethod = "none" }, refusal{"auth_method", ninsho.CodeRequestInvalid, "auth_method_for_kind"}},
		{"secret for public", func(n *oauthclient.New) {
			n.Kind, n.AuthMethod, n.RedirectURIs = oauthclient.Public, oauthclient.AuthSecretBasic, []string{"http://127.0.0.1/cb"}
		}, refusal{"auth_method", ninsho.CodeRequestInvalid, "auth_method_for_kind"}},
		{"jwks missing", jwtClient(nil), refusal{"jwks", ninsho.CodeFieldRequired, ""}},
		{"jwks for a secret client", func(n *oauthclient.New) { n.JWKS = jwks(t, pub) }, refusal{"jwks", ninsho.CodeRequestInvalid, "jwks_not_used"}},
		{"jwks not json", jwtClient([]byte(`{"keys":`)), refusal{"jwks", ninsho.CodeRequestInvalid, "not_jwks"}},
		{"jwks without keys", jwtClient([]byte(`{"kty":"EC"}`)), refusal{"jwks", ninsho.CodeRequestInvalid, "not_jwks"}},
		{"jwks unknown kty", jwtClient([]byte(`{"keys":[{"kty":"XX"}]}`)), refusal{"jwks", ninsho.CodeRequestInvalid, "not_jwks"}},
		{"jwks without kty", jwtClient([]byte(`{"keys":[{"crv":"P-256"}]}`)), refusal{"jwks", ninsho.CodeRequestInvalid, "not_jwks"}},
		{"jwks private key", jwtClient(jwks(t, pub, priv)), refusal{"jwks", ninsho.CodeRequestInvalid, "private_key"}},
		{"jwks symmetric key", jwtClient(oct), refusal{"jwks", ninsho.CodeRequestInvalid, "private_key"}},
		{"jwks empty", jwtClient([]byte(`{"keys":[]}`)), refusal{"jwks", ninsho.CodeRequestInvalid, "no_signing_key"}},
		{"jwks encryption only", jwtClient(jwks(t, encOnly)), refusal{"jwks", ninsho.CodeRequestInvalid, "no_signing_key"}},
		{"jwks small RSA", jwtClient(jwks(t, smallJWK)), refusal{"jwks", ninsho.CodeRequestInvalid, "no_signing_key"}},
		{"jwks too large", jwtClient(append([]byte(`{"keys":[],"x":"`), bytes.Repeat([]byte("a"), 65<<10)...)), refusal{"jwks", ninsho.CodeRequestInvalid, "too_large"}},
		{"no redirect", uris(), refusal{"redirect_uris", ninsho.CodeFieldRequired, ""}},
		{"eleven redirects", uris(eleven...), refusal{"redirect_uris", ninsho.CodeRequestInvalid, "too_many"}},
		{"long redirect", uris("https://shop.example.jp/" + strings.Repeat("a", 2048)), refusal{"redirect_uris", ninsho.CodeRequestInvalid, "too_long"}},
		{"relative", uris("/callback"), refusal{"redirect_uris", ninsho.CodeRequestInvalid, "not_absolute"}},
		{"space", uris("https://shop.example.jp/a b"), refusal{"redirect_uris", ninsho.CodeRequestInvalid, "invalid_character"}},
		{"non-ASCII", uris("https://ショップ.jp/cb"), refusal{"redirect_uris", ninsho.CodeRequestInvalid, "invalid_character"}},
		{"fragment", uris("https://shop.example.jp/cb#x"), refusal{"redirect_uris", ninsho.CodeRequestInvalid, "fragment"}},
		{"empty fragment", uris("https://shop.example.jp/cb#"), refusal{"redirect_uris", ninsho.CodeRequestInvalid, "fragment"}},
		{"userinfo", uris("https://a:b@shop.example.jp/cb"), refusal{"redirect_uris", ninsho.CodeRequestInvalid, "userinfo"}},
		{"upper-case scheme", uris("HTTPS://shop.example.jp/cb"), refusal{"redirect_uris", ninsho.CodeRequestInvalid, "scheme_not_lowercase"}},
		{"no host", uris("https:///cb"), refusal{"redirect_uris", ninsho.CodeRequestInvalid, "host_required"}},
		{"http", uris("http://shop.example.jp/cb"), refusal{"redirect_uris", ninsho.CodeRequestInvalid, "https_required"}},
		{"loopback for confidential", uris("http://127.0.0.1/cb"), refusal{"redirect_uris", ninsho.CodeRequestInvalid, "https_required"}},
		{"private-use for confidential", uris("jp.example.shop:/cb"), refusal{"redirect_uris", ninsho.CodeRequestInvalid, "https_required"}},
		{"http look-alike loopback", public("http://localhost.example.jp/cb"), refusal{"redirect_uris", ninsho.CodeRequestInvalid, "https_required"}},
		{"http other loopback address", public("http://127.0.0.2/cb"), refusal{"redirect_uris", ninsho.CodeRequestInvalid, "https_required"}},
		{"scheme without a dot", public("myapp:/cb"), refusal{"redirect_uris", ninsho.CodeRequestInvalid, "private_use_scheme"}},
		{"javascript", public("javascript:/alert(1)"), refusal{"redirect_uris", ninsho.CodeRequestInvalid, "private_use_scheme"}},
		{"scheme with authority", public("jp.example.shop://callback"), refusal{"redirect_uris", ninsho.CodeRequestInvalid, "private_use_scheme"}},
		{"opaque", public("jp.example.shop:callback"), refusal{"redirect_uris", ninsho.CodeRequestInvalid, "private_use_scheme"}},
		{"digit in the top label", public("jp2.example:/cb"), refusal{"redirect_uris", ninsho.CodeRequestInvalid, "private_use_scheme"}},
		{"duplicate", uris("https://shop.example.jp/cb", "https://shop.example.jp/cb"), refusal{"redirect_uris", ninsho.CodeRequestInvalid, "duplicate"}},
		{"post-logout http", func(n *oauthclient.New) { n.PostLogoutRedirectURIs = []string{"http://shop.example.jp/"} },
			refusal{"post_logout_redirect_uris", ninsho.CodeRequestInvalid, "https_required"}},
		{"eleven post-logout", func(n *oauthclient.New) { n.PostLogoutRedirectURIs = eleven },
			refusal{"post_logout_redirect_uris", ninsho.CodeRequestInvalid, "too_many"}},
		{"back-channel http", func(n *oauthclient.New) { n.BackchannelLogoutURI = "http://shop.example.jp/bc" },
			refusal{"backchannel_logout_uri", ninsho.CodeRequestInvalid, "https_required"}},
		{"back-channel private-use", func(n *oauthclient.New) {
			n.Kind, n.RedirectURIs, n.BackchannelLogoutURI = oauthclient.Public, []string{"jp.example.shop:/cb"}, "jp.example.shop:/bc"
		}, refusal{"backchannel_logout_uri", ninsho.CodeRequestInvalid, "https_required"}},
		{"back-channel fragment", func(n *oauthclient.New) { n.BackchannelLogoutURI = "https://shop.example.jp/bc#x" },
			refusal{"backchannel_logout_uri", ninsho.CodeRequestInvalid, "fragment"}},
		{"front-channel other origin", func(n *oauthclient.New) { n.FrontchannelLogoutURI = "https://elsewhere.example.jp/fc" },
			refusal{"frontchannel_logout_uri", ninsho.CodeRequestInvalid, "not_redirect_origin"}},
		{"front-channel other port", func(n *oauthclient.New) { n.FrontchannelLogoutURI = "https://shop.example.jp:8443/fc" },
			refusal{"frontchannel_logout_uri", ninsho.CodeRequestInvalid, "not_redirect_origin"}},
		{"without two-step", func(n *oauthclient.New) { n.WithoutTwoStep = "allow" }, refusal{"without_two_step", ninsho.CodeRequestInvalid, "unknown"}},
	}
	for _, tc := range cases {
		n := webApp()
		tc.edit(&n)
		c, plain, err := s.Create(ctx, n)
		e := ninsho.ErrorOf(err)
		if c != nil || plain != "" || e == nil {
			t.Errorf("%s: created %+v", tc.name, c)
			continue
		}
		got := refusal{e.Field, e.Code, ""}
		if r, ok := e.Params["reason"].(string); ok {
			got.reason = r
		}
		if got != tc.want || len(e.More) != 0 {
			t.Errorf("%s: %v (reason %q), want %+v alone", tc.name, e, got.reason, tc.want)
		}
	}
	if list, _ := db.Clients(ctx, "jp"); len(list) != 0 || len(rec.got) != 0 {
		t.Errorf("refused registrations left %d clients and %d events", len(list), len(rec.got))
	}
}

// What is allowed at the edges of the rules.
func TestAccepted(t *testing.T) {
	ctx := context.Background()
	s, _, _, _ := newService(t)
	ten := make([]string, 10)
	for i := range ten {
		ten[i] = "https://shop.example.jp/cb" + strings.Repeat("x", i)
	}
	long := "https://shop.example.jp/" + strings.Repeat("a", 2048-len("https://shop.example.jp/"))
	for name, edit := range map[string]func(*oauthclient.New){
		"100-character name":   func(n *oauthclient.New) { n.Name = strings.Repeat("名", 100) },
		"ten redirects":        func(n *oauthclient.New) { n.RedirectURIs, n.PostLogoutRedirectURIs = ten, ten },
		"2048-byte redirect":   func(n *oauthclient.New) { n.RedirectURIs = []string{long} },
		"query and port":       func(n *oauthclient.New) { n.RedirectURIs = []string{"https://shop.example.jp:8443/cb?a=1&b=2"} },
		"loopback logout":      func(n *oauthclient.New) { n.BackchannelLogoutURI = "http://127.0.0.1:9000/bc" },
		"front-channel origin": func(n *oauthclient.New) { n.FrontchannelLogoutURI = "https://shop.example.jp/logout?sid=1" },
		"private-use, hyphens": func(n *oauthclient.New) {
			n.Kind, n.RedirectURIs = oauthclient.Public, []string{"com.example-shop.app2:/oauth/cb"}
		},
		"public, post-logout": func(n *oauthclient.New) {
			n.Kind, n.RedirectURIs, n.PostLogoutRedirectURIs = oauthclient.Public, []string{"http://localhost/cb"}, []string{"http://[::1]:8080/bye"}
		},
		"secret post":           func(n *oauthclient.New) { n.AuthMethod = oauthclient.AuthSecretPost },
		"refuse without 2-step": func(n *oauthclient.New) { n.WithoutTwoStep = oauthclient.Refuse },
	} {
		n := webApp()
		edit(&n)
		if _, _, err := s.Create(ctx, n); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// A registration with several faults names each of them at once.
func TestEveryRefusalAtOnce(t *testing.T) {
	s, _, _, _ := newService(t)
	_, _, err := s.Create(context.Background(), oauthclient.New{Realm: "jp", Kind: oauthclient.Public,
		RedirectURIs: []string{"https://ok.example.jp/cb", "http://shop.example.jp/cb", "myapp:/cb"}, WithoutTwoStep: "x"})
	var got []string
	for _, e := range ninsho.ErrorOf(err).All() {
		v, _ := e.Params["value"].(string)
		got = append(got, e.Field+" "+string(e.Code)+" "+v)
	}
	want := []string{"name field_required ", "redirect_uris request_invalid http://shop.example.jp/cb",
		"redirect_uris request_invalid myapp:/cb", "without_two_step request_invalid "}
	if !slices.Equal(got, want) {
		t.Errorf("refusals:\n got %q\nwant %q", got, want)
	}
}

func TestListGetDelete(t *testing.T) {
	ctx := context.Background()
	s, clock, rec, _ := newService(t)
	a, _, _ := s.Create(ctx, webApp())
	clock.Advance(time.Second)
	b, _, _ := s.Create(ctx, webApp())
	other := webApp()
	other.Realm = "us"
	if _, _, err := s.Create(ctx, other); err != nil {
		t.Fatal(err)
	}
	list, err := s.List(ctx, "jp")
	if err != nil || len(list) != 2 || list[0].ID != a.ID || list[1].ID != b.ID {
		t.Fatalf("List: %v %v, want a then b", list, err)
	}
	if got, err := s.Get(ctx, "jp", b.ID); err != nil || got.ID != b.ID {
		t.Errorf("Get: %v %v", got, err)
	}
	if _, err := s.Get(ctx, "us", b.ID); !ninsho.IsCode(err, ninsho.CodeNotFound) {
		t.Errorf("Get in another realm: %v, want not_found", err)
	}
	rec.got = nil
	if err := s.Delete(ctx, "us", a.ID); !ninsho.IsCode(err, ninsho.CodeNotFound) {
		t.Errorf("Delete in another realm: %v, want not_found", err)
	}
	if err := s.Delete(ctx, "jp", a.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "jp", a.ID); !ninsho.IsCode(err, ninsho.CodeNotFound) {
		t.Errorf("second Delete: %v, want not_found", err)
	}
	if len(rec.got) != 1 || rec.got[0].Type != "oauth_client.deleted" || rec.got[0].Actor != "operator" || rec.got[0].Data["client_id"] != a.ID {
		t.Errorf("events of deleting: %+v", rec.got)
	}
	if list, _ := s.List(ctx, "jp"); len(list) != 1 || list[0].ID != b.ID {
		t.Errorf("after Delete: %v, want b", list)
	}
}

// Creating and deleting are all or nothing with their event.
func TestEventFailureRollsBack(t *testing.T) {
	ctx := context.Background()
	s, _, rec, db := newService(t)
	rec.fail = true
	if _, _, err := s.Create(ctx, webApp()); err == nil {
		t.Fatal("Create succeeded although its event failed")
	}
	if list, _ := db.Clients(ctx, "jp"); len(list) != 0 {
		t.Errorf("a client stayed without its event: %v", list)
	}
	c, _, err := s.Create(ctx, webApp())
	if err != nil {
		t.Fatal(err)
	}
	rec.fail = true
	if err := s.Delete(ctx, "jp", c.ID); err == nil || errors.Is(err, ninsho.E(ninsho.CodeNotFound)) {
		t.Fatalf("Delete: %v, want the event's failure", err)
	}
	if _, err := db.ClientByID(ctx, "jp", c.ID); err != nil {
		t.Errorf("the client was deleted without its event: %v", err)
	}
}
