package oidc

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/consent"
	"github.com/ninsho/ninsho/internal/grant"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/oauthclient"
	"github.com/ninsho/ninsho/internal/org"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/secret"
	"github.com/ninsho/ninsho/internal/signingkey"
)

// Clients finds and authenticates registered clients (oauthclient.Service).
type Clients interface {
	Get(ctx context.Context, realm, id string) (*oauthclient.Client, error)
	Authenticate(ctx context.Context, realm, id, secret string) (*oauthclient.Client, error)
}

// Accounts reads accounts by id.
type Accounts interface {
	Account(ctx context.Context, id string) (*account.Account, error)
}

// Organisations lists the organisations a person belongs to
// (org.Service.Mine).
type Organisations interface {
	Mine(ctx context.Context, realm, accountID string) ([]org.Affiliation, error)
}

// storage is Ninsho's implementation of the zitadel op.Storage: it only
// translates between the library and Ninsho's services. The realm of every
// call is the one the request's Host selected (put in the context by
// Handler.serveOP).
type storage struct {
	clients  Clients
	accounts Accounts
	grants   *grant.Service
	keys     *signingkey.Service
	box      *secret.Box
	hasher   *secret.Hasher
	now      func() time.Time
	signout  func(ctx context.Context, rc *reqContext, sid, sub string) error
	consents *consent.Service
	orgs     Organisations
}

var (
	_ op.Storage                        = (*storage)(nil)
	_ op.ClientCredentialsStorage       = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest      = (*storage)(nil)
	_ op.CanTerminateSessionFromRequest = (*storage)(nil)
)

// reqContext is what the HTTP layer tells the storage about a request.
type reqContext struct {
	realm        *realm.Realm
	sessionToken string
	req          ninsho.Request
	// signedOut is set when end_session ended the browser's session: the
	// handler clears the cookie; frontchannel are the front-channel logout
	// URLs of the clients of that session (the page loads them).
	signedOut    bool
	frontchannel []string
	// assertedClient is the client whose private_key_jwt assertion the
	// token endpoint verified (client credentials).
	assertedClient string
	// clients reads each client once for this request (clientMemo).
	clients *clientMemo
	// presentingClient is the client a token or revocation request comes
	// from (the Basic user, the form's client_id, or an assertion's
	// subject, which the library verifies before any storage call): a code
	// or refresh token of another client is refused without effect.
	presentingClient string
}

type ctxKey struct{}

func withReq(ctx context.Context, rc *reqContext) context.Context {
	return context.WithValue(ctx, ctxKey{}, rc)
}

func reqOf(ctx context.Context) *reqContext {
	rc, _ := ctx.Value(ctxKey{}).(*reqContext)
	if rc == nil {
		return &reqContext{realm: &realm.Realm{}}
	}
	return rc
}

func realmOf(ctx context.Context) string { return reqOf(ctx).realm.ID }

// Subject is the sub claim of an account in a realm: stable, opaque and
// different in every realm (a keyed hash of realm and account id).
func Subject(h *secret.Hasher, realm, accountID string) string {
	return base64.RawURLEncoding.EncodeToString(h.Hash("oidc_subject", realm, accountID)[:16])
}

func (s *storage) subject(realm, accountID string) string { return Subject(s.hasher, realm, accountID) }

// notFound marks errors the library reports as "not found".
type notFound struct{ error }

func (notFound) IsNotFound() {}

// --- authorization requests

func (s *storage) CreateAuthRequest(ctx context.Context, r *zoidc.AuthRequest, hintSubject string) (op.AuthRequest, error) {
	rl := reqOf(ctx).realm
	c, err := s.clientsFor(ctx).Get(ctx, rl.ID, r.ClientID)
	if err != nil {
		return nil, zoidc.ErrInvalidClient()
	}
	if r.ResponseType != zoidc.ResponseTypeCode {
		return nil, zoidc.ErrInvalidRequest().WithDescription("response_type must be code")
	}
	if r.ResponseMode != "" && r.ResponseMode != zoidc.ResponseModeQuery {
		return nil, zoidc.ErrInvalidRequest().WithDescription("response_mode must be query")
	}
	if r.CodeChallenge != "" && r.CodeChallengeMethod != zoidc.CodeChallengeMethodS256 {
		return nil, zoidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	}
	if c.Kind == oauthclient.Public && r.CodeChallenge == "" {
		return nil, zoidc.ErrInvalidRequest().WithDescription("PKCE (code_challenge with S256) is required for public clients")
	}
	if len(r.State) > maxStateBytes || len(r.Nonce) > maxNonceBytes || len(r.LoginHint) > maxLoginHintBytes || len(r.Scopes) > maxScopes {
		return nil, zoidc.ErrInvalidRequest().WithDescription("state, nonce, login_hint or scope too long")
	}
	a := &authRequest{
		Realm: rl.ID, ClientID: r.ClientID, RedirectURI: r.RedirectURI, Scopes: r.Scopes, State: r.State,
		Nonce: r.Nonce, Challenge: r.CodeChallenge, Method: string(r.CodeChallengeMethod),
		ResponseMode: string(r.ResponseMode), Prompt: r.Prompt, MaxAge: r.MaxAge, LoginHint: r.LoginHint,
		ACRValues: r.ACRValues, HintSubject: hintSubject, CreatedAt: s.now(),
	}
	for _, t := range r.UILocales {
		a.UILocales = append(a.UILocales, t.String())
	}
	if a.id, err = a.seal(s.box); err != nil {
		return nil, err
	}
	// The login URL travels as return_to through the pages, which keep
	// one of at most realm.MaxReturnToBytes.
	if len(LoginURL(a.id)) > realm.MaxReturnToBytes {
		return nil, zoidc.ErrInvalidRequest().WithDescription("the request is too large")
	}
	return a, nil
}

func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	a := openRequest(s.box, realmOf(ctx), id, s.now())
	if a == nil {
		return nil, notFound{errors.New("oidc: no such authorization request")}
	}
	return a, nil
}

func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	g, err := s.grants.Redeem(ctx, realmOf(ctx), code)
	// One answer for a code that is not this client's to redeem, whatever
	// the reason: a stranger learns nothing about it (not whether it is a
	// code, nor whether it has a PKCE challenge).
	if err != nil || (reqOf(ctx).presentingClient != "" && g.ClientID != reqOf(ctx).presentingClient) {
		return nil, zoidc.ErrInvalidGrant().WithDescription("%s", InvalidGrantDescription)
	}
	return fromAuthorization(g, s.subject(g.Realm, g.AccountID)), nil
}

func (s *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	return s.grants.SetCode(ctx, id, code)
}

// DeleteAuthRequest keeps the redeemed authorization: a second use of its
// code must still be recognised (and revokes what it issued).
func (s *storage) DeleteAuthRequest(context.Context, string) error { return nil }

// --- tokens

// issue describes the token request r for grant.Service.
func (s *storage) issue(ctx context.Context, r op.TokenRequest) grant.Issue {
	in := grant.Issue{Realm: realmOf(ctx), Scopes: r.GetScopes(), Audience: r.GetAudience()}
	switch t := r.(type) {
	case *authRequest:
		in.ClientID, in.AccountID, in.SessionID, in.Family = t.ClientID, t.accountID, t.sessionID, t.id
		in.AuthTime, in.AMR, in.ACR = t.authTime, t.amr, t.acr
	case *tokenRequest:
		in.ClientID, in.AccountID, in.SessionID, in.Family = t.clientID, t.accountID, t.sessionID, t.family
		in.AuthTime, in.AMR, in.ACR, in.SessionExpiresAt = t.authTime, t.amr, t.acr, t.sessionExpires
	}
	return in
}

// consume marks a code's authorization redeemed when r is one (the library
// has checked the client, the redirect URI and the PKCE verifier by now).
func (s *storage) consume(ctx context.Context, r op.TokenRequest) error {
	a, ok := r.(*authRequest)
	if !ok {
		return nil
	}
	// A third-party client's code redeems only while the person still
	// allows it (access removed between the code and its redemption).
	if s.consents != nil {
		c, err := s.clientsFor(ctx).Get(ctx, realmOf(ctx), a.ClientID)
		if err != nil {
			return zoidc.ErrInvalidClient()
		}
		if !c.FirstParty {
			cs, err := s.consents.Get(ctx, realmOf(ctx), a.accountID, a.ClientID)
			if err != nil {
				return err
			}
			if cs == nil || !cs.Covers(a.Scopes) {
				return zoidc.ErrInvalidGrant().WithDescription("the person no longer allows this application")
			}
		}
	}
	if err := s.grants.Consume(ctx, realmOf(ctx), a.id, a.ClientID, a.accountID); err != nil {
		if ninsho.IsCode(err, ninsho.CodeUnauthenticated) {
			return zoidc.ErrInvalidGrant().WithDescription("the code was used before")
		}
		return err
	}
	return nil
}

func (s *storage) CreateAccessToken(ctx context.Context, r op.TokenRequest) (string, time.Time, error) {
	if err := s.consume(ctx, r); err != nil {
		return "", time.Time{}, err
	}
	t, err := s.grants.IssueAccess(ctx, s.issue(ctx, r))
	if err != nil {
		return "", time.Time{}, err
	}
	return t.ID, t.ExpiresAt, nil
}

func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, r op.TokenRequest, current string) (string, string, time.Time, error) {
	if err := s.consume(ctx, r); err != nil {
		return "", "", time.Time{}, err
	}
	t, refresh, err := s.grants.IssuePair(ctx, s.issue(ctx, r), current)
	if ninsho.IsCode(err, ninsho.CodeUnauthenticated) {
		return "", "", time.Time{}, zoidc.ErrInvalidGrant()
	}
	if err != nil {
		return "", "", time.Time{}, err
	}
	return t.ID, refresh, t.ExpiresAt, nil
}

func (s *storage) TokenRequestByRefreshToken(ctx context.Context, refresh string) (op.RefreshTokenRequest, error) {
	t, err := s.grants.Refresh(ctx, realmOf(ctx), reqOf(ctx).presentingClient, refresh)
	if err != nil {
		return nil, err
	}
	return s.requestOf(t), nil
}

func (s *storage) requestOf(t *grant.Token) *tokenRequest {
	return &tokenRequest{
		realm: t.Realm, clientID: t.ClientID, subject: s.subject(t.Realm, t.AccountID), accountID: t.AccountID,
		sessionID: t.SessionID, family: t.Family, scopes: t.Scopes, audience: t.Audience, amr: t.AMR,
		authTime: t.AuthTime, sessionExpires: t.SessionExpiresAt, acr: t.ACR,
	}
}

func (s *storage) TerminateSession(ctx context.Context, userID, clientID string) error {
	return s.TerminateSessionFromRequestErr(ctx, &op.EndSessionRequest{UserID: userID, ClientID: clientID})
}

// TerminateSessionFromRequest ends the browser's Ninsho session when the
// id_token_hint names it (its sid, or else its subject); without a
// matching hint the session stays (no logout by a stranger's link). The
// browser goes on to the validated post-logout URI either way.
func (s *storage) TerminateSessionFromRequest(ctx context.Context, r *op.EndSessionRequest) (string, error) {
	return r.RedirectURI, s.TerminateSessionFromRequestErr(ctx, r)
}

func (s *storage) TerminateSessionFromRequestErr(ctx context.Context, r *op.EndSessionRequest) error {
	if r.IDTokenHintClaims == nil || s.signout == nil {
		return nil
	}
	return s.signout(ctx, reqOf(ctx), r.IDTokenHintClaims.SessionID, r.IDTokenHintClaims.Subject)
}

func (s *storage) RevokeToken(ctx context.Context, tokenOrID, _ string, clientID string) *zoidc.Error {
	if err := s.grants.Revoke(ctx, realmOf(ctx), clientID, tokenOrID); err != nil {
		return zoidc.ErrServerError()
	}
	return nil
}

func (s *storage) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	t, ok := s.grants.RefreshID(ctx, realmOf(ctx), token)
	if !ok || t.ClientID != clientID {
		return "", "", op.ErrInvalidRefreshToken
	}
	return s.subject(t.Realm, t.AccountID), t.ID, nil
}

// --- keys

type signingKey struct{ s *signingkey.Signer }

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm {
	return jose.SignatureAlgorithm(k.s.Key.Alg)
}
func (k signingKey) Key() any   { jwk := k.s.JWK(); return &jwk }
func (k signingKey) ID() string { return k.s.Key.ID }

func (s *storage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	sg, err := s.keys.Signing(ctx, realmOf(ctx), s.now())
	if err != nil {
		return nil, err
	}
	return signingKey{sg}, nil
}

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.ES256, jose.RS256}, nil
}

type publicKey struct{ jwk jose.JSONWebKey }

func (k publicKey) ID() string { return k.jwk.KeyID }
func (k publicKey) Algorithm() jose.SignatureAlgorithm {
	return jose.SignatureAlgorithm(k.jwk.Algorithm)
}
func (k publicKey) Use() string { return "sig" }
func (k publicKey) Key() any    { return k.jwk.Key }

func (s *storage) KeySet(ctx context.Context) ([]op.Key, error) {
	keys, err := s.keys.Published(ctx, realmOf(ctx), s.now())
	if err != nil {
		return nil, err
	}
	out := make([]op.Key, 0, len(keys))
	for _, k := range keys {
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON(k.Public); err != nil {
			return nil, ninsho.Internal("oidc: public key %s: %v", k.ID, err)
		}
		out = append(out, publicKey{jwk})
	}
	return out, nil
}

// --- clients

func (s *storage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.clientsFor(ctx).Get(ctx, realmOf(ctx), id)
	if err != nil {
		// Unknown here (or in this realm): invalid_client, never a
		// server error.
		return nil, zoidc.ErrInvalidClient().WithDescription("unknown client")
	}
	return &client{c: c}, nil
}

func (s *storage) AuthorizeClientIDSecret(ctx context.Context, id, secret string) error {
	if _, err := s.clientsFor(ctx).Authenticate(ctx, realmOf(ctx), id, secret); err != nil {
		return zoidc.ErrInvalidClient()
	}
	return nil
}

func (s *storage) ClientCredentials(ctx context.Context, id, secret string) (op.Client, error) {
	if rc := reqOf(ctx); rc.assertedClient != "" && rc.assertedClient == id && secret == "" {
		c, err := s.clientsFor(ctx).Get(ctx, rc.realm.ID, id)
		if err != nil || c.Kind != oauthclient.Confidential || c.AuthMethod != oauthclient.AuthPrivateKeyJWT {
			return nil, zoidc.ErrInvalidClient()
		}
		return &client{c: c}, nil
	}
	c, err := s.clientsFor(ctx).Authenticate(ctx, realmOf(ctx), id, secret)
	if err != nil || c.Kind != oauthclient.Confidential {
		return nil, zoidc.ErrInvalidClient()
	}
	return &client{c: c}, nil
}

// ClientCredentialsTokenRequest: a client's own token names no person, so
// it carries none of the person scopes (openid, profile, email, phone,
// offline_access); Ninsho has no other scopes, so its scope is empty.
func (s *storage) ClientCredentialsTokenRequest(ctx context.Context, id string, _ []string) (op.TokenRequest, error) {
	return &tokenRequest{realm: realmOf(ctx), clientID: id, subject: id, audience: []string{id}}, nil
}

func (s *storage) GetKeyByIDAndClientID(ctx context.Context, keyID, clientID string) (*jose.JSONWebKey, error) {
	c, err := s.clientsFor(ctx).Get(ctx, realmOf(ctx), clientID)
	if err != nil || c.AuthMethod != oauthclient.AuthPrivateKeyJWT {
		return nil, notFound{errors.New("oidc: no such client key")}
	}
	var set jose.JSONWebKeySet
	if err := jsonUnmarshal(c.JWKS, &set); err != nil {
		return nil, notFound{errors.New("oidc: client keys unreadable")}
	}
	for _, k := range set.Keys {
		if k.KeyID == keyID || (keyID == "" && len(set.Keys) == 1) {
			k := k
			return &k, nil
		}
	}
	return nil, notFound{errors.New("oidc: no such client key")}
}

func (s *storage) ValidateJWTProfileScopes(_ context.Context, _ string, scopes []string) ([]string, error) {
	return scopes, nil
}

// --- claims

// SetUserinfoFromScopes does nothing: the claims of an ID token are set by
// SetUserinfoFromRequest, which knows the account.
func (s *storage) SetUserinfoFromScopes(context.Context, *zoidc.UserInfo, string, string, []string) error {
	return nil
}

func (s *storage) SetUserinfoFromRequest(ctx context.Context, u *zoidc.UserInfo, r op.IDTokenRequest, scopes []string) error {
	var accountID, sessionID string
	switch t := r.(type) {
	case *authRequest:
		accountID, sessionID = t.accountID, t.sessionID
	case *tokenRequest:
		accountID, sessionID = t.accountID, t.sessionID
		// The library takes acr only from an authorization request: a
		// refreshed ID token says it too, as the first one did.
		if t.acr != "" {
			u.AppendClaims("acr", t.acr)
		}
	}
	if accountID == "" {
		return nil
	}
	if err := s.fill(ctx, u, accountID, scopes); err != nil {
		return err
	}
	if sessionID != "" {
		u.AppendClaims("sid", sessionID)
	}
	return nil
}

func (s *storage) SetUserinfoFromToken(ctx context.Context, u *zoidc.UserInfo, tokenID, _, _ string) error {
	t, err := s.grants.Access(ctx, realmOf(ctx), tokenID)
	if err != nil {
		return zoidc.ErrAccessDenied().WithDescription("the access token is not active")
	}
	if t.AccountID == "" {
		return zoidc.ErrAccessDenied().WithDescription("the access token names no person")
	}
	return s.fill(ctx, u, t.AccountID, t.Scopes)
}

func (s *storage) SetIntrospectionFromToken(ctx context.Context, resp *zoidc.IntrospectionResponse, tokenID, _, caller string) error {
	rl := realmOf(ctx)
	c, err := s.clientsFor(ctx).Get(ctx, rl, caller)
	if err != nil || c.Kind != oauthclient.Confidential {
		return zoidc.ErrAccessDenied()
	}
	t, err := s.grants.Access(ctx, rl, tokenID)
	if err != nil {
		return err
	}
	// A third-party client learns only about its own tokens; the realm's
	// first-party back ends introspect any of the realm's.
	if !c.FirstParty && t.ClientID != c.ID {
		return zoidc.ErrAccessDenied()
	}
	resp.Scope = t.Scopes
	resp.ClientID = t.ClientID
	resp.TokenType = zoidc.BearerToken
	resp.Expiration = zoidc.FromTime(t.ExpiresAt)
	resp.IssuedAt = zoidc.FromTime(t.CreatedAt)
	resp.Audience = t.Audience
	resp.Issuer = Issuer(reqOf(ctx).realm)
	resp.JWTID = t.ID
	if t.AccountID == "" {
		resp.Subject = t.ClientID
		return nil
	}
	resp.Subject = s.subject(rl, t.AccountID)
	if !t.AuthTime.IsZero() {
		appendClaim(resp, "auth_time", t.AuthTime.Unix())
	}
	if t.ACR != "" {
		appendClaim(resp, "acr", t.ACR)
	}
	if t.SessionID != "" {
		appendClaim(resp, "sid", t.SessionID)
	}
	return nil
}

func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// fill sets the claims of accountID the scopes allow.
func (s *storage) fill(ctx context.Context, u *zoidc.UserInfo, accountID string, scopes []string) error {
	a, err := s.accounts.Account(ctx, accountID)
	if err != nil {
		return zoidc.ErrAccessDenied().WithDescription("the account is gone")
	}
	if a.Status != account.StatusActive {
		return zoidc.ErrAccessDenied().WithDescription("the account is not active")
	}
	u.Subject = s.subject(a.Realm, a.ID)
	if slices.Contains(scopes, zoidc.ScopeProfile) {
		u.Name = a.Name
		u.Locale = zoidc.NewLocale(languageTag(a.Locale))
	}
	if slices.Contains(scopes, zoidc.ScopeEmail) && a.Email != "" {
		u.Email, u.EmailVerified = a.Email, zoidc.Bool(a.EmailVerifiedAt != nil)
	}
	if slices.Contains(scopes, zoidc.ScopePhone) && a.Phone != "" {
		u.PhoneNumber, u.PhoneNumberVerified = a.Phone, a.PhoneVerifiedAt != nil
	}
	if slices.Contains(scopes, ScopeOrganisations) && s.orgs != nil {
		affs, err := s.orgs.Mine(ctx, a.Realm, a.ID)
		if err != nil {
			return err
		}
		list := make([]map[string]any, 0, len(affs))
		for _, af := range affs {
			list = append(list, map[string]any{"id": af.Org.ID, "name": af.Org.Name, "kind": string(af.Org.Kind),
				"status": string(af.Org.Status), "role": string(af.Role)})
		}
		u.AppendClaims(ClaimOrganisations, list)
	}
	return nil
}

func (s *storage) Health(context.Context) error { return nil }

func appendClaim(r *zoidc.IntrospectionResponse, k string, v any) {
	if r.Claims == nil {
		r.Claims = map[string]any{}
	}
	r.Claims[k] = v
}
