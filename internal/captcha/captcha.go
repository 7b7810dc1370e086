// Package captcha issues CAPTCHA challenges generated locally — a distorted
// image of digits, with an audio alternative in Japanese or English — and
// checks answers. A challenge is asked only when the risk decision says so.
package captcha

import (
	"context"
	"time"
)

// Challenge is one CAPTCHA. Its digits are kept sealed (the image and audio
// are drawn from them on request); an answer is compared in constant time and
// a challenge is used at most once.
type Challenge struct {
	ID           string
	Realm        string
	FlowID       string
	SealedDigits []byte
	CreatedAt    time.Time
	ExpiresAt    time.Time
	SolvedAt     *time.Time
	Attempts     int
}

// Store keeps challenges. Methods take part in the transaction carried by ctx.
type Store interface {
	// CreateChallenge stores c.
	CreateChallenge(ctx context.Context, c *Challenge) error
	// Challenge returns the challenge with the id, or ninsho.CodeNotFound.
	Challenge(ctx context.Context, id string) (*Challenge, error)
	// UpdateChallenge writes attempts and solved_at of c.
	UpdateChallenge(ctx context.Context, c *Challenge) error
}
