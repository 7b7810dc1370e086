package authflow

import (
	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// KindSupport is the "kind" of NoWayIn's account_locked.
const KindSupport = "support"

// NoWayIn is the answer when a code would have to go to an account that has
// no verified e-mail address or phone number (only support can help): 423
// account_locked with kind "support". No code goes to an unverified
// address, which may be one a thief put on the account.
func NoWayIn() error {
	return ninsho.E(ninsho.CodeAccountLocked).WithParam("kind", KindSupport)
}

// VerifiedChannel picks the channel a code to a's owner goes to: typed (a
// normalised identifier) when it is a's verified e-mail address or phone
// number, else a verified one (e-mail first); false when a has none. An
// unverified identifier is never chosen: after an undo that could not put
// the old address back, it may be one a thief put on the account.
func VerifiedChannel(a *account.Account, typed string) (code.Channel, string, bool) {
	emailOK := a.Email != "" && a.EmailVerifiedAt != nil
	phoneOK := a.Phone != "" && a.PhoneVerifiedAt != nil
	switch {
	case typed != "" && typed == a.Phone && phoneOK:
		return code.ChannelSMS, a.Phone, true
	case typed != "" && typed == a.Email && emailOK:
		return code.ChannelEmail, a.Email, true
	case emailOK:
		return code.ChannelEmail, a.Email, true
	case phoneOK:
		return code.ChannelSMS, a.Phone, true
	}
	return "", "", false
}
