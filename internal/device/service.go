package device

import (
	"context"
	"encoding/base64"
	"strings"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/secret"
)

// TokenBytes is the entropy of a device token.
const TokenBytes = 32

// tokenLen is the length of an issued token (base64url, no padding).
var tokenLen = base64.RawURLEncoding.EncodedLen(TokenBytes)

// Service recognises devices by their tokens.
//
// Recognising a device writes nothing: a client that brings no token (or a
// malformed one) is handed a new token, and a well-formed token that no
// stored device holds is a device not yet remembered. Its id is derived from
// the token's keyed hash (IDFor), so every request with the same token names
// the same device. The row is written by Remember, when a flow bound to the
// device completes, so strangers' requests cannot fill the table.
type Service struct {
	Store  Store
	Clock  ninsho.Clock
	Random ninsho.Random
	Hasher *secret.Hasher
}

// Resolve returns the realm's device that holds token. When token is empty or
// malformed, it makes a new device and returns its token in newToken (the
// client keeps it); otherwise newToken is "". It never writes: a device that
// is not stored yet comes back with Stored false.
func (s *Service) Resolve(ctx context.Context, realm, token, userAgent string) (d *Device, newToken string, err error) {
	if !WellFormed(token) {
		newToken = ninsho.Token(s.Random, TokenBytes)
		token = newToken
	}
	h := s.Hasher.Hash("device", token)
	if newToken == "" {
		d, err := s.Store.DeviceByTokenHash(ctx, realm, h)
		if err == nil {
			d.Stored = true
			return d, "", nil
		}
		if !ninsho.IsCode(err, ninsho.CodeNotFound) {
			return nil, "", err
		}
	}
	if len(userAgent) > 512 {
		userAgent = strings.ToValidUTF8(userAgent[:512], "")
	}
	now := s.Clock.Now()
	return &Device{
		ID:         IDFor(h),
		Realm:      realm,
		TokenHash:  h,
		UserAgent:  userAgent,
		CreatedAt:  now,
		LastSeenAt: now,
	}, newToken, nil
}

// Remember stores d if it is not stored yet (a flow bound to it completed).
// Concurrent calls for one token store one row.
func (s *Service) Remember(ctx context.Context, d *Device) error {
	if d.Stored {
		return nil
	}
	if err := s.Store.CreateDevice(ctx, d); err != nil {
		return err
	}
	d.Stored = true
	return nil
}

// Offer records that the stored device deviceID is offered to create a
// passkey now, and reports whether this call made the offer: false when the
// device was offered before (or declined, or is not stored), so a device is
// offered at most once, even by two sign-ins at the same time.
func (s *Service) Offer(ctx context.Context, deviceID string) (bool, error) {
	return s.Store.SetPasskeyOffer(ctx, deviceID, PasskeyOffered, s.Clock.Now())
}

// Decline records that the person said "not now" to the passkey offer on
// the device deviceID. Declining again, or on a device not stored, changes
// nothing.
func (s *Service) Decline(ctx context.Context, deviceID string) error {
	_, err := s.Store.SetPasskeyOffer(ctx, deviceID, PasskeyDeclined, s.Clock.Now())
	return err
}

// WellFormed reports whether token has the shape of a token this service
// issues. Other values are not recognised (the client gets a new token), so
// a client cannot choose a short, guessable token.
func WellFormed(token string) bool {
	if len(token) != tokenLen {
		return false
	}
	for i := 0; i < len(token); i++ {
		c := token[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// IDFor returns the id of the device whose token has the keyed hash h: a
// UUID of version 8 (RFC 9562, custom) made of the hash's first bytes, so
// that a device has one id before and after it is stored. Devices stored
// before ids were derived keep their UUIDv7 ids.
func IDFor(h []byte) string {
	var u [16]byte
	copy(u[:], h)
	u[6] = (u[6] & 0x0f) | 0x80 // version 8
	u[8] = (u[8] & 0x3f) | 0x80 // variant 10
	return ninsho.FormatUUID(u)
}

// Matches reports whether token is the token whose keyed hash is h.
func (s *Service) Matches(token string, h []byte) bool {
	if !WellFormed(token) || len(h) == 0 {
		return false
	}
	return secret.Equal(s.Hasher.Hash("device", token), h)
}
