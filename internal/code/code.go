// Package code is the one component behind every one-time verification code:
// 6 digits, 10-minute life, 5 wrong answers per flow, a resend cool-down and an
// hourly cap per destination. Codes are stored only as keyed hashes.
package code

import (
	"context"
	"time"
)

// Purpose says what a code proves.
type Purpose string

// Purposes.
const (
	PurposeSignup Purpose = "signup"
	PurposeSignin Purpose = "signin"
	PurposeReset  Purpose = "reset"
	PurposeUnlock Purpose = "unlock"
	// PurposeNotMe is the "this wasn't me" link of a sign-in alert: a long
	// random token rather than digits.
	PurposeNotMe Purpose = "not_me"
)

// Channel is how a code travels.
type Channel string

// Channels.
const (
	ChannelEmail Channel = "email"
	ChannelSMS   Channel = "sms"
	ChannelVoice Channel = "voice"
)

// Code is one issued code. The plain digits are never stored.
type Code struct {
	ID          string
	Realm       string
	FlowID      string
	AccountID   string
	Purpose     Purpose
	Channel     Channel
	Destination string // normalised e-mail or E.164 number
	Hash        []byte // keyed hash of flow id and digits
	CreatedAt   time.Time
	ExpiresAt   time.Time
	ConsumedAt  *time.Time
}

// Store keeps issued codes. Methods take part in the transaction carried by ctx.
type Store interface {
	// InsertCode stores c.
	InsertCode(ctx context.Context, c *Code) error
	// LatestCode returns the most recently created code of the flow, or
	// ninsho.CodeNoCodeRequested when the flow has none.
	LatestCode(ctx context.Context, flowID string) (*Code, error)
	// ConsumeCode marks the code used at t. It returns false when the code was
	// already consumed (a replay), true when this call consumed it.
	ConsumeCode(ctx context.Context, id string, at time.Time) (bool, error)
	// CountCodesSince counts the realm's codes sent to destination since t.
	CountCodesSince(ctx context.Context, realm, destination string, since time.Time) (int, error)
	// CodeByHash returns the code whose keyed hash is h (link tokens are
	// looked up this way), or ninsho.CodeNotFound.
	CodeByHash(ctx context.Context, h []byte) (*Code, error)
}
