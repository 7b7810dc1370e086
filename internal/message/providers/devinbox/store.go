// Package devinbox is the development provider for every channel: it keeps
// delivered messages in the database and shows them at /dev/inbox and
// /dev/api/messages. It exists only in development mode.
package devinbox

import (
	"context"
	"time"
)

// Message is one delivered development message.
type Message struct {
	ID        string // outbox message id
	Realm     string
	Channel   string // email, sms, voice
	To        string
	Locale    string
	Template  string
	Subject   string
	Text      string
	HTML      string
	Code      string // the one-time code the message carries, if any
	CreatedAt time.Time
}

// Store keeps development messages.
type Store interface {
	// SaveDevMessage stores m; saving the same id twice keeps one row.
	SaveDevMessage(ctx context.Context, m *Message) error
	// DevMessages lists messages to the recipient (all when to is ""), newest
	// first, at most limit.
	DevMessages(ctx context.Context, to string, limit int) ([]*Message, error)
}
