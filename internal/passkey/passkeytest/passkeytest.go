// Package passkeytest is a software WebAuthn authenticator for tests: it
// answers the options Ninsho gives (navigator.credentials.create and get)
// the way a browser with a platform authenticator would, with ES256 keys,
// "none" attestation and a signature counter that tests may set.
package passkeytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
)

// Authenticator holds passkeys for one origin.
type Authenticator struct {
	Origin string
	// BackupEligible marks new passkeys as synced (multi-device).
	BackupEligible bool
	// NoCounter keeps every signature counter at 0 (as synced passkeys do).
	NoCounter bool
	creds     []*Passkey
}

// Passkey is one credential the authenticator holds.
type Passkey struct {
	ID         []byte
	UserHandle []byte
	RPID       string
	Key        *ecdsa.PrivateKey
	// Count is the signature counter; the next assertion adds one.
	Count uint32
	be    bool
}

// Passkeys returns the passkeys held, oldest first.
func (a *Authenticator) Passkeys() []*Passkey { return a.creds }

var b64 = base64.RawURLEncoding

type creationOptions struct {
	Challenge string `json:"challenge"`
	RP        struct {
		ID string `json:"id"`
	} `json:"rp"`
	User struct {
		ID string `json:"id"`
	} `json:"user"`
}

type requestOptions struct {
	Challenge string `json:"challenge"`
	RPID      string `json:"rpId"`
	Allow     []struct {
		ID string `json:"id"`
	} `json:"allowCredentials"`
}

// Create makes a new passkey for the creation options (the JSON of
// PublicKeyCredentialCreationOptions) and returns the browser's answer
// (PublicKeyCredential.toJSON()).
func (a *Authenticator) Create(options []byte) (json.RawMessage, *Passkey, error) {
	var o creationOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, nil, err
	}
	handle, err := b64.DecodeString(o.User.ID)
	if err != nil {
		return nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	id := make([]byte, 32)
	if _, err := rand.Read(id); err != nil {
		return nil, nil, err
	}
	p := &Passkey{ID: id, UserHandle: handle, RPID: o.RP.ID, Key: key, be: a.BackupEligible}
	if !a.NoCounter {
		p.Count = 1
	}
	cd := a.clientData("webauthn.create", o.Challenge)
	x, y := make([]byte, 32), make([]byte, 32)
	key.PublicKey.X.FillBytes(x)
	key.PublicKey.Y.FillBytes(y)
	cose, err := webauthncbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: x, -3: y})
	if err != nil {
		return nil, nil, err
	}
	ad := authData(p, 0x40)
	ad = append(ad, make([]byte, 16)...) // AAGUID: none
	ad = binary.BigEndian.AppendUint16(ad, uint16(len(id)))
	ad = append(ad, id...)
	ad = append(ad, cose...)
	att, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": ad})
	if err != nil {
		return nil, nil, err
	}
	a.creds = append(a.creds, p)
	out, err := json.Marshal(map[string]any{
		"id": b64.EncodeToString(id), "rawId": b64.EncodeToString(id), "type": "public-key",
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON": b64.EncodeToString(cd), "attestationObject": b64.EncodeToString(att),
			"transports": []string{"internal"},
		},
	})
	return out, p, err
}

// Get answers the request options (the JSON of
// PublicKeyCredentialRequestOptions) with the first passkey it holds for
// the relying party that the options allow (any, when they list none), or
// with use when it is not nil. The counter moves on by one (unless
// NoCounter).
func (a *Authenticator) Get(options []byte, use *Passkey) (json.RawMessage, error) {
	var o requestOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, err
	}
	p := use
	for _, c := range a.creds {
		if p != nil {
			break
		}
		if c.RPID != o.RPID {
			continue
		}
		if len(o.Allow) == 0 {
			p = c
		}
		for _, al := range o.Allow {
			if al.ID == b64.EncodeToString(c.ID) {
				p = c
			}
		}
	}
	if p == nil {
		return nil, errors.New("passkeytest: no passkey for these options")
	}
	if !a.NoCounter {
		p.Count++
	}
	return Assert(a.Origin, p, o.Challenge, 0)
}

// Assert signs an assertion of p for challenge (base64url, as the options
// carry it) from origin, with extra authenticator-data flags.
func Assert(origin string, p *Passkey, challenge string, flags byte) (json.RawMessage, error) {
	cd := (&Authenticator{Origin: origin}).clientData("webauthn.get", challenge)
	ad := authData(p, flags)
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, p.Key, digest[:])
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(p.ID), "rawId": b64.EncodeToString(p.ID), "type": "public-key",
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON": b64.EncodeToString(cd), "authenticatorData": b64.EncodeToString(ad),
			"signature": b64.EncodeToString(sig), "userHandle": b64.EncodeToString(p.UserHandle),
		},
	})
}

func (a *Authenticator) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": a.Origin, "crossOrigin": false})
	return b
}

// authData is the authenticator data's fixed part: RP ID hash, flags
// (user present and verified, backup eligible and backed up for a synced
// passkey, plus extra) and the counter.
func authData(p *Passkey, extra byte) []byte {
	rp := sha256.Sum256([]byte(p.RPID))
	flags := byte(0x01|0x04) | extra
	if p.be {
		flags |= 0x08 | 0x10
	}
	out := append([]byte{}, rp[:]...)
	out = append(out, flags)
	return binary.BigEndian.AppendUint32(out, p.Count)
}
