package message

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ninsho/ninsho/internal/ninsho"
)

// MemStore is an in-memory Store for tests. It follows the Store contract
// but ignores transactions: every write is visible at once.
type MemStore struct {
	mu       sync.Mutex
	messages map[string]*Message
	attempts []*Attempt
}

var _ Store = (*MemStore)(nil)

// NewMemStore returns an empty store.
func NewMemStore() *MemStore { return &MemStore{messages: map[string]*Message{}} }

func copyMessage(m *Message) *Message {
	c := *m
	c.SealedVars = bytes.Clone(m.SealedVars)
	if m.SentAt != nil {
		t := *m.SentAt
		c.SentAt = &t
	}
	return &c
}

// EnqueueMessage implements Store.
func (s *MemStore) EnqueueMessage(_ context.Context, m *Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.messages[m.ID]; ok {
		return ninsho.E(ninsho.CodeConflict)
	}
	m.Status = StatusPending
	s.messages[m.ID] = copyMessage(m)
	return nil
}

// ClaimMessages implements Store.
func (s *MemStore) ClaimMessages(_ context.Context, owner string, now, until time.Time, limit int) ([]*Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var due []*Message
	for _, m := range s.messages {
		if m.Status == StatusPending && !m.NextAttemptAt.After(now) && !m.LeaseUntil.After(now) {
			due = append(due, m)
		}
	}
	slices.SortFunc(due, func(a, b *Message) int {
		if c := a.NextAttemptAt.Compare(b.NextAttemptAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	if len(due) > limit {
		due = due[:limit]
	}
	out := make([]*Message, 0, len(due))
	for _, m := range due {
		m.LeaseOwner, m.LeaseUntil = owner, until
		out = append(out, copyMessage(m))
	}
	return out, nil
}

// FinishAttempt implements Store.
func (s *MemStore) FinishAttempt(_ context.Context, m *Message) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.messages[m.ID]
	if !ok || m.LeaseOwner == "" || cur.LeaseOwner != m.LeaseOwner {
		return false, nil
	}
	n := copyMessage(m)
	n.LeaseOwner, n.LeaseUntil = "", time.Time{}
	n.CreatedAt, n.Realm, n.Channel, n.To, n.Template, n.Locale = cur.CreatedAt, cur.Realm, cur.Channel, cur.To, cur.Template, cur.Locale
	s.messages[m.ID] = n
	m.LeaseOwner, m.LeaseUntil = "", time.Time{}
	return true, nil
}

// RecordAttempt implements Store.
func (s *MemStore) RecordAttempt(_ context.Context, a *Attempt) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.messages[a.MessageID]; !ok {
		return ninsho.E(ninsho.CodeNotFound)
	}
	c := *a
	s.attempts = append(s.attempts, &c)
	return nil
}

// Message implements Store.
func (s *MemStore) Message(_ context.Context, id string) (*Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.messages[id]
	if !ok {
		return nil, ninsho.E(ninsho.CodeNotFound)
	}
	return copyMessage(m), nil
}

// Attempts returns the attempts recorded for the message, oldest first.
func (s *MemStore) Attempts(_ context.Context, id string) ([]*Attempt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Attempt
	for _, a := range s.attempts {
		if a.MessageID == id {
			c := *a
			out = append(out, &c)
		}
	}
	return out, nil
}

// NewTestRandom returns a deterministic random source, safe for concurrent
// use, seeded by seed.
func NewTestRandom(seed byte) ninsho.Random {
	var s [32]byte
	s[0] = seed
	return &lockedReader{r: rand.NewChaCha8(s)}
}

type lockedReader struct {
	mu sync.Mutex
	r  io.Reader
}

func (l *lockedReader) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}
