package message

import (
	"bytes"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/secret"
)

// The dispatcher and outbox tests are in package message_test, so that they
// can run on the real store (internal/store imports this package). These
// are the internals and helpers they use.

// OpenVars is openVars.
var OpenVars = openVars

// Redact is redact.
var Redact = redact

// MaxLastError is maxLastError.
const MaxLastError = maxLastError

// Backoff returns d's back-off after n failed rounds.
func (d *Dispatcher) Backoff(n int) time.Duration { return d.backoff(n) }

// Config returns d's configuration with the defaults applied.
func (d *Dispatcher) Config() DispatcherConfig { return d.cfg }

// MustBox returns a secret box under a fixed test key.
func MustBox(tb testing.TB, keyByte byte) *secret.Box {
	tb.Helper()
	b, err := secret.NewBox(NewTestRandom(keyByte), bytes.Repeat([]byte{keyByte}, 32))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// NewTestRandom returns a deterministic random source, safe for concurrent
// use, seeded by seed.
func NewTestRandom(seed byte) ninsho.Random { return ninsho.NewSeededRandom(uint64(seed)) }
