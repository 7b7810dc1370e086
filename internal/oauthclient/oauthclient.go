// Package oauthclient keeps the applications (OAuth 2.0 / OpenID Connect
// clients) that sign people in through a realm: a shop's web app, its native
// app, its back end. A client belongs to one realm; its id is public, its
// secret is shown once when it is made and stored only as a keyed hash.
// Redirect URIs are matched exactly (RFC 9700 §4.1.3).
package oauthclient

import (
	"context"
	"time"
)

// Kinds of client (RFC 6749 §2.1).
const (
	// Confidential clients keep a secret or a private key (a web app's back
	// end, a back-end service).
	Confidential = "confidential"
	// Public clients keep nothing secret (a native or browser app): they
	// authenticate with nothing and must use PKCE S256.
	Public = "public"
)

// Client authentication methods at the token, introspection and revocation
// endpoints (the values of OpenID Connect Discovery's
// token_endpoint_auth_methods_supported).
const (
	AuthSecretBasic   = "client_secret_basic"
	AuthSecretPost    = "client_secret_post"
	AuthPrivateKeyJWT = "private_key_jwt"
	AuthNone          = "none" // public clients only
)

// What acr_values=aal2 does for a person whose account has no two-step
// verification (Client.WithoutTwoStep).
const (
	// Enrol leads the person through two-step enrolment, then on.
	Enrol = "enrol"
	// Refuse answers the client with the error
	// unmet_authentication_requirements.
	Refuse = "refuse"
)

// Client is one registered application.
type Client struct {
	Realm      string
	ID         string // client_id: public, unique in the realm
	Name       string // shown on the consent page and on /account
	Kind       string // Confidential or Public
	AuthMethod string // Auth*; AuthNone exactly when Kind is Public
	// SecretHash is the keyed hash of the client secret (methods
	// AuthSecretBasic and AuthSecretPost); nil otherwise.
	SecretHash []byte
	// JWKS is the client's public keys as a JWK Set (JSON), for
	// AuthPrivateKeyJWT; nil otherwise.
	JWKS                   []byte
	RedirectURIs           []string // exact matches, at least one
	PostLogoutRedirectURIs []string // exact matches, may be empty
	// FirstParty clients belong to the realm's operator: no consent page.
	FirstParty bool
	// BackchannelLogoutURI and FrontchannelLogoutURI are told when a
	// session the client got tokens under ends (OpenID Connect Back-Channel
	// and Front-Channel Logout 1.0); "" for none.
	BackchannelLogoutURI  string
	FrontchannelLogoutURI string
	// WithoutTwoStep is Enrol or Refuse.
	WithoutTwoStep string
	CreatedAt      time.Time
}

// Store keeps clients. Methods take part in the transaction carried by ctx.
type Store interface {
	// CreateClient inserts c; an existing (realm, id) is ninsho.CodeConflict.
	CreateClient(ctx context.Context, c *Client) error
	// ClientByID returns the client, or ninsho.CodeNotFound.
	ClientByID(ctx context.Context, realm, id string) (*Client, error)
	// Clients lists a realm's clients by created_at, then id.
	Clients(ctx context.Context, realm string) ([]Client, error)
	// DeleteClient deletes the client; an unknown one is ninsho.CodeNotFound.
	DeleteClient(ctx context.Context, realm, id string) error
}
