package oidc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/oidc"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/secret"
	"github.com/ninsho/ninsho/internal/signingkey"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

func newHandler(t *testing.T) (*http.ServeMux, *signingkey.Service, *ninsho.ManualClock) {
	t.Helper()
	db := storetest.MustOpenSQLite(t)
	clock := ninsho.NewManualClock(storetest.Epoch)
	box, err := secret.NewBox(ninsho.SecureRandom, bytes.Repeat([]byte{5}, 32))
	if err != nil {
		t.Fatal(err)
	}
	keys := &signingkey.Service{Store: db, Tx: db, Events: db, Box: box, Clock: clock, Random: ninsho.SecureRandom}
	realms := realm.NewRegistry([]*realm.Realm{
		{ID: "jp", Hosts: []string{"id.example.jp"}, BaseURL: "https://id.example.jp"},
		{ID: "com", Hosts: []string{"id.example.com"}, BaseURL: "https://id.example.com/"},
	})
	hasher, err := secret.NewHasher(bytes.Repeat([]byte{6}, 32))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	if err := (&oidc.Handler{Realms: realms, Keys: keys, Now: clock.Now, Box: box, Hasher: hasher}).Mount(mux); err != nil {
		t.Fatal(err)
	}
	return mux, keys, clock
}

func get(t *testing.T, h http.Handler, method, host, path string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, "http://"+host+path, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestDiscoveryPerRealm(t *testing.T) {
	mux, _, _ := newHandler(t)
	for host, iss := range map[string]string{
		"id.example.jp":      "https://id.example.jp",
		"id.example.com:443": "https://id.example.com",
		"unknown.example":    "https://id.example.jp", // the fallback realm
	} {
		rec := get(t, mux, http.MethodGet, host, oidc.DiscoveryPath)
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" ||
			rec.Header().Get("Cache-Control") != oidc.CacheControl {
			t.Fatalf("%s: status %d, headers %v", host, rec.Code, rec.Header())
		}
		var got map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{"issuer": iss, "jwks_uri": iss + "/oauth/v2/keys",
			"authorization_endpoint": iss + "/oauth/v2/authorize", "token_endpoint": iss + "/oauth/v2/token",
			"introspection_endpoint": iss + "/oauth/v2/introspect", "revocation_endpoint": iss + "/oauth/v2/revoke",
			"userinfo_endpoint": iss + "/oidc/v1/userinfo", "end_session_endpoint": iss + "/oidc/v1/end_session",
			"id_token_signing_alg_values_supported": []any{"ES256", "RS256"},
			"response_types_supported":              []any{"code"},
			"response_modes_supported":              []any{"query"},
			"grant_types_supported":                 []any{"authorization_code", "refresh_token", "client_credentials"},
			"code_challenge_methods_supported":      []any{"S256"},
			"acr_values_supported":                  []any{"aal1", "aal2"},
			"backchannel_logout_supported":          true,
			"backchannel_logout_session_supported":  true,
			"frontchannel_logout_supported":         true,
			"frontchannel_logout_session_supported": true,
		}
		for k, w := range want {
			if g := mustJSON(got[k]); g != mustJSON(w) {
				t.Errorf("%s: discovery %s = %s, want %s", host, k, g, mustJSON(w))
			}
		}
		for _, k := range []string{"device_authorization_endpoint", "registration_endpoint", "check_session_iframe"} {
			if _, ok := got[k]; ok {
				t.Errorf("%s: discovery offers %s, which Ninsho does not serve", host, k)
			}
		}
	}
	if rec := get(t, mux, http.MethodPost, "id.example.jp", oidc.DiscoveryPath); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST discovery: status %d, want 405", rec.Code)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestJWKSVerifiesTheSigningKey(t *testing.T) {
	ctx := context.Background()
	mux, keys, clock := newHandler(t)
	// The first request makes the realm's first key.
	rec := get(t, mux, http.MethodGet, "id.example.jp", oidc.JWKSPath)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/jwk-set+json" ||
		rec.Header().Get("Cache-Control") != oidc.CacheControl {
		t.Fatalf("jwks: status %d, headers %v, body %s", rec.Code, rec.Header(), rec.Body)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(rec.Body.Bytes(), &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("jwks: %d keys, %v", len(set.Keys), err)
	}
	if !set.Keys[0].IsPublic() || bytes.Contains(rec.Body.Bytes(), []byte(`"d"`)) {
		t.Errorf("jwks has private material: %s", rec.Body)
	}
	sg, err := keys.Signing(ctx, "jp", clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(sg.Key.Alg), Key: sg.JWK()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	jws, _ := signer.Sign([]byte(`{"sub":"x"}`))
	compact, _ := jws.CompactSerialize()
	parsed, err := jose.ParseSigned(compact, []jose.SignatureAlgorithm{jose.ES256, jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	found := set.Key(parsed.Signatures[0].Header.KeyID)
	if len(found) != 1 {
		t.Fatalf("kid %s not in the JWKS", parsed.Signatures[0].Header.KeyID)
	}
	if _, err := parsed.Verify(found[0]); err != nil {
		t.Errorf("signature does not verify with the published key: %v", err)
	}
	// Another realm's JWKS has its own keys, not this one.
	rec = get(t, mux, http.MethodGet, "id.example.com", oidc.JWKSPath)
	var other jose.JSONWebKeySet
	if err := json.Unmarshal(rec.Body.Bytes(), &other); err != nil || len(other.Keys) != 1 || len(other.Key(sg.Key.ID)) != 0 {
		t.Errorf("the other realm's JWKS: %s, %v", rec.Body, err)
	}
	// A rotated key is published before it signs.
	next, err := keys.Rotate(ctx, "jp", signingkey.RS256, "system")
	if err != nil {
		t.Fatal(err)
	}
	rec = get(t, mux, http.MethodGet, "id.example.jp", oidc.JWKSPath)
	set = jose.JSONWebKeySet{}
	if err := json.Unmarshal(rec.Body.Bytes(), &set); err != nil || len(set.Keys) != 2 || len(set.Key(next.ID)) != 1 {
		t.Errorf("after rotation: %s, %v", rec.Body, err)
	}
	if now, _ := keys.Signing(ctx, "jp", clock.Now()); now.Key.ID != sg.Key.ID {
		t.Errorf("the new key signs before its publication delay")
	}
}
