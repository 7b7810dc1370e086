package message

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/secret"
)

// Dispatcher defaults.
const (
	DefaultLease            = 30 * time.Second
	DefaultBatch            = 32
	DefaultParallel         = 4
	DefaultMaxAttempts      = 8
	DefaultBackoffBase      = 2 * time.Second
	DefaultBackoffMax       = 5 * time.Minute
	DefaultFailureThreshold = 3
	DefaultCoolOff          = time.Minute
	DefaultPollInterval     = 250 * time.Millisecond
	// AllOpenRecheck bounds how long a message waits when every provider
	// of its channel is open (or it has none): it is looked at again by
	// then, or when the first breaker half-opens if that is sooner.
	AllOpenRecheck = 5 * time.Second
)

// maxLastError bounds the provider error kept in Message.LastError and
// Attempt.Error.
const maxLastError = 500

// DispatcherConfig configures a Dispatcher. Store, Box, Templates and Senders
// are required; every other field has a default, applied when it is zero.
type DispatcherConfig struct {
	Store     Store
	Box       *secret.Box // opens the variables sealed by the Outbox
	Templates *Templates
	// Senders lists the providers of each channel in order of preference:
	// the first healthy one is tried first, the next on failure (fail-over).
	Senders map[Channel][]Sender
	// RealmSenders, if set, overrides Senders per realm and channel
	// (realms[].providers): a realm's message goes through its own list
	// where it has one for the channel.
	RealmSenders map[string]map[Channel][]Sender

	Clock  ninsho.Clock  // default ninsho.SystemClock
	Random ninsho.Random // back-off jitter and attempt ids; default ninsho.SecureRandom
	// Owner identifies this dispatcher in leases; default a new id. Two
	// dispatchers must never share an owner.
	Owner string
	// Lease is how long a claimed message belongs to this dispatcher
	// (default 30s). A message whose lease would end before a send could time
	// out is not sent by this dispatcher; it is left to the next claim.
	Lease time.Duration
	// SendTimeout bounds one provider call (default Lease/3); it must be
	// shorter than Lease.
	SendTimeout time.Duration
	Batch       int // messages claimed at once (default 32)
	Parallel    int // messages of a batch delivered concurrently (default 4)
	// MaxAttempts is the number of delivery rounds before a message fails
	// (default 8). One round tries the channel's providers in order until
	// one accepts the message.
	MaxAttempts int
	// After a failed round n the message waits BackoffBase·2^(n-1), capped
	// at BackoffMax, of which the second half is random jitter.
	BackoffBase time.Duration // default 2s
	BackoffMax  time.Duration // default 5m
	// Each provider has a circuit breaker (Breakers): FailureThreshold
	// failures or timeouts in a row (default 3; Permanent errors do not
	// count) open it for CoolOff (default 1m), doubled after each failed
	// half-open probe up to MaxCoolOff (default 10m). An open provider is
	// skipped. When every provider of the channel is open (or the channel
	// has none), the message is not tried and keeps its attempts: it waits
	// until the first breaker half-opens, at most AllOpenRecheck.
	FailureThreshold int
	CoolOff          time.Duration
	MaxCoolOff       time.Duration
	// PollInterval is how long Run waits for a wake-up before it looks for
	// due messages again (default 250ms).
	PollInterval time.Duration
	// Wake, if set, makes Run look for due messages at once (Outbox.Wakeups).
	Wake <-chan struct{}
	// Looks, if set, returns how the realm of a message presents itself:
	// its brand, rendered into every message at delivery (never stored with
	// it), and the templates of its operator theme (nil: Templates). A realm
	// it does not know gets Templates and an empty Brand, which names the
	// message's host.
	Looks func(realm string) Look
	// Metrics, if set, observes every outcome.
	Metrics Metrics
	// Logger receives delivery failures (message id, channel, provider and
	// the redacted provider error; never variables); default discards.
	Logger *slog.Logger
}

// Dispatcher delivers outbox messages: it claims due messages with a lease,
// opens their variables, renders them, tries the channel's providers in
// order, records every attempt and finishes each message as sent, pending
// (with a back-off) or failed. The sealed variables are erased when a message
// reaches sent or failed. A message's one-time code never reaches a log,
// Message.LastError or Attempt.Error. A Dispatcher is safe for concurrent
// use, though one Run per Dispatcher is the intended use; several dispatchers
// (in one process or many) can share a store.
type Dispatcher struct {
	cfg      DispatcherConfig
	log      *slog.Logger
	breakers *Breakers
}

// NewDispatcher checks cfg, applies the defaults and returns a dispatcher.
func NewDispatcher(cfg DispatcherConfig) (*Dispatcher, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("message: dispatcher needs a store")
	case cfg.Box == nil:
		return nil, errors.New("message: dispatcher needs a secret box")
	case cfg.Templates == nil:
		return nil, errors.New("message: dispatcher needs templates")
	case len(cfg.Senders) == 0 && len(cfg.RealmSenders) == 0:
		return nil, errors.New("message: dispatcher needs at least one sender")
	}
	byName := map[string]Sender{}
	for _, chs := range cfg.RealmSenders {
		for _, ss := range chs {
			for _, s := range ss {
				if s == nil {
					return nil, errors.New("message: nil realm sender")
				}
				if o, ok := byName[s.Name()]; ok && o != s {
					return nil, fmt.Errorf("message: two senders named %q", s.Name())
				}
				byName[s.Name()] = s
			}
		}
	}
	for ch, ss := range cfg.Senders {
		names := map[string]bool{}
		for _, s := range ss {
			if s == nil {
				return nil, fmt.Errorf("message: nil sender for channel %s", ch)
			}
			if names[s.Name()] {
				// Breakers are kept by name: two providers with one name
				// would share it.
				return nil, fmt.Errorf("message: two senders named %q for channel %s", s.Name(), ch)
			}
			names[s.Name()] = true
		}
	}
	if cfg.Clock == nil {
		cfg.Clock = ninsho.SystemClock{}
	}
	if cfg.Random == nil {
		cfg.Random = ninsho.SecureRandom
	}
	if cfg.Owner == "" {
		cfg.Owner = ninsho.NewID(cfg.Clock, cfg.Random)
	}
	setDuration(&cfg.Lease, DefaultLease)
	setDuration(&cfg.SendTimeout, cfg.Lease/3)
	if cfg.SendTimeout >= cfg.Lease {
		return nil, fmt.Errorf("message: send timeout %v must be shorter than the lease %v", cfg.SendTimeout, cfg.Lease)
	}
	setInt(&cfg.Batch, DefaultBatch)
	setInt(&cfg.Parallel, DefaultParallel)
	setInt(&cfg.MaxAttempts, DefaultMaxAttempts)
	setDuration(&cfg.BackoffBase, DefaultBackoffBase)
	setDuration(&cfg.BackoffMax, DefaultBackoffMax)
	setInt(&cfg.FailureThreshold, DefaultFailureThreshold)
	setDuration(&cfg.CoolOff, DefaultCoolOff)
	setDuration(&cfg.MaxCoolOff, DefaultMaxCoolOff)
	setDuration(&cfg.PollInterval, DefaultPollInterval)
	if cfg.Metrics == nil {
		cfg.Metrics = noMetrics{}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg.Senders = cloneSenders(cfg.Senders)
	realms := make(map[string]map[Channel][]Sender, len(cfg.RealmSenders))
	for r, chs := range cfg.RealmSenders {
		realms[r] = cloneSenders(chs)
	}
	cfg.RealmSenders = realms
	metrics := cfg.Metrics
	breakers := NewBreakers(cfg.FailureThreshold, cfg.CoolOff, cfg.MaxCoolOff, func(name string, s BreakerState) {
		metrics.Breaker(name, s)
		log.Warn("message: provider breaker", "provider", name, "state", s.String())
	})
	return &Dispatcher{cfg: cfg, log: log, breakers: breakers}, nil
}

func setDuration(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

func setInt(n *int, def int) {
	if *n <= 0 {
		*n = def
	}
}

func cloneSenders(in map[Channel][]Sender) map[Channel][]Sender {
	out := make(map[Channel][]Sender, len(in))
	for ch, ss := range in {
		out[ch] = append([]Sender(nil), ss...)
	}
	return out
}

// Owner returns the lease owner of this dispatcher.
func (d *Dispatcher) Owner() string { return d.cfg.Owner }

// Run delivers messages until ctx is done: it calls RunOnce, and when that
// found less than a full batch it waits for a wake-up, the poll interval or
// the end of ctx. Store errors are logged and retried after a growing pause
// (up to 10s). Run returns nil once ctx is done; the message in hand when ctx
// ends is recorded as an attempt and the rest of the batch is released.
func (d *Dispatcher) Run(ctx context.Context) error {
	t := time.NewTimer(d.cfg.PollInterval)
	defer t.Stop()
	pause := d.cfg.PollInterval
	for {
		_, claimed, err := d.runOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		wait := d.cfg.PollInterval
		switch {
		case err != nil:
			d.log.Error("message: dispatcher", "owner", d.cfg.Owner, "error", err)
			pause = min(2*pause, 10*time.Second)
			wait = pause
		case claimed >= d.cfg.Batch:
			pause = d.cfg.PollInterval
			continue // more may be due
		default:
			pause = d.cfg.PollInterval
		}
		t.Reset(wait)
		select {
		case <-ctx.Done():
			return nil
		case <-d.cfg.Wake:
		case <-t.C:
		}
	}
}

// RunOnce claims the messages due now (at most Batch), delivers them and
// returns how many reached status sent. The error joins the store errors met
// on the way; provider errors are not errors of RunOnce, they are recorded
// on the message.
func (d *Dispatcher) RunOnce(ctx context.Context) (delivered int, err error) {
	delivered, _, err = d.runOnce(ctx)
	return delivered, err
}

func (d *Dispatcher) runOnce(ctx context.Context) (delivered, claimed int, err error) {
	now := d.cfg.Clock.Now()
	msgs, err := d.cfg.Store.ClaimMessages(ctx, d.cfg.Owner, now, now.Add(d.cfg.Lease), d.cfg.Batch)
	if err != nil {
		return 0, 0, fmt.Errorf("message: claim: %w", err)
	}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		next = make(chan *Message)
	)
	workers := min(d.cfg.Parallel, len(msgs))
	for range workers {
		wg.Go(func() {
			for m := range next {
				sent, err := d.deliver(ctx, m)
				mu.Lock()
				if sent {
					delivered++
				}
				if err != nil {
					errs = append(errs, err)
				}
				mu.Unlock()
			}
		})
	}
	for _, m := range msgs {
		next <- m
	}
	close(next)
	wg.Wait()
	return delivered, len(msgs), errors.Join(errs...)
}

// deliver makes one delivery round for the claimed message m and reports
// whether it reached status sent.
func (d *Dispatcher) deliver(ctx context.Context, m *Message) (bool, error) {
	if ctx.Err() != nil {
		return false, d.release(ctx, m)
	}
	vars, err := openVars(d.cfg.Box, m.ID, m.SealedVars)
	if err != nil {
		m.Attempts++
		_, err := d.finish(ctx, m, StatusFailed, "", "", err.Error())
		return false, err
	}
	look := d.look(m.Realm)
	r, err := look.Templates.Render(m.Channel, m.Template, m.Locale, look.Brand, vars)
	if err != nil {
		m.Attempts++
		_, err := d.finish(ctx, m, StatusFailed, "", "", redact(err.Error(), vars))
		return false, err
	}
	out := &Outgoing{
		ID:       m.ID,
		Realm:    m.Realm,
		Channel:  m.Channel,
		To:       m.To,
		Locale:   m.Locale,
		Template: m.Template,
		Subject:  r.Subject,
		Text:     r.Text,
		HTML:     r.HTML,
		Code:     vars["code"],
	}
	if m.Channel == ChannelEmail {
		out.FromName = look.Brand.Name
	}

	senders := d.senders(m.Realm, m.Channel)
	var (
		tried     int
		skipped   []string // open providers
		permanent = true
		provider  string
		lastErr   string
		errs      []error
		stopped   bool
	)
	for _, s := range senders {
		if ctx.Err() != nil || d.cfg.Clock.Now().Add(d.cfg.SendTimeout).After(m.LeaseUntil) {
			stopped = true
			break // shutting down, or the lease would end before the send could time out
		}
		name := s.Name()
		allowed, probe := d.breakers.Allow(name, d.cfg.Clock.Now())
		if !allowed {
			skipped = append(skipped, name)
			continue
		}
		if tried == 0 {
			m.Attempts++
		}
		tried++
		provider = name
		start := d.cfg.Clock.Now()
		sctx, cancel := context.WithTimeout(ctx, d.cfg.SendTimeout)
		providerID, sendErr := s.Send(sctx, out)
		cancel()
		end := d.cfg.Clock.Now()
		a := &Attempt{
			ID:        ninsho.NewID(d.cfg.Clock, d.cfg.Random),
			MessageID: m.ID,
			Provider:  provider,
			OK:        sendErr == nil,
			At:        start,
			Duration:  end.Sub(start),
		}
		if sendErr != nil {
			a.Error = redact(sendErr.Error(), vars)
			a.Class = ClassOf(sendErr)
		}
		if err := d.cfg.Store.RecordAttempt(context.WithoutCancel(ctx), a); err != nil {
			errs = append(errs, fmt.Errorf("message: record attempt: %w", err))
		}
		if sendErr == nil {
			d.breakers.Succeeded(provider, probe)
			d.cfg.Metrics.Sent(m.Channel, provider, end.Sub(m.CreatedAt))
			d.log.Debug("message: sent", "message_id", m.ID, "channel", string(m.Channel), "provider", provider, "attempt", m.Attempts, ninsho.DurationMS(a.Duration))
			sentAt := end
			m.SentAt = &sentAt
			ok, err := d.finish(ctx, m, StatusSent, provider, providerID, "")
			return ok, errors.Join(append(errs, err)...)
		}
		d.cfg.Metrics.AttemptFailed(m.Channel, provider)
		lastErr = a.Error
		switch {
		case ctx.Err() != nil:
			permanent = false // interrupted by shutdown: not the provider's fault
			d.breakers.Released(provider, probe)
		case IsPermanent(sendErr):
			d.breakers.Released(provider, probe)
		default:
			permanent = false
			d.breakers.Failed(provider, end, probe)
		}
		d.log.Warn("message: attempt failed", "message_id", m.ID, "channel", string(m.Channel), "provider", provider, "attempt", m.Attempts, ninsho.DurationMS(a.Duration), "error", lastErr)
	}
	if tried == 0 {
		if stopped {
			return false, errors.Join(append(errs, d.release(ctx, m))...)
		}
		return false, d.wait(ctx, m, skipped)
	}
	return false, errors.Join(append(errs, d.retryOrFail(ctx, m, provider, lastErr, permanent))...)
}

// wait puts back a message none of whose providers could be tried (all
// open, or none configured): still pending, its attempts untouched, due
// again when the first breaker half-opens or after AllOpenRecheck, whichever
// is sooner. It is never failed for that.
func (d *Dispatcher) wait(ctx context.Context, m *Message, open []string) error {
	now := d.cfg.Clock.Now()
	next := now.Add(AllOpenRecheck)
	if t := d.breakers.Reopens(open, now); !t.IsZero() && t.Before(next) {
		next = t
	}
	m.NextAttemptAt = next
	lastErr := fmt.Sprintf("message: no provider for channel %s", m.Channel)
	if len(open) > 0 {
		lastErr = fmt.Sprintf("message: every provider of channel %s is unavailable (circuit open: %s)", m.Channel, strings.Join(open, ", "))
	}
	// Debug: the breaker's own change was logged once at Warn; this repeats
	// for every waiting message every few seconds.
	d.log.Debug("message: waiting for a provider", "message_id", m.ID, "channel", string(m.Channel), "until", next, "error", lastErr)
	_, err := d.finish(ctx, m, StatusPending, "", "", lastErr)
	return err
}

// BreakerState returns the state of the named provider's breaker at now.
func (d *Dispatcher) BreakerState(provider string) BreakerState {
	return d.breakers.State(provider, d.cfg.Clock.Now())
}

// ChannelDown reports whether realm's messages on ch cannot leave now in
// this instance: the channel has no provider, or every provider's breaker
// is open (a half-open one may take a probe, so it is not down). A flow
// waiting for a code uses it to offer another way at once instead of after
// the delivery timeout. Breakers are per instance, so on several instances
// it is what this one saw.
func (d *Dispatcher) ChannelDown(realm string, ch Channel) bool {
	now := d.cfg.Clock.Now()
	for _, s := range d.senders(realm, ch) {
		if d.breakers.State(s.Name(), now) != BreakerOpen {
			return false
		}
	}
	return true
}

// senders returns the providers of realm's messages on ch, in order.
func (d *Dispatcher) senders(realm string, ch Channel) []Sender {
	if ss := d.cfg.RealmSenders[realm][ch]; len(ss) > 0 {
		return ss
	}
	return d.cfg.Senders[ch]
}

// look returns the brand and templates of realm.
func (d *Dispatcher) look(realm string) Look {
	var l Look
	if d.cfg.Looks != nil {
		l = d.cfg.Looks(realm)
	}
	if l.Templates == nil {
		l.Templates = d.cfg.Templates
	}
	return l
}

// retryOrFail finishes a failed round: pending with a back-off, or failed
// when the error is permanent or the attempts are used up.
func (d *Dispatcher) retryOrFail(ctx context.Context, m *Message, provider, lastErr string, permanent bool) error {
	st := StatusPending
	if permanent || m.Attempts >= d.cfg.MaxAttempts {
		st = StatusFailed
	} else {
		m.NextAttemptAt = d.cfg.Clock.Now().Add(d.backoff(m.Attempts))
	}
	_, err := d.finish(ctx, m, st, provider, "", lastErr)
	return err
}

// finish records the outcome of a round and reports whether it was written.
// Sent and failed erase the sealed variables. A lost lease is logged and is
// not an error: the new owner will deliver the message (providers
// de-duplicate by the outbox id).
func (d *Dispatcher) finish(ctx context.Context, m *Message, st Status, provider, providerID, lastErr string) (bool, error) {
	m.Status = st
	if provider != "" {
		m.Provider = provider
	}
	m.ProviderMessageID = providerID
	m.LastError = lastErr
	if st != StatusPending {
		m.SealedVars = nil
		m.DeliveryUpdatedAt = d.cfg.Clock.Now()
	}
	if st == StatusFailed {
		d.cfg.Metrics.Failed(m.Channel, m.Provider)
		d.log.Error("message: delivery failed", "message_id", m.ID, "channel", string(m.Channel), "attempts", m.Attempts, "error", lastErr)
	}
	ok, err := d.cfg.Store.FinishAttempt(context.WithoutCancel(ctx), m)
	if err != nil {
		return false, fmt.Errorf("message: finish attempt: %w", err)
	}
	if !ok {
		d.log.Warn("message: lease lost", "message_id", m.ID, "owner", d.cfg.Owner, "status", string(st))
	}
	return ok, nil
}

// release gives a claimed message back untouched, so that the next claim
// (this dispatcher's or another's) takes it without waiting for the lease.
func (d *Dispatcher) release(ctx context.Context, m *Message) error {
	if _, err := d.cfg.Store.FinishAttempt(context.WithoutCancel(ctx), m); err != nil {
		return fmt.Errorf("message: release: %w", err)
	}
	return nil
}

// backoff returns the wait after failed round n (n ≥ 1): BackoffBase·2^(n-1)
// capped at BackoffMax; the first half is fixed, the second half random.
func (d *Dispatcher) backoff(n int) time.Duration {
	wait := d.cfg.BackoffBase
	for i := 1; i < n && wait < d.cfg.BackoffMax && wait <= math.MaxInt64/2; i++ {
		wait *= 2
	}
	wait = min(wait, d.cfg.BackoffMax)
	half := wait / 2
	var b [8]byte
	ninsho.ReadRandom(d.cfg.Random, b[:])
	jitter := time.Duration(binary.BigEndian.Uint64(b[:]) % uint64(wait-half+1))
	return half + jitter
}

// redact removes the values of vars from a provider error and bounds its
// length. The one-time code is removed wherever it appears; other values only
// when at least 4 bytes long, so that a short name does not blank out the
// error.
func redact(s string, vars map[string]string) string {
	for k, v := range vars {
		if v == "" || (k != "code" && len(v) < 4) {
			continue
		}
		s = strings.ReplaceAll(s, v, "[redacted]")
	}
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxLastError {
		cut := maxLastError
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
