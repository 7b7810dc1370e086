// Package signingkey keeps the keys a realm signs its OpenID Connect tokens
// with. A key is published (in the realm's JWKS) before it signs, so that
// relying parties that cache the JWKS know it before the first token, and
// stays published after it stops signing until every token it signed could
// have expired. Private keys are stored sealed by secret.Box, bound to the
// realm and the key id.
package signingkey

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/secret"
)

// Algorithms a key can have.
const (
	ES256 = "ES256" // ECDSA P-256 with SHA-256, the default
	RS256 = "RS256" // RSASSA-PKCS1-v1_5 with SHA-256, 2048-bit keys
)

// DefaultAlg is the algorithm of keys made without one named.
const DefaultAlg = ES256

// PublicationDelay is how long a new key is published before it signs
// (unless it is the realm's first key, which signs at once).
const PublicationDelay = time.Hour

// MaxTokenLifetime is the longest lifetime of a token signed by a realm's
// key: a key that stopped signing stays published this long.
const MaxTokenLifetime = 24 * time.Hour

// rsaBits is the size of RS256 keys.
const rsaBits = 2048

// Key is one signing key. It never holds the private key in the clear.
type Key struct {
	ID          string // the kid
	Realm       string
	Alg         string
	Sealed      []byte // the private key (PKCS #8), sealed with ad(realm, id)
	Public      []byte // the public JWK (JSON)
	CreatedAt   time.Time
	ActiveFrom  time.Time // it signs from then on (until a newer key does)
	RetireAfter time.Time // zero while it may still sign; then dropped from the JWKS
}

// Store keeps signing keys. Methods take part in the transaction carried by
// ctx.
type Store interface {
	// AddSigningKey inserts k and, in the same realm, sets retire_after to
	// retireOthers on every key whose retire_after is zero; all or nothing.
	AddSigningKey(ctx context.Context, k *Key, retireOthers time.Time) error
	// SigningKeys lists a realm's keys ("" for every realm's), oldest first
	// (created_at, then id).
	SigningKeys(ctx context.Context, realm string) ([]Key, error)
	// DeleteRetiredSigningKeys deletes the keys (of every realm) whose
	// non-zero retire_after is at or before t and returns them.
	DeleteRetiredSigningKeys(ctx context.Context, t time.Time) ([]Key, error)
}

// Service makes, seals and chooses signing keys.
type Service struct {
	Store  Store
	Tx     ninsho.TxRunner
	Events event.Store
	Box    *secret.Box
	Clock  ninsho.Clock
	Random ninsho.Random
	// Delay and Lifetime override PublicationDelay and MaxTokenLifetime
	// when non-zero.
	Delay, Lifetime time.Duration

	cache keyCache
}

// KeyListTTL is how long a realm's key list is kept in memory: Signing and
// Published run for every ID token and every JWKS request, and read the
// store at most once a minute per realm. A key made on another instance is
// seen within it — long before it signs (PublicationDelay) — and a key made
// here is seen at once (Rotate forgets the realm's list).
const KeyListTTL = time.Minute

// keyCache holds each realm's key list for KeyListTTL and every opened
// signer for good (a kid's private key never changes).
type keyCache struct {
	mu      sync.Mutex
	lists   map[string]keyList
	signers map[string]*Signer
}

type keyList struct {
	keys  []Key
	until time.Time
}

// keys returns realm's keys, oldest first, from the cache while it holds
// them at now; a realm with none gets its first key (alg DefaultAlg, actor
// "system"). The slice is the cache's: callers copy before changing it.
func (s *Service) keys(ctx context.Context, realm string, now time.Time) ([]Key, error) {
	s.cache.mu.Lock()
	l, ok := s.cache.lists[realm]
	s.cache.mu.Unlock()
	if ok && now.Before(l.until) {
		return l.keys, nil
	}
	keys, err := s.Store.SigningKeys(ctx, realm)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		k, err := s.Rotate(ctx, realm, DefaultAlg, "system")
		if err != nil {
			return nil, err
		}
		keys = []Key{*k}
	}
	s.cache.mu.Lock()
	if s.cache.lists == nil {
		s.cache.lists = map[string]keyList{}
	}
	s.cache.lists[realm] = keyList{keys: keys, until: now.Add(KeyListTTL)}
	s.cache.mu.Unlock()
	return keys, nil
}

// forget drops realm's cached key list (a key was added here).
func (s *Service) forget(realm string) {
	s.cache.mu.Lock()
	delete(s.cache.lists, realm)
	s.cache.mu.Unlock()
}

// Signer is a key that may sign now, with its private key opened.
type Signer struct {
	Key     Key
	Private crypto.Signer
}

// JWK returns the signer's private key as a JWK for go-jose signers.
func (s *Signer) JWK() jose.JSONWebKey {
	return jose.JSONWebKey{Key: s.Private, KeyID: s.Key.ID, Algorithm: s.Key.Alg, Use: "sig"}
}

func (s *Service) delay() time.Duration {
	if s.Delay > 0 {
		return s.Delay
	}
	return PublicationDelay
}

func (s *Service) lifetime() time.Duration {
	if s.Lifetime > 0 {
		return s.Lifetime
	}
	return MaxTokenLifetime
}

// ad binds a sealed private key to its realm and kid.
func ad(realm, kid string) []byte {
	return []byte("signingkey\x00" + realm + "\x00" + kid)
}

// ValidAlg reports whether alg is a supported algorithm.
func ValidAlg(alg string) bool { return alg == ES256 || alg == RS256 }

// Rotate adds a new key to realm (alg "" is DefaultAlg). The realm's first
// key signs at once; a later one is published now and signs after the
// publication delay, when the keys before it stop signing and are retired
// a token lifetime later. actor is recorded on the event.
func (s *Service) Rotate(ctx context.Context, realm, alg, actor string) (*Key, error) {
	if alg == "" {
		alg = DefaultAlg
	}
	if realm == "" {
		return nil, ninsho.E(ninsho.CodeFieldRequired).WithParam("field", "realm")
	}
	if !ValidAlg(alg) {
		return nil, ninsho.E(ninsho.CodeRequestInvalid).WithParam("field", "alg")
	}
	var k *Key
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		existing, err := s.Store.SigningKeys(ctx, realm)
		if err != nil {
			return err
		}
		k, err = s.make(realm, alg, len(existing) == 0)
		if err != nil {
			return err
		}
		if err := s.Store.AddSigningKey(ctx, k, k.ActiveFrom.Add(s.lifetime())); err != nil {
			return err
		}
		if s.Events == nil {
			return nil
		}
		return s.Events.AppendEvent(ctx, &event.Event{
			ID: ninsho.NewID(s.Clock, s.Random), Realm: realm, Type: event.TypeSigningKeyAdded, Actor: actor,
			Data: map[string]any{"kid": k.ID, "alg": k.Alg, "active_from": k.ActiveFrom.Format(time.RFC3339)},
			At:   k.CreatedAt,
		})
	})
	if err != nil {
		return nil, err
	}
	s.forget(realm)
	return k, nil
}

// make generates and seals a key.
func (s *Service) make(realm, alg string, first bool) (*Key, error) {
	var (
		priv crypto.Signer
		err  error
	)
	switch alg {
	case RS256:
		priv, err = rsa.GenerateKey(s.Random, rsaBits)
	default:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), s.Random)
	}
	if err != nil {
		return nil, ninsho.Internal("signingkey: generate: %v", err)
	}
	now := s.Clock.Now()
	k := &Key{ID: ninsho.NewID(s.Clock, s.Random), Realm: realm, Alg: alg, CreatedAt: now, ActiveFrom: now.Add(s.delay())}
	if first {
		k.ActiveFrom = now
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, ninsho.Internal("signingkey: marshal: %v", err)
	}
	if k.Sealed, err = s.Box.Seal(der, ad(realm, k.ID)); err != nil {
		return nil, ninsho.Internal("signingkey: seal: %v", err)
	}
	pub := jose.JSONWebKey{Key: priv.Public(), KeyID: k.ID, Algorithm: alg, Use: "sig"}
	if k.Public, err = json.Marshal(pub); err != nil {
		return nil, ninsho.Internal("signingkey: public jwk: %v", err)
	}
	return k, nil
}

// Signing returns the key realm signs with at now: the newest whose
// active_from has passed. A realm with no key gets its first one here
// (alg DefaultAlg, actor "system").
func (s *Service) Signing(ctx context.Context, realm string, now time.Time) (*Signer, error) {
	keys, err := s.keys(ctx, realm, now)
	if err != nil {
		return nil, err
	}
	best := -1
	for i, k := range keys {
		if k.ActiveFrom.After(now) {
			continue
		}
		if best < 0 || !k.ActiveFrom.Before(keys[best].ActiveFrom) {
			best = i
		}
	}
	if best < 0 { // only keys still waiting: the one that starts first
		best = 0
		for i, k := range keys {
			if k.ActiveFrom.Before(keys[best].ActiveFrom) {
				best = i
			}
		}
	}
	return s.open(keys[best])
}

// open returns k with its private key opened, once per kid.
func (s *Service) open(k Key) (*Signer, error) {
	s.cache.mu.Lock()
	sg, ok := s.cache.signers[k.ID]
	s.cache.mu.Unlock()
	if ok {
		return sg, nil
	}
	sg, err := s.openSealed(k)
	if err != nil {
		return nil, err
	}
	s.cache.mu.Lock()
	if s.cache.signers == nil {
		s.cache.signers = map[string]*Signer{}
	}
	s.cache.signers[k.ID] = sg
	s.cache.mu.Unlock()
	return sg, nil
}

// openSealed opens k's sealed private key.
func (s *Service) openSealed(k Key) (*Signer, error) {
	der, err := s.Box.Open(k.Sealed, ad(k.Realm, k.ID))
	if err != nil {
		return nil, ninsho.Internal("signingkey: open key %s: %v", k.ID, err)
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, ninsho.Internal("signingkey: parse key %s: %v", k.ID, err)
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return nil, ninsho.Internal("signingkey: key %s cannot sign", k.ID)
	}
	return &Signer{Key: k, Private: signer}, nil
}

// Published returns the keys of realm's JWKS at now: every key not past
// its retire_after, oldest first. It makes the realm's first key if it has
// none, as Signing does.
func (s *Service) Published(ctx context.Context, realm string, now time.Time) ([]Key, error) {
	keys, err := s.keys(ctx, realm, now)
	if err != nil {
		return nil, err
	}
	out := make([]Key, 0, len(keys))
	for _, k := range keys {
		if k.RetireAfter.IsZero() || now.Before(k.RetireAfter) {
			out = append(out, k)
		}
	}
	return out, nil
}

// JWKS returns the public JWK set of the keys.
func JWKS(keys []Key) (jose.JSONWebKeySet, error) {
	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(keys))}
	for _, k := range keys {
		var j jose.JSONWebKey
		if err := j.UnmarshalJSON(k.Public); err != nil {
			return set, ninsho.Internal("signingkey: stored jwk %s: %v", k.ID, err)
		}
		if !j.IsPublic() {
			return set, ninsho.Internal("signingkey: stored jwk %s is not public", k.ID)
		}
		set.Keys = append(set.Keys, j)
	}
	return set, nil
}

// Purge deletes the keys retired at or before now, in every realm, with
// an event each (actor "system").
func (s *Service) Purge(ctx context.Context, now time.Time) (int, error) {
	n := 0
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		gone, err := s.Store.DeleteRetiredSigningKeys(ctx, now)
		if err != nil {
			return err
		}
		n = len(gone)
		if s.Events == nil {
			return nil
		}
		for _, k := range gone {
			if err := s.Events.AppendEvent(ctx, &event.Event{
				ID: ninsho.NewID(s.Clock, s.Random), Realm: k.Realm, Type: event.TypeSigningKeyPurged, Actor: "system",
				Data: map[string]any{"kid": k.ID, "alg": k.Alg}, At: now,
			}); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}
