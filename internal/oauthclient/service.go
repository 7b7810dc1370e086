package oauthclient

import (
	"context"
	"strings"

	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/secret"
	"github.com/ninsho/ninsho/internal/staff"
	"net"
	"net/url"
	"strconv"
)

// Limits of a client's registration.
const (
	// MaxName is the longest name, in characters, after trimming.
	MaxName = 100
	// MaxURIs is the most redirect URIs, and the most post-logout
	// redirect URIs, a client may have.
	MaxURIs = 10
	// MaxURIBytes is the longest URI, in bytes.
	MaxURIBytes = 2048
	// MaxJWKSBytes is the largest JWK Set accepted.
	MaxJWKSBytes = 64 << 10
	// IDChars is the number of random characters after IDPrefix.
	IDChars = 20
	// SecretBytes is the number of random bytes of a client secret.
	SecretBytes = 32
)

// IDPrefix starts every client id.
const IDPrefix = "c_"

// SecretPurpose is the purpose label of a client secret's keyed hash:
// Hasher.Hash(SecretPurpose, realm, id, secret).
const SecretPurpose = "oauth_client_secret"

// Actor is the actor of the events of clients: the operator, on the
// command line.
const Actor = "operator"

// idAlphabet is lowercase base32 (RFC 4648 without padding), 32 symbols,
// so that a random byte's low five bits pick one uniformly.
const idAlphabet = "abcdefghijklmnopqrstuvwxyz234567"

// New is what a client is registered with.
type New struct {
	Realm string
	Name  string
	Kind  string // Confidential or Public
	// AuthMethod is one of Auth*; "" is AuthSecretBasic for confidential
	// clients and AuthNone for public ones.
	AuthMethod             string
	JWKS                   []byte // the public JWK Set, AuthPrivateKeyJWT only
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	FirstParty             bool
	BackchannelLogoutURI   string
	FrontchannelLogoutURI  string
	// WithoutTwoStep is Enrol or Refuse; "" is Enrol.
	WithoutTwoStep string
}

// Service registers, finds, authenticates and deletes clients.
type Service struct {
	Store  Store
	Tx     ninsho.TxRunner
	Events event.Store
	Hasher *secret.Hasher
	Clock  ninsho.Clock
	Random ninsho.Random
	// KnownRealm reports whether a realm id is configured; Create refuses
	// other realms (request_invalid, field realm, reason unknown). nil
	// accepts every id.
	KnownRealm func(id string) bool
	// OnDelete runs in the deleting transaction, after the client is gone:
	// the provider revokes every token the client holds. nil: nothing.
	OnDelete func(ctx context.Context, realm, id string) error
}

// Create registers a client after checking n (Validate), and returns it
// with its secret: for AuthSecretBasic and AuthSecretPost a new one, shown
// to nobody else and stored only as its keyed hash; "" for other methods.
// Refused input is request_invalid, field_required or field_too_long with
// the field and, for request_invalid, a reason (docs/oidc.md, "Clients"),
// every refused field at once.
func (s *Service) Create(ctx context.Context, n New) (*Client, string, error) {
	return s.create(ctx, by{}, n)
}

// by is who registers or deletes a client and from where, for its event:
// the zero by is the operator on the command line (Actor).
type by struct {
	staff *staff.Staff
	req   ninsho.Request
}

func (s *Service) create(ctx context.Context, who by, n New) (*Client, string, error) {
	c, err := Validate(n)
	if n.Realm != "" && s.KnownRealm != nil && !s.KnownRealm(n.Realm) {
		err = ninsho.Fields(invalid(FieldRealm, ReasonUnknown), err)
	}
	if err != nil {
		return nil, "", err
	}
	c.ID = s.newID()
	c.CreatedAt = s.Clock.Now()
	var plain string
	if UsesSecret(c.AuthMethod) {
		plain = ninsho.Token(s.Random, SecretBytes)
		c.SecretHash = s.hash(c.Realm, c.ID, plain)
	}
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.Store.CreateClient(ctx, c); err != nil {
			return err
		}
		return s.event(ctx, who, c, event.TypeOAuthClientCreated, map[string]any{
			"client_id": c.ID, "name": c.Name, "kind": c.Kind, "auth_method": c.AuthMethod, "first_party": c.FirstParty,
		})
	})
	if err != nil {
		return nil, "", err
	}
	return c, plain, nil
}

// UsesSecret reports whether clients of the method authenticate with a
// client secret.
func UsesSecret(method string) bool { return method == AuthSecretBasic || method == AuthSecretPost }

// Authenticate returns the client of realm with id if secret is its
// client secret. An unknown client, a client without a secret and a wrong
// secret are the same error, ninsho.CodeUnauthenticated, after the same
// work: the presented secret is hashed and compared in constant time
// either way.
func (s *Service) Authenticate(ctx context.Context, realm, id, presented string) (*Client, error) {
	c, err := s.Store.ClientByID(ctx, realm, id)
	if err != nil && !ninsho.IsCode(err, ninsho.CodeNotFound) {
		return nil, err
	}
	got := s.hash(realm, id, presented)
	want := make([]byte, len(got)) // matches nothing a hash can be, in practice
	known := c != nil && UsesSecret(c.AuthMethod) && len(c.SecretHash) == len(got)
	if known {
		want = c.SecretHash
	}
	if ok := secret.Equal(got, want); !ok || !known || presented == "" {
		return nil, ninsho.E(ninsho.CodeUnauthenticated)
	}
	return c, nil
}

// Get returns the client, or ninsho.CodeNotFound.
func (s *Service) Get(ctx context.Context, realm, id string) (*Client, error) {
	return s.Store.ClientByID(ctx, realm, id)
}

// List returns a realm's clients, oldest first.
func (s *Service) List(ctx context.Context, realm string) ([]Client, error) {
	return s.Store.Clients(ctx, realm)
}

// Delete deletes the client (ninsho.CodeNotFound when there is none),
// with the event oauth_client.deleted.
func (s *Service) Delete(ctx context.Context, realm, id string) error {
	return s.delete(ctx, by{}, realm, id, nil)
}

func (s *Service) delete(ctx context.Context, who by, realm, id string, extra map[string]any) error {
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		c, err := s.Store.ClientByID(ctx, realm, id)
		if err != nil {
			return err
		}
		if err := s.Store.DeleteClient(ctx, realm, id); err != nil {
			return err
		}
		if s.OnDelete != nil {
			if err := s.OnDelete(ctx, realm, id); err != nil {
				return err
			}
		}
		data := map[string]any{"client_id": c.ID, "name": c.Name}
		for k, v := range extra {
			data[k] = v
		}
		return s.event(ctx, who, c, event.TypeOAuthClientDeleted, data)
	})
}

// event records typ about c: actor Actor from the command line; from the
// console the staff member (actor "staff:<id>", data "staff") and the
// request's address, browser and id.
func (s *Service) event(ctx context.Context, who by, c *Client, typ string, data map[string]any) error {
	if s.Events == nil {
		return nil
	}
	e := &event.Event{
		ID: ninsho.NewID(s.Clock, s.Random), Realm: c.Realm, Type: typ, Actor: Actor, Data: data, At: s.Clock.Now(),
	}
	if who.staff != nil {
		e.Actor, data["staff"] = who.staff.Actor(), who.staff.ID
		e.IP, e.UserAgent, e.RequestID = who.req.IP, truncate(who.req.UserAgent, 512), who.req.RequestID
	}
	return s.Events.AppendEvent(ctx, e)
}

func (s *Service) hash(realm, id, plain string) []byte {
	return s.Hasher.Hash(SecretPurpose, realm, id, plain)
}

// newID returns IDPrefix and IDChars random lowercase base32 characters
// (100 bits).
func (s *Service) newID() string {
	b := make([]byte, IDChars)
	ninsho.ReadRandom(s.Random, b)
	var id strings.Builder
	id.WriteString(IDPrefix)
	for _, x := range b {
		id.WriteByte(idAlphabet[x&31])
	}
	return id.String()
}

// HasRedirectURI reports whether uri is exactly one of the client's
// redirect URIs (RFC 9700 §4.1.3: no prefix, pattern or case folding).
func (c *Client) HasRedirectURI(uri string) bool { return contains(c.RedirectURIs, uri) }

// HasPostLogoutRedirectURI reports whether uri is exactly one of the
// client's post-logout redirect URIs.
func (c *Client) HasPostLogoutRedirectURI(uri string) bool {
	return contains(c.PostLogoutRedirectURIs, uri)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// AcceptsRedirect reports whether an authorization request may send its
// answer to uri: exactly one of the client's redirect URIs, or — for a
// public client's loopback redirect URI (RFC 8252 §7.3) — the same URI
// with another port: the same scheme "http", the same loopback host as
// registered, the same path and query, a port 1–65535, and no user
// information or fragment.
func (c *Client) AcceptsRedirect(uri string) bool {
	if c.HasRedirectURI(uri) {
		return true
	}
	if c.Kind != Public || !strings.HasPrefix(uri, "http://") || strings.ContainsAny(uri, "#@\\") {
		return false
	}
	u, err := url.Parse(uri)
	if err != nil || u.User != nil || u.Fragment != "" || u.Opaque != "" {
		return false
	}
	port := u.Port()
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
		return false
	}
	for _, reg := range c.RedirectURIs {
		r, err := url.Parse(reg)
		if err != nil || r.Scheme != "http" || !isLoopback(r.Hostname()) {
			continue
		}
		// The registered URI with the port replaced, character for
		// character (a trailing "?" or a changed case is another URI).
		candidate := *r
		candidate.Host = net.JoinHostPort(r.Hostname(), port)
		if candidate.String() == uri {
			return true
		}
	}
	return false
}
