package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/ninsho/ninsho/internal/identifier"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/store"
)

// messages lists recent outbox messages and their attempts (ninsho
// messages). It prints the recipient masked, the statuses, the provider and
// each attempt's provider, outcome, duration and redacted error; never a
// code or the sealed variables (it does not read them).
func messages(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		limit                   int
		realm, status, delivery string
	)
	c := newCommand("messages", "[flags]",
		"Lists recent outbox messages, newest first, with their delivery status and every attempt.\nRecipients are masked; codes and message contents are never shown.", stderr, func(c *command) {
			c.dataDirFlag()
			c.configFlag()
			c.fs.IntVar(&limit, "limit", message.DefaultListLimit, "show at most `n` messages")
			c.fs.StringVar(&realm, "realm", "", "only the messages of realm `id`")
			c.fs.StringVar(&status, "status", "", "only messages with outbox `status`: pending, sent, failed, suppressed")
			c.fs.StringVar(&delivery, "delivery", "", "only messages with delivery `status`: queued, sent, delivered, undelivered, failed")
		})
	if err := c.parse(args); err != nil {
		return err
	}
	switch message.Status(status) {
	case "", message.StatusPending, message.StatusSent, message.StatusFailed, message.StatusSuppressed:
	default:
		return fmt.Errorf("messages: --status must be pending, sent, failed or suppressed, not %q", status)
	}
	if delivery != "" && !message.DeliveryStatus(delivery).Valid() {
		return fmt.Errorf("messages: --delivery must be queued, sent, delivered, undelivered or failed, not %q", delivery)
	}
	if limit <= 0 {
		return fmt.Errorf("messages: --limit must be positive, not %d", limit)
	}
	cfg, err := c.loadConfig()
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, store.Options{DataDir: cfg.DataDir, URL: string(cfg.DatabaseURL)})
	if err != nil {
		return err
	}
	defer db.Close()
	regions := map[string]string{}
	for _, r := range cfg.Realms {
		regions[r.ID] = r.PhoneRegion
	}
	return listMessages(ctx, db, message.MessageFilter{
		Realm: realm, Status: message.Status(status), Delivery: message.DeliveryStatus(delivery), Limit: limit,
	}, regions, stdout)
}

// listMessages writes the messages f selects: one line per message, then
// one indented line per attempt.
func listMessages(ctx context.Context, s message.ListStore, f message.MessageFilter, regions map[string]string, w io.Writer) error {
	msgs, err := s.RecentMessages(ctx, f)
	if err != nil {
		return err
	}
	if len(msgs) == 0 {
		fmt.Fprintln(w, "no messages")
		return nil
	}
	for _, m := range msgs {
		fmt.Fprintf(w, "%s realm=%s channel=%s template=%s to=%s status=%s delivery=%s provider=%s attempts=%d created=%s",
			m.ID, m.Realm, m.Channel, m.Template, identifier.Mask(identifier.Normalized(m.To), regions[m.Realm]),
			m.Status, m.Delivery, orNone(m.Provider), m.Attempts, m.CreatedAt.UTC().Format(time.RFC3339))
		if m.Status == message.StatusPending && !m.NextAttemptAt.IsZero() {
			fmt.Fprintf(w, " next=%s", m.NextAttemptAt.UTC().Format(time.RFC3339))
		}
		if m.LastError != "" {
			fmt.Fprintf(w, " last_error=%s", strconv.Quote(m.LastError))
		}
		fmt.Fprintln(w)
		as, err := s.Attempts(ctx, m.ID)
		if err != nil {
			return err
		}
		for _, a := range as {
			outcome := "ok"
			if !a.OK {
				outcome = "failed"
			}
			fmt.Fprintf(w, "  attempt %s provider=%s %s duration=%s", a.At.UTC().Format(time.RFC3339Nano), a.Provider, outcome, a.Duration.Round(time.Microsecond))
			if a.Class != "" {
				fmt.Fprintf(w, " class=%s", a.Class)
			}
			if a.Error != "" {
				fmt.Fprintf(w, " error=%s", strconv.Quote(a.Error))
			}
			fmt.Fprintln(w)
		}
	}
	return nil
}

func orNone(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}
