package code

import "context"

// AllowKey is Allow for wrong answers that a caller counts under a key of
// its own (re-authentication's wrong passwords, "reauth:<account>"), on the
// same ladder and store as wrong codes but apart from them.
func (g *Guard) AllowKey(ctx context.Context, realm, key string) (GuardState, error) {
	if g == nil {
		return GuardState{}, nil
	}
	return g.allow(ctx, realm, key)
}

// FailKey is Fail for a wrong answer counted under key (AllowKey).
func (g *Guard) FailKey(ctx context.Context, realm, key string) error {
	if g == nil {
		return nil
	}
	return g.fail(ctx, realm, key)
}

// SucceedKey is Succeed for a right answer counted under key (AllowKey read
// st); it writes only when there was something to forget.
func (g *Guard) SucceedKey(ctx context.Context, realm, key string, st GuardState) error {
	if g == nil || st == (GuardState{}) {
		return nil
	}
	return g.Store.ResetCodeGuard(ctx, realm, key)
}
