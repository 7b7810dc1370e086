package contact

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/identifier"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/twostep"
	"github.com/ninsho/ninsho/internal/unlock"

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

// alert sends contact_changed to each of dests that has a provider (an SMS
// past the SMS guard's limits is left out), in the language of the flow's
// messages, each with its own single-use undo link (a code of purpose
// contact_undo bound to the change, UndoLifetime), and records each
// sending (signin.alert_sent). It runs in the transaction of ctx.
func (s *Service) alert(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account, req ninsho.Request, ch *Change, dests []dest) error {
	return sendUndoAlerts(ctx, s.Kit, rl, f, a, req, ch, dests, message.TemplateContactChanged, map[string]string{"change": changeName(ch)})
}

// sendUndoAlerts sends template with extra to each of dests (see alert),
// each with its own undo link of ch, through authflow's one alert sender.
func sendUndoAlerts(ctx context.Context, k *authflow.Kit, rl *realm.Realm, f *flow.Flow, a *account.Account, req ninsho.Request, ch *Change, dests []dest, template string, extra map[string]string) error {
	to := make([]authflow.AlertDest, 0, len(dests))
	for _, d := range dests {
		to = append(to, authflow.AlertDest{Ch: message.Channel(d.ch), To: d.to})
	}
	return k.SendAlerts(ctx, rl, a, req, authflow.Alerts{
		Template: template, Locale: authflow.Locale(f, a, rl), FlowID: f.ID, DeviceID: f.DeviceID,
		Dests: to, Extra: extra,
		Link: func(ctx context.Context, d authflow.AlertDest) (string, error) {
			token, err := k.Codes.IssueLink(ctx, rl.ID, a.ID, ch.ID, code.PurposeContactUndo, d.To, UndoLifetime)
			if err != nil {
				return "", err
			}
			return UndoLink(rl, code.Channel(d.Ch), token), nil
		},
	})
}

// RecordRemoval keeps the removal of before's identifier of kind
// (internal/profile) as a change (NewValue "") in st, in the transaction of
// ctx, so that its undo link — and the undo of any older change — puts it
// back.
func RecordRemoval(ctx context.Context, k *authflow.Kit, st Store, rl *realm.Realm, before *account.Account, kind Kind) (*Change, error) {
	now := k.Clock.Now()
	ch := &Change{
		ID: ninsho.NewID(k.Clock, k.Random), Realm: rl.ID, AccountID: before.ID, Kind: kind,
		OldValue: current(before, kind), CreatedAt: now, ExpiresAt: now.Add(UndoLifetime),
	}
	if err := st.AddContactChange(ctx, ch); err != nil {
		return nil, err
	}
	return ch, nil
}

// AlertRemoved sends template (identifier_removed, with extra) to the
// address the removal ch took from before, when it was verified, with the
// removal's undo link (extra "undo" "1") instead of "this wasn't me"; the
// caller tells the remaining channels. It runs in the transaction of ctx.
func AlertRemoved(ctx context.Context, k *authflow.Kit, rl *realm.Realm, f *flow.Flow, before *account.Account, req ninsho.Request, ch *Change, template string, extra map[string]string) error {
	if !verified(before, ch.Kind) {
		return nil
	}
	d := dest{code.ChannelEmail, before.Email}
	if ch.Kind == KindPhone {
		d = dest{code.ChannelSMS, before.Phone}
	}
	vars := map[string]string{"undo": "1"}
	for key, v := range extra {
		vars[key] = v
	}
	return sendUndoAlerts(ctx, k, rl, f, before, req, ch, []dest{d}, template, vars)
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
// together). Undoing a change rolls back the change AND every later change
// of the account not undone yet (the chain: contact.Store.ContactChain,
// removals included), and marks them all undone, so that their links die:
// the oldest link always wins. For each kind the chain changed, the value
// before its earliest change of that kind comes back, verified ("" — the
// identifier did not exist — removes it, while another identifier
// remains); a two-step number the chain moved moves back. A value another
// confirmed account holds by now is not restored (an unconfirmed sign-up
// holding it is deleted): the value the chain put there stays, no longer
// counted as verified, so that no code goes to a value the chain put on
// the account. Either way every session of the account is revoked and it is
// locked as suspicious, and an unlock flow begins with a code to a verified
// channel (unlock.Service.LockNotMe). It records contact.undone. The answer
// is the unlock flow's, with Contact.Restored (every kind back as before
// the chain). An unknown, used or expired token, or one of a change undone
// already (by itself or by an older change's undo), is
// ninsho.CodeNotFound.
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
		// Held first: an undo of the same account (a later link of the
		// chain, say) waits, then finds its change undone.
		a, err := s.Store.HeldAccount(ctx, ch.AccountID)
		if err != nil {
			return err
		}
		chain, err := s.Store.ContactChain(ctx, ch)
		if err != nil {
			return err
		}
		if len(chain) == 0 || chain[0].ID != ch.ID {
			return ninsho.E(ninsho.CodeNotFound)
		}
		now := k.Clock.Now()
		for _, c := range chain {
			if ok, err := s.Store.UndoContactChange(ctx, c.ID, now); err != nil {
				return err
			} else if !ok {
				return ninsho.E(ninsho.CodeNotFound)
			}
		}
		accountID = a.ID
		var r rolledBack
		if r, err = s.rollback(ctx, rl, req, a, chain, chain[0].CreatedAt); err != nil {
			return err
		}
		restored = r.restored
		if err := k.Record(ctx, rl, a.ID, event.TypeContactUndone, req, "", map[string]any{
			"change": ch.ID, "kind": string(ch.Kind), "restored": restored, "two_step_moved": r.moved > 0,
			"changes": len(chain), "two_step_removed": r.twoStep.Methods, "two_step_off": r.twoStep.TurnedOff,
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
	if ans == nil {
		// Locked, and no verified channel is left for the unlock code.
		return nil, unlock.NoWayIn()
	}
	ans.Contact = &flow.Contact{Restored: &restored}
	return ans, nil
}

// NotMeSlack is how far before the time of the alert or history entry a
// "this wasn't me" rolls back (RollbackSince): the change the alert tells
// of — a two-step method proved, an address changed — was written a moment
// before the alert in the same request, and a method begun earlier is
// judged by when it was proved.
const NotMeSlack = time.Minute

// RollbackSince is the rollback of "this wasn't me" about something done
// at since (an entry of the sign-in history, or the sign-in a "this wasn't
// me" link was sent about), wired into unlock.Service.Rollback: every
// change of a's e-mail address or phone number made at or after since and
// not undone yet is rolled back as an undo link's chain is (Undo), and
// marked undone (their links die), and two-step methods added at or after
// since are removed (twostep.Service.RollBack). It records contact.undone
// (data "via" "not_me") when it changed anything, and reports whether
// every kind came back. It runs in the transaction of ctx; a is read held
// first and updated in place.
func (s *Service) RollbackSince(ctx context.Context, rl *realm.Realm, req ninsho.Request, a *account.Account, since time.Time) (bool, error) {
	k := s.Kit
	held, err := s.Store.HeldAccount(ctx, a.ID)
	if err != nil {
		return false, err
	}
	*a = *held
	// The alert or entry is written in the same request as the change it
	// tells of, a moment after it: the rollback starts NotMeSlack before.
	since = since.Add(-NotMeSlack)
	chain, err := s.Store.ContactChain(ctx, &Change{Realm: rl.ID, AccountID: a.ID, CreatedAt: since})
	if err != nil {
		return false, err
	}
	now := k.Clock.Now()
	var undone []*Change
	for _, c := range chain {
		if ok, err := s.Store.UndoContactChange(ctx, c.ID, now); err != nil {
			return false, err
		} else if ok {
			undone = append(undone, c)
		}
	}
	r, err := s.rollback(ctx, rl, req, a, undone, since)
	if err != nil {
		return false, err
	}
	if len(undone) == 0 && r.twoStep.Methods == 0 && !r.twoStep.BackupCodes {
		return true, nil
	}
	data := map[string]any{
		"via": "not_me", "restored": r.restored, "two_step_moved": r.moved > 0, "changes": len(undone),
		"two_step_removed": r.twoStep.Methods, "two_step_off": r.twoStep.TurnedOff,
	}
	if len(undone) > 0 {
		data["change"], data["kind"] = undone[0].ID, string(undone[0].Kind)
	}
	if err := k.Record(ctx, rl, a.ID, event.TypeContactUndone, req, "", data); err != nil {
		return false, err
	}
	return r.restored, nil
}

// rolledBack is what rollback did.
type rolledBack struct {
	restored bool // every kind back as before the chain
	moved    int  // two-step methods moved back with the phone number
	twoStep  twostep.RolledBack
}

// rollback puts a back as it was before chain (oldest first; see Undo), in
// memory and stored, and removes the two-step methods (and backup codes)
// added at or after since and those on a number it took off the account
// (twostep.Service.RollBack: no refusal for a realm requiring 2SV). It
// reports whether every kind came back, how many two-step methods moved
// back and what the two-step rollback removed.
func (s *Service) rollback(ctx context.Context, rl *realm.Realm, req ninsho.Request, a *account.Account, chain []*Change, since time.Time) (rolledBack, error) {
	k := s.Kit
	now := k.Clock.Now()
	var out rolledBack
	before := []string{a.Email, a.Phone}
	a.UpdatedAt = now
	target := map[Kind]string{}
	var kinds []Kind
	for _, c := range chain {
		if _, ok := target[c.Kind]; !ok {
			target[c.Kind] = c.OldValue
			kinds = append(kinds, c.Kind)
		}
	}
	// The values that come back first, then the identifiers the chain
	// added: one goes only while another remains to sign in with.
	for _, kind := range kinds {
		old := target[kind]
		if old == "" {
			continue
		}
		holder, err := k.AccountFor(ctx, rl, identifier.Normalized(old))
		if err != nil && !ninsho.IsCode(err, ninsho.CodeAccountNotFound) {
			return out, err
		}
		if holder != nil && holder.ID != a.ID && holder.Status == account.StatusPending {
			// An unconfirmed sign-up never proved the address, and the
			// owner just did by following the link: a stranger who
			// started one to block the undo loses it.
			if _, err := k.Accounts.DeletePendingAccount(ctx, holder.ID); err != nil {
				return out, err
			}
			holder = nil
		}
		if holder != nil && holder.ID != a.ID {
			continue // not restored; judged below
		}
		set(a, kind, old, &now)
	}
	for _, kind := range kinds {
		if target[kind] != "" || current(a, kind) == "" {
			continue
		}
		other := KindPhone
		if kind == KindPhone {
			other = KindEmail
		}
		if current(a, other) != "" {
			set(a, kind, "", nil)
		}
	}
	// What the chain put on the account and could not take back is no
	// longer counted as verified: no code goes there.
	restored := true
	for _, kind := range kinds {
		if v := current(a, kind); v != target[kind] {
			restored = false
			if v != "" {
				set(a, kind, v, nil)
			}
		}
	}
	if err := k.Accounts.UpdateAccount(ctx, a); err != nil {
		return out, err
	}
	if k.TwoStep != nil && current(a, KindPhone) == target[KindPhone] {
		for i := len(chain) - 1; i >= 0; i-- {
			c := chain[i]
			if c.Kind != KindPhone || !c.MovedTwoStep {
				continue
			}
			n, err := k.TwoStep.MovePhone(ctx, rl, req, a, c.NewValue, c.OldValue)
			if err != nil {
				return out, err
			}
			out.moved += n
		}
	}
	out.restored = restored
	// Links sent to an address the account no longer has (the thief's,
	// say) die with it: a leftover "this wasn't me" or undo link there
	// must not lock the owner out again after the recovery.
	for _, v := range before {
		if v == "" || v == a.Email || v == a.Phone {
			continue
		}
		if _, err := k.Codes.Store.ConsumeLinksTo(ctx, rl.ID, a.ID, v, []code.Purpose{code.PurposeNotMe, code.PurposeContactUndo}, now); err != nil {
			return out, err
		}
	}
	if k.TwoStep == nil {
		return out, nil
	}
	// Numbers the chain put on the account and that are gone now: a
	// two-step method on one of them goes with it.
	var numbers []string
	for _, c := range chain {
		if c.Kind == KindPhone && c.NewValue != "" && c.NewValue != a.Phone {
			numbers = append(numbers, c.NewValue)
		}
	}
	var err error
	out.twoStep, err = k.TwoStep.RollBack(ctx, rl, req, a, since, now, numbers)
	return out, err
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
