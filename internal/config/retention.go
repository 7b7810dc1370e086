package config

import (
	"fmt"
	"time"

	"github.com/ninsho/ninsho/internal/retention"
)

// Retention says how long records are kept before the housekeeping loop
// deletes them, in bounded batches (docs/operations.md, "Retention"). The
// defaults are retention.DefaultPolicy's.
type Retention struct {
	// Sessions: how long after a session ended (signed out, revoked or
	// expired) its row is kept (30 days).
	Sessions Duration `json:"sessions"`
	// Codes: how long after a verification code expired, used or not, its
	// row is kept (7 days; at least 1 hour, the window of the hourly cap per
	// destination). No code goes before it expires.
	Codes Duration `json:"codes"`
	// Messages: how long after an outbox message was sent or failed for
	// good it is kept with its delivery attempts (30 days).
	Messages Duration `json:"messages"`
	// Devices: how long after it was last seen a device that no account is
	// familiar with and no session or flow refers to is kept (30 days).
	Devices Duration `json:"devices"`
	// Events: how long an event is kept after it occurred (400 days; at
	// least 90 days, the sign-in history the account page shows).
	Events Duration `json:"events"`
	// BatchSize: the most rows one delete statement removes (1,000).
	BatchSize int `json:"batch_size"`
	// BatchesPerRun: the most delete statements per kind in one
	// housekeeping pass, every ten minutes (10).
	BatchesPerRun int `json:"batches_per_run"`
}

// DefaultRetention returns the retention defaults.
func DefaultRetention() Retention {
	p := retention.DefaultPolicy()
	return Retention{
		Sessions:      Duration(p.Sessions),
		Codes:         Duration(p.Codes),
		Messages:      Duration(p.Messages),
		Devices:       Duration(p.Devices),
		Events:        Duration(p.Events),
		BatchSize:     p.BatchSize,
		BatchesPerRun: p.BatchesPerRun,
	}
}

// Policy returns the retention policy r configures.
func (r Retention) Policy() retention.Policy {
	return retention.Policy{
		Sessions:      time.Duration(r.Sessions),
		Codes:         time.Duration(r.Codes),
		Messages:      time.Duration(r.Messages),
		Devices:       time.Duration(r.Devices),
		Events:        time.Duration(r.Events),
		BatchSize:     r.BatchSize,
		BatchesPerRun: r.BatchesPerRun,
	}
}

// validate returns r's problems, each naming its setting
// ("retention.events: …").
func (r Retention) validate() []error {
	err := r.Policy().Validate()
	if err == nil {
		return nil
	}
	var errs []error
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range joined.Unwrap() {
			errs = append(errs, fmt.Errorf("retention.%w", e))
		}
		return errs
	}
	return []error{fmt.Errorf("retention: %w", err)}
}
