package oidc

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"time"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/ninsho/ninsho/internal/grant"
	"github.com/ninsho/ninsho/internal/secret"
)

// RequestLifetime is how long an authorization request can be finished
// (the person signs in, perhaps with a code and a second factor).
const RequestLifetime = 30 * time.Minute

// Limits on what an authorization request may carry (the request travels
// sealed in the login URL).
const (
	maxStateBytes     = 256
	maxNonceBytes     = 256
	maxLoginHintBytes = 256
	maxScopes         = 20
)

// ACR values: the authenticator assurance level of the sign-in (NIST SP
// 800-63B), asked for with acr_values and told in the acr claim.
const (
	ACR1 = "aal1"
	ACR2 = "aal2"
)

// authRequest is an authorization request. While the person signs in it is
// stateless: its id is the request itself, sealed (secret.Box, bound to the
// realm), so strangers calling the authorization endpoint write no rows.
// When the sign-in is done it becomes a grant.Authorization (a row) and its
// id is that row's.
type authRequest struct {
	Realm        string    `json:"r"`
	ClientID     string    `json:"c"`
	RedirectURI  string    `json:"u"`
	Scopes       []string  `json:"s"`
	State        string    `json:"st,omitempty"`
	Nonce        string    `json:"n,omitempty"`
	Challenge    string    `json:"cc,omitempty"`
	Method       string    `json:"cm,omitempty"`
	ResponseMode string    `json:"rm,omitempty"`
	Prompt       []string  `json:"p,omitempty"`
	MaxAge       *uint     `json:"ma,omitempty"`
	LoginHint    string    `json:"lh,omitempty"`
	UILocales    []string  `json:"ul,omitempty"`
	ACRValues    []string  `json:"acr,omitempty"`
	HintSubject  string    `json:"hs,omitempty"` // sub of a valid id_token_hint
	CreatedAt    time.Time `json:"t"`

	// Set when done (not sealed).
	id        string
	done      bool
	subject   string
	accountID string
	sessionID string
	authTime  time.Time
	amr       []string
	acr       string
}

func sealAD(realm string) []byte { return []byte("oidc_authreq\x00" + realm) }

// seal returns the request's id: the request sealed for its realm.
func (a *authRequest) seal(box *secret.Box) (string, error) {
	b, err := json.Marshal(a)
	if err != nil {
		return "", err
	}
	sealed, err := box.Seal(b, sealAD(a.Realm))
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(sealed), nil
}

// openRequest opens a sealed request id of realm; it must be younger than
// RequestLifetime at now. Anything else is nil.
func openRequest(box *secret.Box, realm, id string, now time.Time) *authRequest {
	if id == "" || len(id) > 8192 {
		return nil
	}
	sealed, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil {
		return nil
	}
	plain, err := box.Open(sealed, sealAD(realm))
	if err != nil {
		return nil
	}
	var a authRequest
	if json.Unmarshal(plain, &a) != nil || a.Realm != realm || now.Sub(a.CreatedAt) > RequestLifetime || a.CreatedAt.After(now.Add(time.Minute)) {
		return nil
	}
	a.id = id
	return &a
}

// fromAuthorization is the finished request a grant.Authorization stands for.
func fromAuthorization(g *grant.Authorization, subject string) *authRequest {
	return &authRequest{
		Realm: g.Realm, ClientID: g.ClientID, RedirectURI: g.RedirectURI, Scopes: g.Scopes, Nonce: g.Nonce,
		Challenge: g.CodeChallenge, Method: g.CodeMethod, CreatedAt: g.CreatedAt,
		id: g.ID, done: true, subject: subject, accountID: g.AccountID, sessionID: g.SessionID,
		authTime: g.AuthTime, amr: g.AMR, acr: g.ACR,
	}
}

func (a *authRequest) has(prompt string) bool { return slices.Contains(a.Prompt, prompt) }

// wantsAAL2 reports whether the client asked for two factors.
func (a *authRequest) wantsAAL2() bool {
	for _, v := range a.ACRValues {
		if strings.EqualFold(v, ACR2) {
			return true
		}
	}
	return false
}

// op.AuthRequest.
func (a *authRequest) GetID() string         { return a.id }
func (a *authRequest) GetACR() string        { return a.acr }
func (a *authRequest) GetAMR() []string      { return a.amr }
func (a *authRequest) GetAudience() []string { return []string{a.ClientID} }
func (a *authRequest) GetAuthTime() time.Time {
	return a.authTime
}
func (a *authRequest) GetClientID() string { return a.ClientID }
func (a *authRequest) GetCodeChallenge() *zoidc.CodeChallenge {
	if a.Challenge == "" {
		return nil
	}
	return &zoidc.CodeChallenge{Challenge: a.Challenge, Method: zoidc.CodeChallengeMethod(a.Method)}
}
func (a *authRequest) GetNonce() string                    { return a.Nonce }
func (a *authRequest) GetRedirectURI() string              { return a.RedirectURI }
func (a *authRequest) GetResponseType() zoidc.ResponseType { return zoidc.ResponseTypeCode }
func (a *authRequest) GetResponseMode() zoidc.ResponseMode { return zoidc.ResponseMode(a.ResponseMode) }
func (a *authRequest) GetScopes() []string                 { return a.Scopes }
func (a *authRequest) GetState() string                    { return a.State }
func (a *authRequest) GetSubject() string                  { return a.subject }
func (a *authRequest) Done() bool                          { return a.done }

// tokenRequest is a token being refreshed or a client's own token
// (client credentials), as op.RefreshTokenRequest and op.TokenRequest.
type tokenRequest struct {
	realm, clientID, subject, accountID, sessionID, family string
	scopes, audience, amr                                  []string
	authTime, sessionExpires                               time.Time
	acr                                                    string
}

func (t *tokenRequest) GetAMR() []string            { return t.amr }
func (t *tokenRequest) GetAudience() []string       { return t.audience }
func (t *tokenRequest) GetAuthTime() time.Time      { return t.authTime }
func (t *tokenRequest) GetClientID() string         { return t.clientID }
func (t *tokenRequest) GetScopes() []string         { return t.scopes }
func (t *tokenRequest) GetSubject() string          { return t.subject }
func (t *tokenRequest) SetCurrentScopes(s []string) { t.scopes = s }
