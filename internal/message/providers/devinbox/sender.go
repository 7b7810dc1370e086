package devinbox

import (
	"context"
	"fmt"

	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// Sender is the development provider for every channel: instead of
// delivering a message it saves it, rendered and with its one-time code, in
// the Store, where the inbox page and API show it. It is safe for concurrent
// use when the Store is.
type Sender struct {
	store Store
	clock ninsho.Clock
}

var _ message.Sender = (*Sender)(nil)

// NewSender returns a sender saving into s, stamping messages with clock.
func NewSender(s Store, clock ninsho.Clock) *Sender {
	return &Sender{store: s, clock: clock}
}

// Name returns "devinbox".
func (s *Sender) Name() string { return "devinbox" }

// Send saves m and returns its outbox id as the provider id. Saving the same
// outbox id again keeps one message, so a retried send is harmless.
func (s *Sender) Send(ctx context.Context, m *message.Outgoing) (string, error) {
	err := s.store.SaveDevMessage(ctx, &Message{
		ID:        m.ID,
		Realm:     m.Realm,
		Channel:   string(m.Channel),
		To:        m.To,
		Locale:    m.Locale,
		Template:  m.Template,
		Subject:   m.Subject,
		Text:      m.Text,
		HTML:      m.HTML,
		Code:      m.Code,
		CreatedAt: s.clock.Now(),
	})
	if err != nil {
		return "", fmt.Errorf("devinbox: save: %w", err)
	}
	return m.ID, nil
}
