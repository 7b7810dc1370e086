package device

import (
	"context"
	"strings"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/secret"
)

// TokenBytes is the entropy of a device token.
const TokenBytes = 32

// Service recognises devices by their tokens.
type Service struct {
	Store  Store
	Clock  ninsho.Clock
	Random ninsho.Random
	Hasher *secret.Hasher
}

// Resolve returns the realm's device that holds token. When token is empty,
// malformed or unknown, it registers a new device and returns its token in
// newToken (the client keeps it); otherwise newToken is "".
func (s *Service) Resolve(ctx context.Context, realm, token, userAgent string) (d *Device, newToken string, err error) {
	if token != "" && len(token) <= 128 {
		d, err := s.Store.DeviceByTokenHash(ctx, realm, s.Hasher.Hash("device", token))
		if err == nil {
			return d, "", nil
		}
		if !ninsho.IsCode(err, ninsho.CodeNotFound) {
			return nil, "", err
		}
	}
	now := s.Clock.Now()
	newToken = ninsho.Token(s.Random, TokenBytes)
	if len(userAgent) > 512 {
		userAgent = strings.ToValidUTF8(userAgent[:512], "")
	}
	d = &Device{
		ID:         ninsho.NewID(s.Clock, s.Random),
		Realm:      realm,
		TokenHash:  s.Hasher.Hash("device", newToken),
		UserAgent:  userAgent,
		CreatedAt:  now,
		LastSeenAt: now,
	}
	if err := s.Store.CreateDevice(ctx, d); err != nil {
		return nil, "", err
	}
	return d, newToken, nil
}
