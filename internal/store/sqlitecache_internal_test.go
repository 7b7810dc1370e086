package store

import (
	"context"
	"testing"
	"time"
)

type ctxKey struct{}

// TestUnwatched: a SQLite statement gets its request's values but not the
// request's cancellation; a deadline, or a context that has ended already,
// is kept.
func TestUnwatched(t *testing.T) {
	parent := context.WithValue(context.Background(), ctxKey{}, "value")

	req, cancel := context.WithCancel(parent)
	defer cancel()
	got := unwatched(req)
	if got.Done() != nil {
		t.Error("a cancellable context without a deadline is still watched")
	}
	if got.Value(ctxKey{}) != "value" {
		t.Error("the values were lost")
	}

	timed, cancelTimed := context.WithTimeout(parent, time.Hour)
	defer cancelTimed()
	if got := unwatched(timed); got != timed {
		t.Error("a context with a deadline was changed")
	}

	ended, end := context.WithCancel(parent)
	end()
	if got := unwatched(ended); got.Err() == nil {
		t.Error("a context that had ended lost its error")
	}

	if got := unwatched(context.Background()); got.Done() != nil {
		t.Error("context.Background gained a Done channel")
	}
}
