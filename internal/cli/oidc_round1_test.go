package cli_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/oauthclient"
)

// TestOIDCOutsideRound1 holds what the first outside rounds found:
// a public client's loopback redirect URI may change only its port; an
// unreadable request gets the error page (no library internals); scope
// values are counted as sent; request_uri is refused; a third-party client
// introspects only its own tokens.
func TestOIDCOutsideRound1(t *testing.T) {
	app := startIssuer(t, "", nil)
	ctx := context.Background()
	realm := app.Realms.ForHost("127.0.0.1").ID
	native, _, err := app.Clients.Create(ctx, oauthclient.New{Realm: realm, Name: "App", Kind: oauthclient.Public,
		RedirectURIs: []string{"http://127.0.0.1:9999/cb"}, FirstParty: true})
	if err != nil {
		t.Fatal(err)
	}
	noFollow := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	authorize := func(q url.Values) (*http.Response, string) {
		t.Helper()
		if q.Get("response_type") == "" {
			q.Set("response_type", "code")
		}
		if q.Get("client_id") == "" {
			q.Set("client_id", native.ID)
		}
		if q.Get("scope") == "" {
			q.Set("scope", "openid")
		}
		if q.Get("code_challenge") == "" {
			q.Set("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
		}
		if q.Get("code_challenge_method") == "" {
			q.Set("code_challenge_method", "S256")
		}
		res, err := noFollow.Get(app.URL() + "/oauth/v2/authorize?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		var sb strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := res.Body.Read(buf)
			sb.Write(buf[:n])
			if err != nil {
				break
			}
		}
		res.Body.Close()
		return res, sb.String()
	}
	for _, bad := range []string{
		"http://127.0.0.2:9999/cb", "http://[::ffff:127.0.0.1]:9999/cb", "https://127.0.0.1:9999/cb", "HTTP://127.0.0.1:9999/cb",
		"http://evil.com:x@127.0.0.1:9999/cb", "http://127.0.0.1:9999/cb#x", "http://127.0.0.1:9999/%63b", "http://127.0.0.1:0/cb",
		"http://127.0.0.1:99999/cb", "http://localhost:9999/cb", "http://127.0.0.1:9999/cb?x=1", "http://127.0.0.1:9999/cb?",
	} {
		res, body := authorize(url.Values{"redirect_uri": {bad}, "state": {"s"}})
		if res.StatusCode != http.StatusBadRequest || res.Header.Get("Location") != "" || strings.Contains(body, "Parent") ||
			!strings.Contains(res.Header.Get("Content-Type"), "text/html") {
			t.Errorf("redirect_uri %s: %d Location %q", bad, res.StatusCode, res.Header.Get("Location"))
		}
	}
	if res, _ := authorize(url.Values{"redirect_uri": {"http://127.0.0.1:41234/cb"}, "state": {"s"}}); res.StatusCode != http.StatusFound ||
		!strings.HasPrefix(res.Header.Get("Location"), "/oauth/v2/login?id=") {
		t.Errorf("another port of the loopback URI: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	// Unreadable max_age: the error page, never the library's reason.
	if res, body := authorize(url.Values{"redirect_uri": {"http://127.0.0.1:9999/cb"}, "max_age": {"-1"}}); res.StatusCode != http.StatusBadRequest ||
		strings.Contains(body, "Parent") || strings.Contains(body, "schema") {
		t.Errorf("max_age=-1: %d %s", res.StatusCode, body)
	}
	// 25 unknown scope values, request_uri.
	scopes := "openid"
	for i := 0; i < 25; i++ {
		scopes += " s" + string(rune('a'+i))
	}
	res, _ := authorize(url.Values{"redirect_uri": {"http://127.0.0.1:9999/cb"}, "scope": {scopes}, "state": {"s2"}})
	if loc, _ := res.Location(); loc == nil || loc.Query().Get("error") != "invalid_request" || loc.Query().Get("state") != "s2" {
		t.Errorf("25 scope values: %d %v", res.StatusCode, loc)
	}
	res, _ = authorize(url.Values{"redirect_uri": {"http://127.0.0.1:9999/cb"}, "request_uri": {"https://evil.example/r"}})
	if loc, _ := res.Location(); loc == nil || loc.Query().Get("error") != "request_uri_not_supported" {
		t.Errorf("request_uri: %d %v", res.StatusCode, loc)
	}
	// response_type other than code; no openid.
	res, _ = authorize(url.Values{"redirect_uri": {"http://127.0.0.1:9999/cb"}, "response_type": {"token"}})
	if loc, _ := res.Location(); loc == nil || loc.Query().Get("error") != "unsupported_response_type" {
		t.Errorf("response_type=token: %d %v", res.StatusCode, loc)
	}
	res, _ = authorize(url.Values{"redirect_uri": {"http://127.0.0.1:9999/cb"}, "scope": {"email profile"}})
	if loc, _ := res.Location(); loc == nil || loc.Query().Get("error") != "invalid_scope" {
		t.Errorf("scope without openid: %d %v", res.StatusCode, loc)
	}

	// The token endpoint: POST only, never cached, the registered method
	// only, errors with a description.
	post, postSecret, err := app.Clients.Create(ctx, oauthclient.New{Realm: realm, Name: "Partner", Kind: oauthclient.Confidential,
		AuthMethod: oauthclient.AuthSecretPost, RedirectURIs: []string{"https://partner.example.com/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	tokenCall := func(basic bool, form url.Values) (*http.Response, map[string]any) {
		req, _ := http.NewRequest("POST", app.URL()+"/oauth/v2/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if basic {
			req.SetBasicAuth(post.ID, postSecret)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		json.NewDecoder(res.Body).Decode(&out)
		return res, out
	}
	res, out := tokenCall(false, url.Values{"grant_type": {"client_credentials"}, "client_id": {post.ID}, "client_secret": {postSecret}})
	if res.StatusCode != http.StatusOK || res.Header.Get("Cache-Control") != "no-store" || out["access_token"] == nil {
		t.Errorf("client_secret_post: %d %v %v", res.StatusCode, res.Header, out)
	}
	// Revocation with a wrong secret: the token endpoint's wording.
	wr, _ := http.NewRequest("POST", app.URL()+"/oauth/v2/revoke", strings.NewReader(url.Values{"token": {"x"}, "client_id": {post.ID}, "client_secret": {"wrong"}}.Encode()))
	wr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	var wout map[string]any
	if status, body := doJSON(t, wr, &wout); status != http.StatusUnauthorized || wout["error_description"] != "client authentication failed" {
		t.Errorf("revocation with a wrong secret: %d %s", status, body)
	}
	res, out = tokenCall(true, url.Values{"grant_type": {"client_credentials"}})
	if res.StatusCode != http.StatusUnauthorized || out["error"] != "invalid_client" || out["error_description"] == nil ||
		res.Header.Get("WWW-Authenticate") == "" || res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("a client_secret_post client with Basic: %d %v %v", res.StatusCode, res.Header, out)
	}
	res, out = tokenCall(false, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"nope"}, "client_id": {post.ID}, "client_secret": {postSecret}})
	if res.StatusCode != http.StatusBadRequest || out["error"] != "invalid_grant" || out["error_description"] == nil {
		t.Errorf("a bad refresh token: %d %v", res.StatusCode, out)
	}
	if r3, err := http.Get(app.URL() + "/oauth/v2/token"); err != nil || r3.StatusCode != http.StatusMethodNotAllowed || r3.Header.Get("Allow") != "POST" {
		t.Errorf("GET /oauth/v2/token: %v %v", r3.StatusCode, err)
	}
	// Client credentials carry no person scope.
	res, out = tokenCall(false, url.Values{"grant_type": {"client_credentials"}, "client_id": {post.ID}, "client_secret": {postSecret},
		"scope": {"openid email offline_access"}})
	if res.StatusCode != http.StatusOK || out["scope"] != nil && out["scope"] != "" || out["refresh_token"] != nil {
		t.Errorf("client credentials with person scopes: %d %v", res.StatusCode, out)
	}
	// A JSON body; a revocation without a token.
	jr, _ := http.NewRequest("POST", app.URL()+"/oauth/v2/token", strings.NewReader(`{"grant_type":"client_credentials"}`))
	jr.Header.Set("Content-Type", "application/json")
	if r6, err := http.DefaultClient.Do(jr); err != nil || r6.StatusCode != http.StatusBadRequest {
		t.Errorf("a JSON body at the token endpoint: %v %v", r6.StatusCode, err)
	}
	rv, _ := http.NewRequest("POST", app.URL()+"/oauth/v2/revoke", strings.NewReader(url.Values{"client_id": {post.ID}, "client_secret": {postSecret}}.Encode()))
	rv.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if r7, err := http.DefaultClient.Do(rv); err != nil || r7.StatusCode != http.StatusBadRequest {
		t.Errorf("a revocation without a token: %v %v", r7.StatusCode, err)
	}

	// PKCE's challenge as S256 makes it; parameters bounded; prompt=none
	// alone; errors at the redirect URI say why.
	for name, q := range map[string]url.Values{
		"lower-case method": {"code_challenge_method": {"s256"}},
		"long challenge":    {"code_challenge": {strings.Repeat("a", 3000)}},
		"long acr_values":   {"acr_values": {strings.Repeat("aal2 ", 100)}},
		"prompt none login": {"prompt": {"none login"}},
		"fragment mode":     {"response_mode": {"fragment"}},
	} {
		q.Set("redirect_uri", "http://127.0.0.1:9999/cb")
		q.Set("state", "s3")
		res, _ := authorize(q)
		loc, _ := res.Location()
		if loc == nil || loc.Query().Get("error") != "invalid_request" || loc.Query().Get("error_description") == "" ||
			loc.Query().Get("state") != "s3" || loc.Fragment != "" {
			t.Errorf("%s: %d %v", name, res.StatusCode, loc)
		}
	}
	pq := url.Values{"client_id": {native.ID}, "redirect_uri": {"http://127.0.0.1:9999/cb"}, "prompt": {"none"}, "state": {"s4"},
		"response_type": {"code"}, "scope": {"openid"}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"},
		"code_challenge_method": {"S256"}}
	loc, _ := newRPBrowser(t, app.URL()).visit(app.URL() + "/oauth/v2/authorize?" + pq.Encode())
	if loc == nil || loc.Query().Get("error") != "login_required" || loc.Query().Get("error_description") == "" {
		t.Errorf("prompt=none without a session: %v", loc)
	}
	// UserInfo: no token in the URL, GET and POST only.
	if r4, err := http.Get(app.URL() + "/oidc/v1/userinfo?access_token=x"); err != nil || r4.StatusCode != http.StatusBadRequest {
		t.Errorf("userinfo with the token in the URL: %v %v", r4.StatusCode, err)
	}
	req, _ := http.NewRequest("DELETE", app.URL()+"/oidc/v1/userinfo", nil)
	if r5, err := http.DefaultClient.Do(req); err != nil || r5.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("DELETE userinfo: %v %v", r5.StatusCode, err)
	}

	// An id_token_hint that is no ID token of this issuer.
	res, _ = authorize(url.Values{"redirect_uri": {"http://127.0.0.1:9999/cb"}, "id_token_hint": {"abc.def.ghi"}, "state": {"s5"}})
	if loc, _ := res.Location(); loc == nil || loc.Query().Get("error") != "login_required" ||
		loc.Query().Get("error_description") != "the id_token_hint is not an ID token of this issuer" {
		t.Errorf("a garbage id_token_hint: %d %v", res.StatusCode, loc)
	}
	// end_session: GET and POST only.
	dr, _ := http.NewRequest("DELETE", app.URL()+"/oidc/v1/end_session", nil)
	if r8, err := noFollow.Do(dr); err != nil || r8.StatusCode != http.StatusMethodNotAllowed || r8.Header.Get("Allow") != "GET, POST" {
		t.Errorf("DELETE end_session: %v %v", r8.StatusCode, err)
	}

	// end_session with an unreadable hint: the error page.
	r2, err := noFollow.Get(app.URL() + "/oidc/v1/end_session?id_token_hint=abc.def.ghi")
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != http.StatusBadRequest || !strings.Contains(r2.Header.Get("Content-Type"), "text/html") {
		t.Errorf("end_session with a bad hint: %d %v", r2.StatusCode, r2.Header)
	}
}
