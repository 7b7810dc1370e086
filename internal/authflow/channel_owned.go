package authflow

import (
	"context"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// ChannelStillOwned reports whether the address or number f's code went
// to (f.Destination) is still a verified identifier of a. A recovery flow
// (unlock, the password assistant) acts for whoever proved that channel,
// and only while the account holds it: after an undo or a "this wasn't me"
// rolled back the change that put it there, or after the owner removed
// it, its holder is no longer the owner, and a code they already had, or
// a step their proof unlocked, must not go on.
func ChannelStillOwned(a *account.Account, f *flow.Flow) bool {
	d := f.Destination
	if d == "" {
		return false
	}
	return (d == a.Email && a.EmailVerifiedAt != nil) || (d == a.Phone && a.PhoneVerifiedAt != nil)
}

// StopIfChannelLost ends the recovery flow f when a no longer holds the
// channel its code proved (ChannelStillOwned): the flow is failed and
// saved (in the transaction of ctx, or one of its own), and lost is the
// refusal to answer once that commits (flow_expired: the person starts
// again with a channel of the account); err is a store error. Both are nil
// when f may go on. An unfinished sign-up holds only unverified
// identifiers and is not judged.
func (k *Kit) StopIfChannelLost(ctx context.Context, f *flow.Flow, a *account.Account) (lost, err error) {
	if a.Status == account.StatusPending || ChannelStillOwned(a, f) {
		return nil, nil
	}
	err = k.Tx.InTx(ctx, func(ctx context.Context) error {
		f.Status = flow.StatusFailed
		return k.Save(ctx, f)
	})
	if err != nil {
		return nil, err
	}
	return ninsho.E(ninsho.CodeFlowExpired), nil
}
