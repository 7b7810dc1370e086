// Package secret holds the server's keyed hashing and sealing: codes, tokens
// and session ids are stored only as keyed hashes (HMAC-SHA-256), and values
// that must be read back (outbox variables, TOTP secrets) are sealed with
// AES-256-GCM under a key ring whose first key seals and every key opens.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"io"
)

// Hasher computes keyed hashes. It is safe for concurrent use.
type Hasher struct {
	key []byte
}

// NewHasher returns a hasher under key, which must be at least 32 bytes.
func NewHasher(key []byte) (*Hasher, error) {
	if len(key) < 32 {
		return nil, errors.New("secret: hash key must be at least 32 bytes")
	}
	return &Hasher{key: append([]byte(nil), key...)}, nil
}

// Hash returns HMAC-SHA-256 over the purpose label and the parts, each
// length-prefixed so that no two inputs collide.
func (h *Hasher) Hash(purpose string, parts ...string) []byte {
	m := hmac.New(sha256.New, h.key)
	writePart(m, purpose)
	for _, p := range parts {
		writePart(m, p)
	}
	return m.Sum(nil)
}

func writePart(w io.Writer, s string) {
	var n [4]byte
	l := len(s)
	n[0], n[1], n[2], n[3] = byte(l>>24), byte(l>>16), byte(l>>8), byte(l)
	w.Write(n[:])
	io.WriteString(w, s)
}

// Equal compares two hashes in constant time.
func Equal(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// Box seals and opens small values with AES-256-GCM. The first key seals; every
// key is tried to open, so keys can be rotated by prepending a new one.
type Box struct {
	aeads []cipher.AEAD
	rand  io.Reader
}

// NewBox returns a box for keys (each exactly 32 bytes), drawing nonces from r.
func NewBox(r io.Reader, keys ...[]byte) (*Box, error) {
	if len(keys) == 0 {
		return nil, errors.New("secret: at least one encryption key is required")
	}
	b := &Box{rand: r}
	for _, k := range keys {
		if len(k) != 32 {
			return nil, errors.New("secret: encryption keys must be 32 bytes")
		}
		blk, err := aes.NewCipher(k)
		if err != nil {
			return nil, err
		}
		a, err := cipher.NewGCM(blk)
		if err != nil {
			return nil, err
		}
		b.aeads = append(b.aeads, a)
	}
	return b, nil
}

// Seal encrypts plain, binding it to the additional data ad (for example the
// row id), and returns key index byte || nonce || ciphertext.
func (b *Box) Seal(plain, ad []byte) ([]byte, error) {
	a := b.aeads[0]
	out := make([]byte, 1+a.NonceSize(), 1+a.NonceSize()+len(plain)+a.Overhead())
	if _, err := io.ReadFull(b.rand, out[1:]); err != nil {
		return nil, err
	}
	return a.Seal(out, out[1:], plain, ad), nil
}

// ErrOpen is returned when a sealed value cannot be opened with any key.
var ErrOpen = errors.New("secret: sealed value cannot be opened")

// Open decrypts a value made by Seal with the same ad.
func (b *Box) Open(sealed, ad []byte) ([]byte, error) {
	for _, a := range b.aeads {
		ns := a.NonceSize()
		if len(sealed) < 1+ns+a.Overhead() {
			return nil, ErrOpen
		}
		if p, err := a.Open(nil, sealed[1:1+ns], sealed[1+ns:], ad); err == nil {
			return p, nil
		}
	}
	return nil, ErrOpen
}
