// Package oidc is the HTTP adapter of Ninsho's OpenID Connect provider
// (issue 14). The protocol is github.com/zitadel/oidc/v3/pkg/op
// (OpenID-certified); this package implements its storage on Ninsho's
// services (storage.go) and bridges its authorization endpoint to Ninsho's
// own hosted sign-in (login.go). Each realm is an issuer, chosen by the
// Host as on every route. It only translates: clients are kept by
// oauthclient, codes and tokens by grant, keys by signingkey.
package oidc

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/rs/cors"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/ninsho/ninsho/internal/clientip"
	"github.com/ninsho/ninsho/internal/consent"
	"github.com/ninsho/ninsho/internal/grant"
	"github.com/ninsho/ninsho/internal/httperr"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/oauthclient"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/secret"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/signingkey"
	"github.com/ninsho/ninsho/internal/twostep"
	"github.com/ninsho/ninsho/internal/web/webreq"
)

// Paths served.
const (
	DiscoveryPath  = "/.well-known/openid-configuration"
	JWKSPath       = "/oauth/v2/keys"
	AuthorizePath  = "/oauth/v2/authorize"
	TokenPath      = "/oauth/v2/token"
	IntrospectPath = "/oauth/v2/introspect"
	RevokePath     = "/oauth/v2/revoke"
	UserinfoPath   = "/oidc/v1/userinfo"
	EndSessionPath = "/oidc/v1/end_session"
	// LoginPath is where the authorization endpoint sends the browser; it
	// goes on to the hosted sign-in and comes back (login.go).
	LoginPath = webreq.OIDCLoginPath
)

// CacheControl is sent with the JWKS: relying parties refetch keys within
// minutes, well inside signingkey.PublicationDelay.
const CacheControl = "public, max-age=300"

// Scopes offered.
var Scopes = []string{"openid", "profile", "email", "phone", "offline_access", ScopeOrganisations}

// ScopeOrganisations asks for the claim ClaimOrganisations: the
// organisations the person belongs to, with their role.
const ScopeOrganisations = "organisations"

// ClaimOrganisations is the claim of the organisations scope (in the ID
// token and at UserInfo): an array of {id, name, kind, status, role},
// as GET /api/v1/me's organisations.
const ClaimOrganisations = "organisations"

// GrantTypes are the grants the token endpoint accepts; any other
// grant_type is unsupported_grant_type.
var GrantTypes = []string{"authorization_code", "refresh_token", "client_credentials"}

// Handler serves the OpenID Connect routes.
type Handler struct {
	Realms   *realm.Registry
	Keys     *signingkey.Service
	Now      func() time.Time
	Clients  Clients
	Accounts Accounts
	Grants   *grant.Service
	// Box seals authorization requests; Hasher derives subjects and the
	// key that encrypts access tokens.
	Box    *secret.Box
	Hasher *secret.Hasher
	// Sessions lists the clients of a session for front-channel logout;
	// nil: none is told.
	Sessions SessionClients
	// Signin reads and ends the browser's Ninsho session.
	Signin  *signin.Service
	TwoStep *twostep.Service
	// Consents keeps what people allowed third-party clients (consent.go);
	// nil: third-party clients are refused with consent_required.
	Consents *consent.Service
	// Organisations lists a person's organisations for the organisations
	// scope (org.Service); nil: the claim is never set.
	Organisations Organisations
	// ClientIP resolves the client address for events.
	ClientIP      *clientip.Resolver
	SecureCookies bool
	// WriteError writes the login bridge's error pages (the hosted pages'
	// error page); nil writes a plain one.
	WriteError func(http.ResponseWriter, *http.Request, error)

	provider *op.Provider
	storage  *storage
}

// Issuer is a realm's issuer: its public URL without a trailing slash.
func Issuer(rl *realm.Realm) string { return strings.TrimRight(rl.BaseURL, "/") }

// Init builds the provider; Mount calls it.
func (h *Handler) Init() error {
	if h.provider != nil {
		return nil
	}
	h.storage = &storage{clients: h.Clients, accounts: h.Accounts, grants: h.Grants, keys: h.Keys,
		box: h.Box, hasher: h.Hasher, now: h.Now, signout: h.endSession, consents: h.Consents, orgs: h.Organisations}
	var key [32]byte
	copy(key[:], h.Hasher.Hash("oidc_access_token_key"))
	cfg := &op.Config{
		CryptoKey:                key,
		DefaultLogoutRedirectURI: "/signin",
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		AuthMethodPrivateKeyJWT:  true,
		GrantTypeRefreshToken:    true,
		SupportedUILocales:       []language.Tag{language.Japanese, language.English},
		SupportedScopes:          Scopes,
		SupportedClaims: []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp",
			"at_hash", "c_hash", "sid", "name", "locale", "email", "email_verified", "phone_number", "phone_number_verified", ClaimOrganisations},
	}
	issuer := func(bool) (op.IssuerFromRequest, error) {
		return func(r *http.Request) string { return Issuer(h.Realms.ForHost(r.Host)) }, nil
	}
	p, err := op.NewProvider(cfg, h.storage, issuer,
		op.WithAllowInsecure(),
		// Cross-origin calls (a single-page app's token and userinfo
		// requests) without credentials: nothing here is cookie-based
		// except the browser's own navigations.
		op.WithCORSOptions(&cors.Options{
			AllowedHeaders:  []string{"Origin", "Accept", "Accept-Language", "Authorization", "Content-Type", "X-Requested-With"},
			AllowedMethods:  []string{http.MethodGet, http.MethodHead, http.MethodPost},
			ExposedHeaders:  []string{"Location", "Content-Length"},
			AllowOriginFunc: func(string) bool { return true },
		}),
		op.WithCustomAuthEndpoint(op.NewEndpoint(strings.TrimPrefix(AuthorizePath, "/"))),
		op.WithCustomTokenEndpoint(op.NewEndpoint(strings.TrimPrefix(TokenPath, "/"))),
		op.WithCustomIntrospectionEndpoint(op.NewEndpoint(strings.TrimPrefix(IntrospectPath, "/"))),
		op.WithCustomUserinfoEndpoint(op.NewEndpoint(strings.TrimPrefix(UserinfoPath, "/"))),
		op.WithCustomRevocationEndpoint(op.NewEndpoint(strings.TrimPrefix(RevokePath, "/"))),
		op.WithCustomEndSessionEndpoint(op.NewEndpoint(strings.TrimPrefix(EndSessionPath, "/"))),
		op.WithCustomKeysEndpoint(op.NewEndpoint(strings.TrimPrefix(JWKSPath, "/"))),
	)
	if err != nil {
		return ninsho.Internal("oidc: provider: %v", err)
	}
	h.provider = p
	return nil
}

// Mount adds the routes to mux.
func (h *Handler) Mount(mux *http.ServeMux) error {
	if err := h.Init(); err != nil {
		return err
	}
	mux.HandleFunc(JWKSPath, h.jwks)
	mux.HandleFunc(DiscoveryPath, h.discovery)
	mux.HandleFunc(LoginPath, h.login)
	for _, p := range []string{AuthorizePath, TokenPath, IntrospectPath, RevokePath, UserinfoPath, EndSessionPath} {
		mux.HandleFunc(p, h.serveOP)
	}
	return nil
}

// serveOP hands a protocol request to the library with what the storage
// needs to know about it: the realm, the browser's session token and who
// is asking.
func (h *Handler) serveOP(w http.ResponseWriter, r *http.Request) {
	rc := h.reqContext(r)
	r = r.WithContext(withReq(r.Context(), rc))
	switch r.URL.Path {
	case TokenPath, IntrospectPath, RevokePath:
		// Answers that carry tokens or say what a token is are never
		// stored by caches (RFC 6749 §5.1).
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Pragma", "no-cache")
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			writeOAuthError(w, http.StatusMethodNotAllowed, "invalid_request", "use POST")
			return
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(strings.ToLower(ct), "application/x-www-form-urlencoded") {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "the body must be application/x-www-form-urlencoded")
			return
		}
		if err := r.ParseForm(); err != nil {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "the form cannot be read")
			return
		}
		if r.URL.Path != TokenPath && r.PostForm.Get("token") == "" {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "token is required")
			return
		}
		switch r.URL.Path {
		case TokenPath:
			if h.checkToken(w, r, rc) {
				h.serveRewritten(w, r, oauthErrorDetails(w))
			}
		case RevokePath:
			if h.checkAuthMethod(w, r, rc) {
				h.serveRewritten(w, r, oauthErrorDetails(w))
			}
		default:
			h.introspect(w, r)
		}
	case AuthorizePath:
		if h.checkAuthorize(w, r, rc) {
			// What the library still refuses before it knows the redirect
			// URI is usable (an unreadable max_age, a body too large) gets
			// the error page too, never its internal reason.
			h.serveRewritten(w, r, func(status int, _ []byte) bool {
				if status < 400 {
					return false
				}
				h.writeError(w, r, ninsho.E(ninsho.CodeRequestInvalid))
				return true
			})
		}
	case UserinfoPath:
		h.userinfo(w, r)
	case EndSessionPath:
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			w.Header().Set("Allow", "GET, POST")
			h.writeError(w, r, ninsho.E(ninsho.CodeMethodNotAllowed))
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxAuthorizeBody)
		}
		if err := r.ParseForm(); err != nil || len(r.Form.Get("state")) > maxStateBytes ||
			len(r.Form.Get("post_logout_redirect_uri")) > realm.MaxReturnToBytes ||
			len(r.Form.Get("id_token_hint")) > 4096 || len(r.Form.Get("ui_locales")) > 256 ||
			len(r.Form.Get("client_id")) > 256 || len(r.Form.Get("logout_hint")) > 256 {
			h.writeError(w, r, ninsho.E(ninsho.CodeRequestInvalid))
			return
		}
		sw := &signoutWriter{ResponseWriter: w, r: r, rc: rc, cookies: webreq.Cookies{Secure: h.SecureCookies}}
		// A refused logout request (an invalid id_token_hint, a
		// post-logout URI the client did not register, an unreadable
		// parameter) gets the error page, never the library's text.
		h.serveRewritten(sw, r, func(status int, _ []byte) bool {
			if status < 400 {
				return false
			}
			h.writeError(sw, r, ninsho.E(ninsho.CodeRequestInvalid))
			return true
		})
	default:
		h.provider.ServeHTTP(w, r)
	}
}

// checkToken refuses, before the library, what the token endpoint does not
// take: a grant Ninsho does not offer, a client authenticating otherwise
// than it registered. It verifies a private_key_jwt client's assertion for
// client credentials, which the library takes only with a secret (the
// storage is told which client it proved: ClientCredentials).
func (h *Handler) checkToken(w http.ResponseWriter, r *http.Request, rc *reqContext) bool {
	if !slices.Contains(GrantTypes, r.PostForm.Get("grant_type")) {
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type must be one of "+strings.Join(GrantTypes, ", "))
		return false
	}
	if !h.checkAuthMethod(w, r, rc) {
		return false
	}
	// The client first: a stranger without the client's secret learns
	// nothing about a code or a refresh token (the library looks at
	// those before it checks the secret).
	if id, secret, ok := r.BasicAuth(); ok || r.PostForm.Get("client_secret") != "" {
		if ok {
			if u, err := url.QueryUnescape(id); err == nil {
				id = u
			}
			if u, err := url.QueryUnescape(secret); err == nil {
				secret = u
			}
		} else {
			id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		}
		if _, err := rc.clients.Authenticate(r.Context(), rc.realm.ID, id, secret); err != nil {
			unauthorizedClient(w, errorDescriptions["invalid_client"])
			return false
		}
	}
	if r.PostForm.Get("grant_type") == "client_credentials" && r.PostForm.Get("client_assertion") != "" {
		ctx := op.ContextWithIssuer(r.Context(), Issuer(rc.realm))
		id, err := op.ClientJWTAuth(ctx, zoidc.ClientAssertionParams{
			ClientAssertion:     r.PostForm.Get("client_assertion"),
			ClientAssertionType: r.PostForm.Get("client_assertion_type"),
		}, h.provider)
		if err != nil || r.PostForm.Get("client_assertion_type") != zoidc.ClientAssertionTypeJWTAssertion ||
			(r.PostForm.Get("client_id") != "" && r.PostForm.Get("client_id") != id) {
			unauthorizedClient(w, "the client assertion was not accepted")
			return false
		}
		rc.assertedClient = id
		r.PostForm.Set("client_id", id)
		r.Form.Set("client_id", id)
	}
	return true
}

// checkAuthMethod refuses a client that authenticates at the token or
// revocation endpoint otherwise than with its registered method (the
// library takes either secret method from either kind of client). An
// assertion is the library's to check (only private_key_jwt clients have
// keys); an unknown client is left to the library (invalid_client).
func (h *Handler) checkAuthMethod(w http.ResponseWriter, r *http.Request, rc *reqContext) bool {
	_, _, basic := r.BasicAuth()
	methods := 0
	for _, used := range []bool{basic, r.PostForm.Get("client_secret") != "", r.PostForm.Get("client_assertion") != ""} {
		if used {
			methods++
		}
	}
	if methods > 1 { // RFC 6749 §2.3: one method per request
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "use one client authentication method")
		return false
	}
	if a := r.PostForm.Get("client_assertion"); a != "" {
		rc.presentingClient = assertionSubject(a)
		return true
	}
	id, used := r.PostForm.Get("client_id"), oauthclient.AuthNone
	if user, _, ok := r.BasicAuth(); ok {
		id, used = user, oauthclient.AuthSecretBasic
		if u, err := url.QueryUnescape(user); err == nil {
			id = u
		}
		if form := r.PostForm.Get("client_id"); form != "" && form != id {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "client_id differs from the authenticated client")
			return false
		}
	} else if r.PostForm.Get("client_secret") != "" {
		used = oauthclient.AuthSecretPost
	}
	rc.presentingClient = id
	c, err := rc.clients.Get(r.Context(), rc.realm.ID, id)
	if err != nil || c.AuthMethod == used {
		return true
	}
	unauthorizedClient(w, "this client authenticates with "+c.AuthMethod)
	return false
}

// assertionSubject is the sub of a client assertion, read without checking
// it (the library verifies it before the storage is asked anything), or "".
func assertionSubject(jwt string) string {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var claims struct {
		Sub string `json:"sub"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return ""
	}
	return claims.Sub
}

// InvalidGrantDescription is the one error_description of a refused code
// or refresh token.
const InvalidGrantDescription = "the code or refresh token is unknown, expired, used, revoked or not this client's"

// unauthorizedClient answers 401 invalid_client (RFC 6749 §5.2).
func unauthorizedClient(w http.ResponseWriter, description string) {
	w.Header().Set("WWW-Authenticate", `Basic realm="ninsho"`)
	writeOAuthError(w, http.StatusUnauthorized, "invalid_client", description)
}

// oauthErrorDetails completes the library's OAuth error answers: an
// error_description where it gave none, and WWW-Authenticate on 401.
func oauthErrorDetails(w http.ResponseWriter) func(int, []byte) bool {
	return func(status int, body []byte) bool {
		if status < 400 {
			return false
		}
		var e map[string]any
		if json.Unmarshal(body, &e) != nil {
			return false
		}
		code, _ := e["error"].(string)
		desc, _ := e["error_description"].(string)
		if desc == "" || code == "invalid_client" {
			// One wording for a refused client, whichever endpoint and
			// reason (the library words them differently).
			desc = errorDescriptions[code]
		}
		if code == "" || desc == "" {
			return false
		}
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="ninsho"`)
		}
		writeOAuthError(w, status, code, desc)
		return true
	}
}

// errorDescriptions are said where the library gives no description.
var errorDescriptions = map[string]string{
	"invalid_client":         "client authentication failed",
	"invalid_grant":          InvalidGrantDescription,
	"invalid_request":        "the request is missing a parameter or has a wrong one",
	"invalid_scope":          "a scope was not granted",
	"unauthorized_client":    "this client may not use this grant",
	"unsupported_grant_type": "grant_type must be one of " + strings.Join(GrantTypes, ", "),
	"server_error":           "the server could not answer; try again",
}

func (h *Handler) reqContext(r *http.Request) *reqContext {
	rl := h.Realms.ForHost(r.Host)
	token, _ := webreq.SessionToken(r)
	locale := webreq.Locale(r, rl)
	return &reqContext{realm: rl, sessionToken: token, clients: newClientMemo(h.Clients),
		req: webreq.Request(r, h.ClientIP, ninsho.ClientPage, locale, webreq.DeviceToken(r))}
}

// maxAuthorizeBody bounds a POSTed authorization request.
const maxAuthorizeBody = 64 << 10

// checkAuthorize checks what the library checks too loosely before it
// sees an authorization request, and reports whether the request may go on:
// the redirect URI must be one the client registered, matched exactly
// (oauthclient.Client.AcceptsRedirect: only a public client's loopback URI
// may change its port) — else the error page, never a redirect; then, at
// that redirect URI, more than maxScopes scope values or a request_uri is
// invalid_request / request_uri_not_supported.
func (h *Handler) checkAuthorize(w http.ResponseWriter, r *http.Request, rc *reqContext) bool {
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxAuthorizeBody)
	}
	if err := r.ParseForm(); err != nil {
		h.writeError(w, r, ninsho.E(ninsho.CodeRequestInvalid))
		return false
	}
	redirect := r.Form.Get("redirect_uri")
	c, err := rc.clients.Get(r.Context(), rc.realm.ID, r.Form.Get("client_id"))
	if err != nil || redirect == "" || !c.AcceptsRedirect(redirect) {
		h.writeError(w, r, ninsho.E(ninsho.CodeRequestInvalid))
		return false
	}
	refuse := func(code, description string) bool {
		u, err := url.Parse(redirect)
		if err != nil {
			h.writeError(w, r, ninsho.E(ninsho.CodeRequestInvalid))
			return false
		}
		q := u.Query()
		q.Set("error", code)
		q.Set("error_description", description)
		if st := r.Form.Get("state"); st != "" {
			q.Set("state", st)
		}
		u.RawQuery = q.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
		return false
	}
	if rm := r.Form.Get("response_mode"); rm != "" && rm != "query" {
		return refuse("invalid_request", "response_mode must be query")
	}
	if rt := r.Form.Get("response_type"); rt != "code" {
		return refuse("unsupported_response_type", "response_type must be code")
	}
	if r.Form.Get("request") != "" {
		return refuse("request_not_supported", "request objects are not supported")
	}
	for _, p := range []string{"acr_values", "prompt", "ui_locales", "display", "claims_locales", "id_token_hint", "claims"} {
		if len(r.Form.Get(p)) > maxParamBytes(p) {
			return refuse("invalid_request", p+" is too long")
		}
	}
	if cc := r.Form.Get("code_challenge"); cc != "" {
		if m := r.Form.Get("code_challenge_method"); m != "S256" {
			return refuse("invalid_request", "code_challenge_method must be S256")
		}
		if !pkceChallenge(cc) {
			return refuse("invalid_request", "code_challenge must be 43 base64url characters (S256)")
		}
	}
	if prompts := strings.Fields(r.Form.Get("prompt")); slices.Contains(prompts, "none") && len(prompts) > 1 {
		return refuse("invalid_request", "prompt=none cannot be combined with another value")
	}
	if hint := r.Form.Get("id_token_hint"); hint != "" {
		ctx := op.ContextWithIssuer(r.Context(), Issuer(rc.realm))
		claims, err := op.VerifyIDTokenHint[*zoidc.IDTokenClaims](ctx, hint, h.provider.IDTokenHintVerifier(ctx))
		if err != nil && !errors.As(err, &op.IDTokenHintExpiredError{}) {
			return refuse("login_required", "the id_token_hint is not an ID token of this issuer")
		}
		// Only the client's own ID token: another application's would let
		// it learn, without consent, whether this browser is that person.
		if claims == nil || (claims.GetAuthorizedParty() != c.ID && !slices.Contains(claims.GetAudience(), c.ID)) {
			return refuse("login_required", "the id_token_hint was issued to another client")
		}
	}
	if !slices.Contains(strings.Fields(r.Form.Get("scope")), "openid") {
		return refuse("invalid_scope", "scope must contain openid")
	}
	if r.Form.Get("request_uri") != "" {
		return refuse("request_uri_not_supported", "request_uri is not supported")
	}
	if len(strings.Fields(r.Form.Get("scope"))) > maxScopes {
		return refuse("invalid_request", "more than 20 scope values")
	}
	return true
}

// maxParamBytes is the longest value of an authorization parameter the
// checks above bound (the request travels sealed in the login URL).
func maxParamBytes(p string) int {
	if p == "id_token_hint" || p == "claims" {
		return 4096
	}
	return 256
}

// pkceChallenge reports whether cc is an S256 challenge: the base64url
// encoding (no padding) of a SHA-256 digest, 43 characters.
func pkceChallenge(cc string) bool {
	if len(cc) != 43 {
		return false
	}
	for i := 0; i < len(cc); i++ {
		c := cc[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// userinfo serves the library's UserInfo endpoint and answers every refused
// token alike, as RFC 6750 §3.1 asks: 401, WWW-Authenticate: Bearer
// error="invalid_token", and a JSON body with the same error (the library
// answers a missing or unreadable token 401 in plain text and a revoked,
// expired or client's own token 403).
func (h *Handler) userinfo(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		writeOAuthError(w, http.StatusMethodNotAllowed, "invalid_request", "use GET or POST")
		return
	}
	// A token in the URL ends up in logs and histories (RFC 6750 §2.3).
	if r.URL.Query().Get("access_token") != "" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "send the access token in the Authorization header")
		return
	}
	h.serveRewritten(w, r, func(status int, _ []byte) bool {
		if status != http.StatusUnauthorized && status != http.StatusForbidden {
			return false
		}
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeOAuthError(w, http.StatusUnauthorized, "invalid_token", "the access token is missing, unknown, expired or revoked")
		return true
	})
}

// introspect serves the library's introspection endpoint; a refused
// caller gets the OAuth error JSON (the library answers in plain text,
// with its internal reason).
func (h *Handler) introspect(w http.ResponseWriter, r *http.Request) {
	h.serveRewritten(w, r, func(status int, _ []byte) bool {
		if status < 400 {
			return false
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="ninsho"`)
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed (a confidential client of this realm)")
		return true
	})
}

// serveRewritten runs the library on r into a buffer; refuse may write its
// own answer for the library's status (and returns true), else the
// library's answer is passed on.
func (h *Handler) serveRewritten(w http.ResponseWriter, r *http.Request, refuse func(status int, body []byte) bool) {
	rec := httptest.NewRecorder()
	h.provider.ServeHTTP(rec, r)
	res := rec.Result()
	if refuse(res.StatusCode, rec.Body.Bytes()) {
		return
	}
	for k, v := range res.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(res.StatusCode)
	w.Write(rec.Body.Bytes())
}

// signoutWriter clears the session cookie on the end-session answer when
// the session was ended.
type signoutWriter struct {
	http.ResponseWriter
	r        *http.Request
	rc       *reqContext
	cookies  webreq.Cookies
	wrote    bool
	replaced bool // the front-channel page was written instead
}

func (s *signoutWriter) WriteHeader(code int) {
	if s.wrote {
		return
	}
	s.wrote = true
	if s.rc.signedOut {
		s.cookies.ClearSession(s.ResponseWriter, s.r)
		if len(s.rc.frontchannel) > 0 && (code == http.StatusFound || code == http.StatusSeeOther) {
			s.replaced = true
			locale := s.rc.req.Locale
			if l := uiLocale(strings.Fields(s.r.FormValue("ui_locales"))); l != "" {
				locale = l
			}
			writeFrontchannel(s.ResponseWriter, s.rc.frontchannel, s.Header().Get("Location"), locale)
			return
		}
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *signoutWriter) Write(b []byte) (int, error) {
	if !s.wrote {
		s.WriteHeader(http.StatusOK)
	}
	if s.replaced {
		return len(b), nil
	}
	return s.ResponseWriter.Write(b)
}

// endSession ends the browser's session when the id_token_hint names it.
func (h *Handler) endSession(ctx context.Context, rc *reqContext, sid, sub string) error {
	if rc.sessionToken == "" {
		return nil
	}
	pr, err := h.Signin.Authenticate(ctx, rc.realm, rc.sessionToken)
	if err != nil || pr == nil || pr.Session == nil {
		return nil
	}
	if sid != pr.Session.ID && (sid != "" || sub != h.storage.subject(rc.realm.ID, pr.Session.AccountID)) {
		return nil
	}
	rc.frontchannel = h.frontchannelURLs(ctx, rc.realm, pr.Session.ID)
	if err := h.Signin.Signout(ctx, rc.realm, rc.req, rc.sessionToken); err != nil && !ninsho.IsCode(err, ninsho.CodeUnauthenticated) {
		return err
	}
	rc.signedOut = true
	return nil
}

// writeOAuthError writes an RFC 6749 §5.2 error answer.
func writeOAuthError(w http.ResponseWriter, status int, code, description string) {
	body, _ := json.Marshal(map[string]string{"error": code, "error_description": description})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(body)
}

// discovery serves the realm's discovery document: the library's, with
// only what Ninsho offers (the authorization code flow, three grants, no
// device flow), the acr values it knows and back-channel logout.
func (h *Handler) discovery(w http.ResponseWriter, r *http.Request) {
	rl := h.Realms.ForHost(r.Host)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		httperr.WriteProblem(w, r, ninsho.E(ninsho.CodeMethodNotAllowed), webreq.Locale(r, rl), httperr.RequestID(r.Context()))
		return
	}
	ctx := op.ContextWithIssuer(withReq(r.Context(), &reqContext{realm: rl}), Issuer(rl))
	d := op.CreateDiscoveryConfig(ctx, h.provider, h.storage)
	d.DeviceAuthorizationEndpoint = ""
	d.ResponseTypesSupported = []string{"code"}
	d.ResponseModesSupported = []string{"query"}
	d.GrantTypesSupported = nil
	for _, g := range GrantTypes {
		d.GrantTypesSupported = append(d.GrantTypesSupported, zoidc.GrantType(g))
	}
	d.ACRValuesSupported = []string{ACR1, ACR2}
	// Client assertions (private_key_jwt) are checked against the client's
	// own JWK Set, EC or RSA.
	algs := []string{"ES256", "RS256"}
	d.TokenEndpointAuthSigningAlgValuesSupported = algs
	d.RevocationEndpointAuthSigningAlgValuesSupported = algs
	d.IntrospectionEndpointAuthSigningAlgValuesSupported = algs
	// Back-channel (backchannel.go) and front-channel (frontchannel.go)
	// logout, both with sid; the library's document has no front-channel
	// members, so they are added to its JSON.
	d.BackChannelLogoutSupported, d.BackChannelLogoutSessionSupported = true, true
	var doc map[string]any
	body, err := json.Marshal(d)
	if err == nil {
		if err = json.Unmarshal(body, &doc); err == nil {
			doc["frontchannel_logout_supported"], doc["frontchannel_logout_session_supported"] = true, true
			body, err = json.Marshal(doc)
		}
	}
	if err != nil {
		httperr.WriteProblem(w, r, ninsho.Internal("oidc: discovery: %v", err), webreq.Locale(r, rl), httperr.RequestID(r.Context()))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", CacheControl)
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Write(body)
}

func (h *Handler) jwks(w http.ResponseWriter, r *http.Request) {
	rl := h.Realms.ForHost(r.Host)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		httperr.WriteProblem(w, r, ninsho.E(ninsho.CodeMethodNotAllowed), webreq.Locale(r, rl), httperr.RequestID(r.Context()))
		return
	}
	keys, err := h.Keys.Published(r.Context(), rl.ID, h.Now())
	if err == nil {
		set, jerr := signingkey.JWKS(keys)
		if err = jerr; err == nil {
			body, merr := json.Marshal(set)
			if err = merr; err == nil {
				w.Header().Set("Content-Type", "application/jwk-set+json")
				w.Header().Set("Cache-Control", CacheControl)
				w.Header().Set("Access-Control-Allow-Origin", "*")
				w.Write(body)
				return
			}
		}
	}
	httperr.WriteProblem(w, r, err, webreq.Locale(r, rl), httperr.RequestID(r.Context()))
}
