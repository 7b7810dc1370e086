// Package code is the one component behind every one-time verification code:
// 6 digits, 10-minute life, 5 wrong answers per flow, a resend cool-down and an
// hourly cap per destination. Codes are stored only as keyed hashes.
package code

import (
	"context"
	"time"

	"github.com/ninsho/ninsho/internal/flow"
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
	// PurposeContact proves a new e-mail address or phone number of a
	// signed-in account (internal/contact).
	PurposeContact Purpose = "contact"
	// PurposeContactUndo is the "undo — this wasn't me" link of a contact
	// change's alert: a long random token rather than digits.
	PurposeContactUndo Purpose = "contact_undo"
)

// Channel is how a code travels.
type Channel string

// Channels.
const (
	ChannelEmail Channel = "email"
	ChannelSMS   Channel = "sms"
	ChannelVoice Channel = "voice"
)

// Lane is the share of a destination's hourly code budget a code is drawn
// from. Strangers' starts (anyone who knows an identifier can ask for a
// sign-up, unlock or password-assistant code) draw from LaneStranger; codes
// after a proven password, asked for from a device familiar to the account,
// or following the owner's "this wasn't me" link, draw from LaneOwner.
// Strangers cannot spend the owner's lane. A link the server sends on its
// own (the "this wasn't me" link of an alert) is in LaneLink, which no
// budget counts: nobody asked for it, so it must not use up the owner's
// codes (five new-device sign-ins would otherwise spend ten).
type Lane string

// Lanes.
const (
	LaneOwner    Lane = "owner"
	LaneStranger Lane = "stranger"
	LaneLink     Lane = "link"
)

// StateLane is the flow-state key that puts a flow's codes in the owner's
// lane ("owner"); see SetOwnerLane.
const StateLane = "code_lane"

// SetOwnerLane puts f's future codes in the owner's lane: the flow was
// started by the owner (a familiar device, a proven password, the owner's
// own link).
func SetOwnerLane(f *flow.Flow) { f.Set(StateLane, string(LaneOwner)) }

// LaneOf returns the lane of a code of purpose p for f: a sign-in code (the
// password was proven) or a flow marked by SetOwnerLane draws from the
// owner's lane, every other code from the strangers' lane.
func LaneOf(f *flow.Flow, p Purpose) Lane {
	if p == PurposeSignin || f.Get(StateLane) == string(LaneOwner) {
		return LaneOwner
	}
	return LaneStranger
}

// Code is one issued code. The plain digits are never stored.
type Code struct {
	ID          string
	Realm       string
	FlowID      string
	AccountID   string
	Purpose     Purpose
	Channel     Channel
	Destination string // normalised e-mail or E.164 number
	Lane        Lane   // the share of the destination's hourly budget it used
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
	// CountCodesSince counts the realm's codes of lane sent to destination
	// since t.
	CountCodesSince(ctx context.Context, realm, destination string, lane Lane, since time.Time) (int, error)
	// CodeByHash returns the code whose keyed hash is h (link tokens are
	// looked up this way), or ninsho.CodeNotFound.
	CodeByHash(ctx context.Context, h []byte) (*Code, error)
	// ConsumeLinksTo uses up, at t, every unused link of the account of
	// the given purposes that went to destination, and returns how many:
	// an address the account no longer has must not keep links that act
	// on it.
	ConsumeLinksTo(ctx context.Context, realm, accountID, destination string, purposes []Purpose, t time.Time) (int, error)
}
