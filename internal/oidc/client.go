package oidc

import (
	"encoding/json"
	"net/url"
	"time"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/ninsho/ninsho/internal/oauthclient"
)

// IDTokenLifetime is an ID token's lifetime (within
// signingkey.MaxTokenLifetime).
const IDTokenLifetime = time.Hour

// client is a registered client as the library sees it.
type client struct{ c *oauthclient.Client }

var _ op.Client = (*client)(nil)

func (c *client) GetID() string                    { return c.c.ID }
func (c *client) RedirectURIs() []string           { return c.c.RedirectURIs }
func (c *client) PostLogoutRedirectURIs() []string { return c.c.PostLogoutRedirectURIs }

// ApplicationType: confidential clients are web apps (exact redirect
// URIs); public ones native apps (RFC 8252: a loopback redirect may
// change its port).
func (c *client) ApplicationType() op.ApplicationType {
	if c.c.Kind == oauthclient.Public {
		return op.ApplicationTypeNative
	}
	return op.ApplicationTypeWeb
}

func (c *client) AuthMethod() zoidc.AuthMethod { return zoidc.AuthMethod(c.c.AuthMethod) }

func (c *client) ResponseTypes() []zoidc.ResponseType {
	return []zoidc.ResponseType{zoidc.ResponseTypeCode}
}

func (c *client) GrantTypes() []zoidc.GrantType {
	g := []zoidc.GrantType{zoidc.GrantTypeCode, zoidc.GrantTypeRefreshToken}
	if c.c.Kind == oauthclient.Confidential {
		g = append(g, zoidc.GrantTypeClientCredentials)
	}
	return g
}

// LoginURL is where the authorization endpoint sends the browser: Ninsho's
// own hosted sign-in, entered through LoginPath.
func (c *client) LoginURL(id string) string { return LoginPath + "?id=" + url.QueryEscape(id) }

func (c *client) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeBearer }
func (c *client) IDTokenLifetime() time.Duration      { return IDTokenLifetime }
func (c *client) DevMode() bool                       { return false }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// IsScopeAllowed: besides the standard scopes, which the library always
// keeps, only ScopeOrganisations exists.
func (c *client) IsScopeAllowed(scope string) bool { return scope == ScopeOrganisations }

// IDTokenUserinfoClaimsAssertion: ID tokens carry the profile, e-mail and
// phone claims their scopes allow, even when an access token is issued.
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c *client) ClockSkew() time.Duration             { return 0 }

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// languageTag is the BCP 47 tag of an account's language ("ja", "en").
func languageTag(l string) language.Tag {
	t, err := language.Parse(l)
	if err != nil {
		return language.Japanese
	}
	return t
}
