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
// a step their proof unlocked, must not go on (the flow answers
// flow_expired). Pending sign-ups hold only unverified identifiers: their
// flows are not judged by it.
func ChannelStillOwned(a *account.Account, f *flow.Flow) bool {
	d := f.Destination
	if d == "" {
		return false
	}
	return (d == a.Email && a.EmailVerifiedAt != nil) || (d == a.Phone && a.PhoneVerifiedAt != nil)
}

// ChannelLost ends f, whose proved channel the account no longer holds
// (ChannelStillOwned): the flow is failed and saved in the transaction of
// ctx (err is a store error), and refusal (flow_expired) is the answer to
// give once that transaction commits; the person starts again with a
// channel of the account.
func (k *Kit) ChannelLost(ctx context.Context, f *flow.Flow) (refusal, err error) {
	f.Status = flow.StatusFailed
	if err := k.Save(ctx, f); err != nil {
		return nil, err
	}
	return ninsho.E(ninsho.CodeFlowExpired), nil
}
