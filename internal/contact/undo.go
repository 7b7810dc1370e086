package contact

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/device"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/identifier"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/risk"

	"github.com/ninsho/ninsho/internal/authflow"
)

// dest is one channel an alert goes to.
type dest struct {
	ch code.Channel
	to string
}

// alertDests are where the change ch of a (as it is now) is told: a changed
// e-mail address at the old address; a changed phone number at the
// account's e-mail address and by SMS at the old number; an added
// identifier at the account's other verified channel. An old address is
// told only when it was verified (else it was never proved the owner's).
func alertDests(a *account.Account, ch *Change, oldVerified bool) []dest {
	var out []dest
	emailOK := a.Email != "" && a.EmailVerifiedAt != nil
	phoneOK := a.Phone != "" && a.PhoneVerifiedAt != nil
	switch {
	case ch.Added() && ch.Kind == KindEmail:
		if phoneOK {
			out = append(out, dest{code.ChannelSMS, a.Phone})
		}
	case ch.Added():
		if emailOK {
			out = append(out, dest{code.ChannelEmail, a.Email})
		}
	case ch.Kind == KindEmail:
		if oldVerified {
			out = append(out, dest{code.ChannelEmail, ch.OldValue})
		}
	default:
		if emailOK {
			out = append(out, dest{code.ChannelEmail, a.Email})
		}
		if oldVerified && identifier.RequireMobile(identifier.Normalized(ch.OldValue)) == nil {
			out = append(out, dest{code.ChannelSMS, ch.OldValue})
		}
	}
	return out
}

// changeName is the template variable change of ch.
func changeName(ch *Change) string {
	if ch.Added() {
		return string(ch.Kind) + "_added"
	}
	return string(ch.Kind) + "_changed"
}

// jst is Japan Standard Time, for Japanese messages.
var jst = time.FixedZone("JST", 9*60*60)

// alert sends contact_changed to each of dests that has a provider (an SMS
// past the SMS guard's limits is left out), in the language of the flow's
// messages, each with its own single-use undo link (a code of purpose
// contact_undo bound to the change, UndoLifetime), and records each
// sending (signin.alert_sent). It runs in the transaction of ctx.
func (s *Service) alert(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account, req ninsho.Request, ch *Change, dests []dest) error {
	k := s.Kit
	locale := authflow.Locale(f, a, rl)
	now := k.Clock.Now()
	when := now.UTC().Format("2006-01-02 15:04 UTC")
	if locale == "ja" {
		when = now.In(jst).Format("2006-01-02 15:04 JST")
	}
	deviceText, _ := device.Describe(locale, req.UserAgent)
	network := risk.Prefix(req.IP)
	if network == "" {
		network = "-"
	}
	for _, d := range dests {
		if !k.CanSend(d.ch) {
			continue
		}
		if ok, err := k.SMSGuard.AdmitOptional(ctx, rl, d.ch, d.to, code.LaneOwner); err != nil {
			return err
		} else if !ok {
			continue
		}
		token, err := k.Codes.IssueLink(ctx, rl.ID, a.ID, ch.ID, code.PurposeContactUndo, d.to, UndoLifetime)
		if err != nil {
			return err
		}
		vars := map[string]string{
			"name": a.Name, "time": when, "device": deviceText, "network": network,
			"link": UndoLink(rl, d.ch, token), "change": changeName(ch),
		}
		if err := k.Notify(ctx, rl, message.Channel(d.ch), d.to, message.TemplateContactChanged, locale, vars); err != nil {
			return err
		}
		if err := k.Record(ctx, rl, a.ID, event.TypeSigninAlertSent, req, f.DeviceID, map[string]any{
			"flow": f.ID, "channel": string(d.ch), "template": message.TemplateContactChanged,
		}); err != nil {
			return err
		}
	}
	return nil
}

// UndoPath is the page of the undo link in e-mail (?token=…); ShortUndoPath
// is its short form in a text message (/c/<token>), where every character
// counts. Both show the same page.
const (
	UndoPath      = "/account/contact-undo"
	ShortUndoPath = "/c/"
)

// UndoLink is the "undo — this wasn't me" link of a contact change alert.
func UndoLink(rl *realm.Realm, ch code.Channel, token string) string {
	base := "https://" + rl.PublicHost
	if rl.BaseURL != "" {
		base = strings.TrimRight(rl.BaseURL, "/")
	}
	if ch == code.ChannelEmail {
		return base + UndoPath + "?token=" + url.QueryEscape(token)
	}
	return base + ShortUndoPath + url.PathEscape(token)
}

// UndoUsable reports whether the undo link with token can still be followed
// (it does not use it): a page can say at once that a link is spent.
func (s *Service) UndoUsable(ctx context.Context, rl *realm.Realm, token string) (bool, error) {
	return s.Kit.Codes.LinkUsable(ctx, rl.ID, code.PurposeContactUndo, token)
}

// Undo follows the undo link with token, once (every link of one change
// together): the old identifier comes back, verified (an added one is
// removed; a moved two-step number moves back), unless another account
// holds the old address by now — then the new address stays but is no
// longer counted as verified; either way every session of the account is
// revoked and it is locked as suspicious, and an unlock flow begins with a
// code to a verified channel (unlock.Service.LockNotMe). It records
// contact.undone. The answer is the unlock flow's, with Contact.Restored.
// An unknown, used or expired token is ninsho.CodeNotFound.
func (s *Service) Undo(ctx context.Context, rl *realm.Realm, req ninsho.Request, token string) (*flow.Answer, error) {
	k := s.Kit
	var ans *flow.Answer
	var accountID string
	restored := false
	err := k.Tx.InTx(ctx, func(ctx context.Context) error {
		c, err := k.Codes.ConsumeLink(ctx, rl.ID, code.PurposeContactUndo, token)
		if err != nil {
			return err
		}
		ch, err := s.Store.ContactChange(ctx, rl.ID, c.FlowID)
		if err != nil {
			return err
		}
		if ok, err := s.Store.UndoContactChange(ctx, ch.ID, k.Clock.Now()); err != nil {
			return err
		} else if !ok {
			return ninsho.E(ninsho.CodeNotFound)
		}
		a, err := s.Store.HeldAccount(ctx, ch.AccountID)
		if err != nil {
			return err
		}
		accountID = a.ID
		moved := 0
		if restored, moved, err = s.restore(ctx, rl, req, a, ch); err != nil {
			return err
		}
		if err := k.Record(ctx, rl, a.ID, event.TypeContactUndone, req, "", map[string]any{
			"change": ch.ID, "kind": string(ch.Kind), "restored": restored, "two_step_moved": moved > 0,
		}); err != nil {
			return err
		}
		ans, err = s.Unlock.LockNotMe(ctx, rl, req, a, "contact_undo")
		return err
	})
	if err != nil {
		return nil, err
	}
	s.Signin.ForgetAccount(accountID)
	k.Outbox.Wake()
	ans.Contact = &flow.Contact{Restored: &restored}
	return ans, nil
}

// restore puts ch back on a (in memory and stored) and reports whether it
// could, and how many two-step methods moved back.
func (s *Service) restore(ctx context.Context, rl *realm.Realm, req ninsho.Request, a *account.Account, ch *Change) (bool, int, error) {
	k := s.Kit
	now := k.Clock.Now()
	a.UpdatedAt = now
	if ch.Added() {
		other := a.Email
		if ch.Kind == KindEmail {
			other = a.Phone
		}
		if current(a, ch.Kind) != ch.NewValue || other == "" {
			// Changed since, or nothing else to sign in with: kept.
			return current(a, ch.Kind) != ch.NewValue, 0, nil
		}
		set(a, ch.Kind, "", nil)
		return true, 0, k.Accounts.UpdateAccount(ctx, a)
	}
	holder, err := k.AccountFor(ctx, rl, identifier.Normalized(ch.OldValue))
	if err != nil && !ninsho.IsCode(err, ninsho.CodeAccountNotFound) {
		return false, 0, err
	}
	if holder != nil && holder.ID != a.ID && holder.Status == account.StatusPending {
		// An unconfirmed sign-up never proved the address, and the owner
		// just did by following the link sent to it: a stranger who
		// started one to block the undo loses it.
		if _, err := k.Accounts.DeletePendingAccount(ctx, holder.ID); err != nil {
			return false, 0, err
		}
		holder = nil
	}
	if holder != nil && holder.ID != a.ID {
		if current(a, ch.Kind) == ch.NewValue {
			// Not the owner's proved address: no code goes there.
			set(a, ch.Kind, ch.NewValue, nil)
			return false, 0, k.Accounts.UpdateAccount(ctx, a)
		}
		return false, 0, nil
	}
	from := current(a, ch.Kind)
	set(a, ch.Kind, ch.OldValue, &now)
	if err := k.Accounts.UpdateAccount(ctx, a); err != nil {
		return false, 0, err
	}
	moved := 0
	if ch.Kind == KindPhone && ch.MovedTwoStep && k.TwoStep != nil {
		if moved, err = k.TwoStep.MovePhone(ctx, rl, req, a, from, ch.OldValue); err != nil {
			return false, 0, err
		}
	}
	return true, moved, nil
}

// Purge batches: at most PurgeBatch rows per statement and PurgeBatches
// statements per call.
const (
	PurgeBatch   = 1000
	PurgeBatches = 10
)

// Purge deletes the changes whose undo link has expired, in bounded
// batches (the housekeeping loop calls it every ten minutes), and returns
// how many it deleted.
func (s *Service) Purge(ctx context.Context) (int, error) {
	now := s.Kit.Clock.Now()
	total := 0
	for range PurgeBatches {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, err := s.Store.PurgeContactChanges(ctx, now, PurgeBatch)
		total += n
		if err != nil || n < PurgeBatch {
			return total, err
		}
	}
	return total, nil
}
