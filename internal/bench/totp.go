package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/ninsho/ninsho/internal/loadgen"
	"github.com/ninsho/ninsho/internal/totp"
)

// TOTPAccount is a seeded account with an authenticator app: its secret, to
// compute codes from, and Last, the step of the last code the server accepted
// for it (the server refuses that step and every earlier one).
type TOTPAccount struct {
	loadgen.Account
	Secret string
	Last   int64
}

// stepMargin is how close to the end of a step a code of the step before is
// no longer sent: the server may already be in the next step when the code
// arrives, and a code two steps old is refused.
const stepMargin = 3 * time.Second

// freshStep returns the step whose code to send at now for an account whose
// last accepted step is last: the oldest step the server still accepts (one
// before the current one, unless the current step ends within stepMargin)
// that is after last. It may be the next step (the server accepts one step
// ahead); it is never further ahead when last is at most the current step.
func freshStep(last int64, now time.Time) int64 {
	s := totp.Step(now)
	lo := s - totp.Skew
	end := time.Unix((s+1)*totp.Period, 0)
	if end.Sub(now) <= stepMargin {
		lo = s
	}
	return max(last+1, lo)
}

// codeOf returns the code of secret for step.
func codeOf(secret string, step int64) (string, error) {
	return totp.CodeAt(secret, time.Unix(step*totp.Period, 0))
}

// EnrolTOTP adds an authenticator app to the account of the session token
// through the documented API (POST /api/v1/me/two-step/totp, then
// .../totp/{id}/verify with a code computed from the secret), which turns
// two-step verification on. The code is of the oldest step the server
// accepts, so that the account has as many fresh steps left as possible.
// The session must be recent (a sign-up's is).
func EnrolTOTP(ctx context.Context, a *loadgen.API, acc loadgen.Account) (TOTPAccount, error) {
	t := TOTPAccount{Account: acc}
	r, data, err := a.Post(ctx, "/api/v1/me/two-step/totp", acc.SessionToken, map[string]string{"label": "bench"})
	if err != nil {
		return t, err
	}
	var begun struct {
		CredentialID string `json:"credential_id"`
		Secret       string `json:"secret"`
	}
	if r.Status != http.StatusCreated || json.Unmarshal(data, &begun) != nil || begun.Secret == "" {
		r.Decode(data)
		return t, fmt.Errorf("bench: adding an authenticator app for %s: status %d %s", acc.Identifier, r.Status, r.ErrorCodes())
	}
	t.Secret = begun.Secret
	step := freshStep(0, time.Now())
	code, err := codeOf(t.Secret, step)
	if err != nil {
		return t, err
	}
	r, data, err = a.Post(ctx, "/api/v1/me/two-step/totp/"+begun.CredentialID+"/verify", acc.SessionToken, map[string]string{"code": code})
	if err != nil {
		return t, err
	}
	var proved struct {
		Enabled bool `json:"enabled"`
	}
	if r.Status != http.StatusOK || json.Unmarshal(data, &proved) != nil || !proved.Enabled {
		r.Decode(data)
		return t, fmt.Errorf("bench: proving the authenticator app of %s: status %d %s", acc.Identifier, r.Status, r.ErrorCodes())
	}
	t.Last = step
	return t, nil
}

// SeedTOTP signs up n accounts named prefix0000@example.com … (as Seed) and
// enrols an authenticator app for each right after its sign-up.
func SeedTOTP(ctx context.Context, a *loadgen.API, prefix string, n, workers int) ([]TOTPAccount, error) {
	accs := make([]TOTPAccount, n)
	err := loadgen.ForEach(n, workers, func(i int) error {
		acc, err := a.Signup(ctx, loadgen.SeedIdentifier(prefix, i), loadgen.SeedPassword(prefix, i), "Bench Account")
		if err != nil {
			return err
		}
		accs[i], err = EnrolTOTP(ctx, a, acc)
		return err
	})
	if err != nil {
		return nil, err
	}
	return accs, nil
}

// TOTPAccountsFor returns how many accounts a closed loop of rate sign-ins a
// second for span needs so that no account is asked for a code twice in a
// step, with a quarter to spare. Seeded accounts last used the step before
// the one they were enrolled in, so each has at least two fresh steps at any
// start (that step and the next; three once the start is a step later), and
// one more at each step boundary the run crosses.
func TOTPAccountsFor(rate float64, span time.Duration) int {
	uses := float64(int(span/(totp.Period*time.Second)) + 2)
	return max(32, int(math.Ceil(1.25*rate*span.Seconds()/uses)))
}

// Roster hands out TOTP accounts to sign in with, each to one worker at a
// time, in turn, and only while the account has a step left whose code the
// server has not accepted yet and still accepts. When none has, Take waits
// for the next step and counts the wait: a run with waits had too few
// accounts for its rate.
type Roster struct {
	mu    sync.Mutex
	accs  []TOTPAccount
	busy  []bool
	next  int
	waits int
	now   func() time.Time
	sleep func(context.Context, time.Duration) error
}

// NewRoster returns a roster of accs (which it updates in place) on the
// wall clock.
func NewRoster(accs []TOTPAccount) *Roster {
	return &Roster{accs: accs, busy: make([]bool, len(accs)), now: time.Now, sleep: sleepCtx}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// Take returns the index of an idle account that has a fresh step now,
// marking it busy until Release.
func (r *Roster) Take(ctx context.Context) (int, error) {
	for {
		r.mu.Lock()
		now := r.now()
		s := totp.Step(now)
		for range r.accs {
			i := r.next
			r.next = (r.next + 1) % len(r.accs)
			if !r.busy[i] && r.accs[i].Last <= s {
				r.busy[i] = true
				r.mu.Unlock()
				return i, nil
			}
		}
		r.waits++
		r.mu.Unlock()
		if err := r.sleep(ctx, time.Unix((s+1)*totp.Period, 0).Sub(now)); err != nil {
			return 0, err
		}
	}
}

// Account returns account i; only the worker that took it may use it.
func (r *Roster) Account(i int) *TOTPAccount { return &r.accs[i] }

// Code returns the step and the code to send now for account i, taken from
// r. The step is fresh: the account had one at Take, and steps only open
// with time.
func (r *Roster) Code(i int) (int64, string, error) {
	acc := &r.accs[i]
	step := freshStep(acc.Last, r.now())
	code, err := codeOf(acc.Secret, step)
	return step, code, err
}

// Release gives account i back. used is the step of the code sent for it
// (the server may have accepted it even when the answer did not arrive), or
// 0 when none was sent.
func (r *Roster) Release(i int, used int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.accs[i].Last = max(r.accs[i].Last, used)
	r.busy[i] = false
}

// Waits returns how many times Take found no account with a fresh step.
func (r *Roster) Waits() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.waits
}
