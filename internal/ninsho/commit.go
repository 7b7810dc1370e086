package ninsho

import (
	"context"
	"sync"
)

// CommitHooks are the functions to run once a transaction has committed. A
// TxRunner that supports them starts every outermost transaction with
// WithCommitHooks and calls Run after a successful commit only; after a
// rollback the hooks are dropped. It is safe for concurrent use.
type CommitHooks struct {
	mu  sync.Mutex
	fns []func()
}

type commitHooksKey struct{}

// WithCommitHooks returns ctx carrying a new, empty set of hooks for the
// transaction about to start, and the set.
func WithCommitHooks(ctx context.Context) (context.Context, *CommitHooks) {
	h := &CommitHooks{}
	return context.WithValue(ctx, commitHooksKey{}, h), h
}

// AfterCommit runs fn once the transaction carried by ctx has committed, and
// never if it rolls back; without a transaction in ctx (the change is
// already durable) it runs fn at once. Observers use it so that what they
// count or log is what the database kept. fn must not block.
func AfterCommit(ctx context.Context, fn func()) {
	h, ok := ctx.Value(commitHooksKey{}).(*CommitHooks)
	if !ok {
		fn()
		return
	}
	h.mu.Lock()
	h.fns = append(h.fns, fn)
	h.mu.Unlock()
}

// Run runs the hooks in the order they were added.
func (h *CommitHooks) Run() {
	h.mu.Lock()
	fns := h.fns
	h.fns = nil
	h.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}
