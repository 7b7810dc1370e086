// Package message is the transactional outbox: messages are written in the
// same transaction as the change that causes them and delivered later by the
// dispatcher, which claims them with a lease, renders the templates, sends
// through a provider, retries with back-off and records every attempt.
package message

import (
	"context"
	"time"
)

// Channel is a delivery channel.
type Channel string

// Channels.
const (
	ChannelEmail Channel = "email"
	ChannelSMS   Channel = "sms"
	ChannelVoice Channel = "voice"
)

// Status of an outbox message.
type Status string

// Statuses.
const (
	StatusPending Status = "pending" // waiting for (another) attempt
	StatusSent    Status = "sent"    // accepted by a provider
	StatusFailed  Status = "failed"  // gave up after the last attempt
	// StatusSuppressed is a message written only so that an answer costs
	// the same work whether or not its recipient exists (a safe realm's
	// unknown identifier); it is final and never sent.
	StatusSuppressed Status = "suppressed"
)

// Message is one outbox row. Vars (which may hold a one-time code) are kept
// only sealed (AES-GCM) in SealedVars and are erased when the message reaches
// a final status.
type Message struct {
	ID                string
	Realm             string
	Channel           Channel
	To                string // e-mail address or E.164 number
	Template          string // template id, e.g. "signup_code"
	Locale            string // "ja" or "en"
	SealedVars        []byte
	Status            Status
	Attempts          int
	NextAttemptAt     time.Time
	LeaseOwner        string
	LeaseUntil        time.Time
	Provider          string
	ProviderMessageID string
	LastError         string // provider error, never containing vars
	CreatedAt         time.Time
	SentAt            *time.Time
	// Delivery is what is known of the message on its way (queued until a
	// provider accepts it); DeliveryUpdatedAt is when it last moved.
	// FinishAttempt moves it with Status (sent, failed) and provider reports
	// move it further (ReportStore); it never moves back.
	Delivery          DeliveryStatus
	DeliveryUpdatedAt time.Time
}

// Attempt records one delivery attempt.
type Attempt struct {
	ID        string
	MessageID string
	Provider  string
	OK        bool
	Error     string
	Class     string // ClassOf the error; "" when OK
	At        time.Time
	Duration  time.Duration
}

// Store keeps the outbox. Methods take part in the transaction carried by ctx.
type Store interface {
	// EnqueueMessage inserts m with status pending (or suppressed, when m
	// says so: a final message that is never sent).
	EnqueueMessage(ctx context.Context, m *Message) error
	// ClaimMessages leases up to limit pending messages that are due at now and
	// not leased by anyone (or whose lease ended), setting LeaseOwner=owner and
	// LeaseUntil=until. Concurrent callers never receive the same message.
	ClaimMessages(ctx context.Context, owner string, now, until time.Time, limit int) ([]*Message, error)
	// FinishAttempt writes status, attempts, next_attempt_at, provider,
	// provider_message_id, last_error, sent_at and sealed_vars of m and clears
	// the lease, only while m.LeaseOwner still holds the lease; it returns
	// false when the lease was lost.
	FinishAttempt(ctx context.Context, m *Message) (bool, error)
	// RecordAttempt stores a.
	RecordAttempt(ctx context.Context, a *Attempt) error
	// Message returns the message with the id, or ninsho.CodeNotFound.
	Message(ctx context.Context, id string) (*Message, error)
}

// Outgoing is a rendered message handed to a provider.
type Outgoing struct {
	ID       string // outbox message id: providers use it for idempotency
	Realm    string
	Channel  Channel
	To       string
	Locale   string
	Template string
	Subject  string // e-mail only
	Text     string
	HTML     string // e-mail only
	// FromName is the sender's display name of an e-mail: the realm's
	// display name ("" when the realm has none; the provider's own then).
	FromName string
	Code     string // the one-time code the message carries, if any (dev inbox only shows it)
}

// Look is how one realm's messages look (DispatcherConfig.Looks).
type Look struct {
	Brand     Brand
	Templates *Templates // the realm's operator theme; nil: the built-in templates
}

// Sender delivers rendered messages on one or more channels. Send must be
// idempotent for the same Outgoing.ID where the provider allows it:
// Outgoing.ID (the outbox message id) is the idempotency key, the same on
// every attempt of one message (after a retry, a fail-over or a crash), so a
// provider that honours it (an Idempotency-Key header, a Message-ID) never
// delivers one message twice. The dispatcher marks a message sent only
// after Send returned nil.
type Sender interface {
	// Name identifies the provider in attempts and metrics.
	Name() string
	// Send delivers m and returns the provider's message id.
	Send(ctx context.Context, m *Outgoing) (providerID string, err error)
}
