package message

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/secret"
)

// Outbox writes messages for later delivery. Enqueue runs inside the caller's
// transaction and sends nothing; after the caller commits, Wake nudges the
// dispatcher so the message leaves at once instead of at the next poll.
// An Outbox is safe for concurrent use.
type Outbox struct {
	store     Store
	box       *secret.Box
	templates *Templates
	clock     ninsho.Clock
	random    ninsho.Random
	wake      chan struct{}
}

// NewOutbox returns an outbox writing to s, sealing variables with box. The
// templates are used to refuse, at enqueue time, a template that does not
// exist or a variable that is missing; clock and random make the message id.
func NewOutbox(s Store, box *secret.Box, t *Templates, clock ninsho.Clock, random ninsho.Random) *Outbox {
	return &Outbox{store: s, box: box, templates: t, clock: clock, random: random, wake: make(chan struct{}, 1)}
}

// Enqueue writes a pending message to the outbox in the transaction that ctx
// carries; the Outbox never opens a transaction of its own, so the message is
// written exactly when the caller's change is. vars (which may hold a
// one-time code) are stored only sealed, bound to the message id. The message
// is due at once. Enqueue returns an error, and writes nothing, when the
// template does not exist for the channel or a variable it needs is missing,
// so that such mistakes fail the caller's transaction rather than the
// delivery. It never sends anything and never blocks on delivery.
func (o *Outbox) Enqueue(ctx context.Context, realm string, ch Channel, to, template, locale string, vars map[string]string) (*Message, error) {
	return o.enqueue(ctx, realm, ch, to, template, locale, vars, StatusPending)
}

// EnqueueSuppressed does all the work of Enqueue — render check, sealing,
// one row written in the caller's transaction — for a message that is never
// sent (status suppressed, its sealed variables dropped). A safe realm uses
// it for identifiers without an account, so that their answers cost the same
// database and outbox work as real ones.
func (o *Outbox) EnqueueSuppressed(ctx context.Context, realm string, ch Channel, to, template, locale string, vars map[string]string) (*Message, error) {
	return o.enqueue(ctx, realm, ch, to, template, locale, vars, StatusSuppressed)
}

func (o *Outbox) enqueue(ctx context.Context, realm string, ch Channel, to, template, locale string, vars map[string]string, status Status) (*Message, error) {
	if to == "" {
		return nil, errors.New("message: enqueue: empty recipient")
	}
	locale = Locale(locale)
	if _, err := o.templates.Render(ch, template, locale, Brand{}, vars); err != nil {
		return nil, fmt.Errorf("message: enqueue: %w", err)
	}
	plain, err := json.Marshal(vars)
	if err != nil {
		return nil, fmt.Errorf("message: enqueue: %w", err)
	}
	now := o.clock.Now()
	m := &Message{
		ID:            ninsho.NewID(o.clock, o.random),
		Realm:         realm,
		Channel:       ch,
		To:            to,
		Template:      template,
		Locale:        locale,
		Status:        status,
		NextAttemptAt: now,
		CreatedAt:     now,
	}
	if m.SealedVars, err = o.box.Seal(plain, []byte(m.ID)); err != nil {
		return nil, fmt.Errorf("message: enqueue: seal: %w", err)
	}
	if status == StatusSuppressed {
		// Same length, nothing in it: a final message keeps no variables.
		clear(m.SealedVars)
	}
	if err := o.store.EnqueueMessage(ctx, m); err != nil {
		return nil, err
	}
	return m, nil
}

// Wake nudges the dispatcher to look for due messages now. Call it after the
// transaction that enqueued messages has committed (a dispatcher woken before
// the commit finds nothing and waits for its next poll). It never blocks;
// wake-ups that arrive while one is pending are merged.
func (o *Outbox) Wake() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Wakeups returns the channel that Wake signals; pass it to the dispatcher
// (DispatcherConfig.Wake) of the same process.
func (o *Outbox) Wakeups() <-chan struct{} { return o.wake }

// openVars opens sealed variables made by Enqueue for message id.
func openVars(box *secret.Box, id string, sealed []byte) (map[string]string, error) {
	if len(sealed) == 0 {
		return nil, errors.New("message: variables already erased")
	}
	plain, err := box.Open(sealed, []byte(id))
	if err != nil {
		return nil, fmt.Errorf("message: open variables: %w", err)
	}
	var vars map[string]string
	if err := json.Unmarshal(plain, &vars); err != nil {
		return nil, errors.New("message: open variables: malformed")
	}
	return vars, nil
}
