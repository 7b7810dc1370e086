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
	// UpdateChallenge writes attempts and solved_at of c, provided the
	// stored challenge is unsolved and has fewer attempts than c: each
	// answer moves the count up by one, and of concurrent answers to one
	// challenge exactly one is recorded. Otherwise nothing changes and the
	// error is ninsho.CodeConflict (ninsho.CodeNotFound for an unknown id).
	UpdateChallenge(ctx context.Context, c *Challenge) error
}
