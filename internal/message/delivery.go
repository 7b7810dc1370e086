package message

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/secret"
)

// DeliveryStatus is what is known about a message on its way to the
// person: queued in the outbox, sent (a provider accepted it), and then one
// final answer from the provider's delivery report. It only moves forward
// (Rank): a late or repeated report changes nothing.
type DeliveryStatus string

// Delivery statuses.
const (
	DeliveryQueued      DeliveryStatus = "queued"      // in the outbox, not yet accepted by a provider
	DeliverySent        DeliveryStatus = "sent"        // a provider accepted it
	DeliveryDelivered   DeliveryStatus = "delivered"   // the provider reports it reached the handset or mailbox
	DeliveryUndelivered DeliveryStatus = "undelivered" // the carrier could not deliver it (number changed, filtered, off)
	DeliveryFailed      DeliveryStatus = "failed"      // no provider took it, or the provider gave up
)

// Rank orders statuses: queued 0, sent 1, and the final ones 2. A status
// moves only to a higher rank.
func (s DeliveryStatus) Rank() int {
	switch s {
	case DeliveryQueued:
		return 0
	case DeliverySent:
		return 1
	case DeliveryDelivered, DeliveryUndelivered, DeliveryFailed:
		return 2
	}
	return -1
}

// Valid reports whether s is one of the statuses.
func (s DeliveryStatus) Valid() bool { return s.Rank() >= 0 }

// Final reports whether s is a provider's last word.
func (s DeliveryStatus) Final() bool { return s.Rank() == 2 }

// Delivery is a message's delivery status and when it last changed.
type Delivery struct {
	MessageID string
	Channel   Channel
	Status    DeliveryStatus
	UpdatedAt time.Time
	CreatedAt time.Time // when the message was written to the outbox
}

// DeliveryReport is one report from a provider about a message it accepted.
// Callbacks name the message by the outbox id that Ninsho put in the
// callback address (MessageID); a report that only has the provider's id
// names it by ProviderMessageID.
type DeliveryReport struct {
	Provider          string // the provider's configured name
	MessageID         string // outbox id, when the callback carries it
	ProviderMessageID string // the provider's id, when MessageID is unknown
	Status            DeliveryStatus
	At                time.Time // when Ninsho received the report
}

// ReportStore keeps delivery statuses. Methods take part in the transaction
// carried by ctx.
type ReportStore interface {
	// ApplyDeliveryReport moves the delivery status of the message r names
	// to r.Status (with delivery_updated_at r.At) when r.Status ranks above
	// the stored one and the message went out through r.Provider (or is
	// still in the outbox); it reports whether it changed anything and, when
	// it did, returns the message's new delivery (for observers, without a
	// second read) and sets r.MessageID to the message's id. An unknown
	// message is not an error: it changes nothing.
	ApplyDeliveryReport(ctx context.Context, r *DeliveryReport) (Delivery, bool, error)
	// Delivery returns the delivery of the message with the id, or
	// ninsho.CodeNotFound.
	Delivery(ctx context.Context, messageID string) (Delivery, error)
}

// ReportObserver is told of every report that changed a message (metrics).
type ReportObserver interface {
	Reported(d Delivery, provider string)
}

// Reports records providers' delivery reports. Every provider's callback
// handler calls Record after it has authenticated the callback; Record makes
// replays and late reports harmless.
type Reports struct {
	Store    ReportStore
	Clock    ninsho.Clock
	Observer ReportObserver // optional
}

// Record applies r (At defaults to now) and reports whether it changed the
// message. A status outside the list is an error of the caller.
func (rs *Reports) Record(ctx context.Context, r DeliveryReport) (bool, error) {
	if !r.Status.Valid() || r.Status == DeliveryQueued {
		return false, fmt.Errorf("message: delivery report with status %q", r.Status)
	}
	if r.MessageID == "" && r.ProviderMessageID == "" {
		return false, nil
	}
	if r.At.IsZero() {
		r.At = rs.Clock.Now()
	}
	d, changed, err := rs.Store.ApplyDeliveryReport(ctx, &r)
	if err != nil || !changed {
		return false, err
	}
	if rs.Observer != nil {
		rs.Observer.Reported(d, r.Provider)
	}
	return true, nil
}

// CallbackTokens authenticates callback addresses for providers that cannot
// sign their callbacks (Kannel's dlr-url): the address carries the message
// id and a keyed hash of it and the provider's name, so that nobody who has
// not seen the address can report on a message.
type CallbackTokens struct{ Hasher *secret.Hasher }

// Token returns the token of message id for provider.
func (t CallbackTokens) Token(provider, id string) string {
	return base64.RawURLEncoding.EncodeToString(t.Hasher.Hash("message-callback", provider, id)[:18])
}

// Valid reports, in constant time, whether token is the token of message id
// for provider.
func (t CallbackTokens) Valid(provider, id, token string) bool {
	want := t.Token(provider, id)
	return subtle.ConstantTimeCompare([]byte(want), []byte(token)) == 1
}
