package message

import "context"

// MessageFilter selects messages for an operator's listing.
type MessageFilter struct {
	Realm    string         // "" for every realm
	Status   Status         // "" for every status
	Delivery DeliveryStatus // "" for every delivery status
	Limit    int            // at most this many (≤ 0: DefaultListLimit)
}

// DefaultListLimit is how many messages a listing shows by default.
const DefaultListLimit = 50

// ListStore lists messages and their attempts for operators (ninsho
// messages). It reads outside any transaction.
type ListStore interface {
	// RecentMessages returns the messages f selects, newest first (by
	// created_at, then id). The sealed variables are not read: SealedVars
	// is nil in every returned message.
	RecentMessages(ctx context.Context, f MessageFilter) ([]*Message, error)
	// Attempts lists a message's delivery attempts, oldest first.
	Attempts(ctx context.Context, messageID string) ([]*Attempt, error)
}
