package authflow

import (
	"context"

	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/smsguard"
)

// Enqueue is how a message goes to the outbox: message.Outbox's Enqueue or
// EnqueueSuppressed.
type Enqueue func(ctx context.Context, realm string, ch message.Channel, to, template, locale string, vars map[string]string) (*message.Message, error)

// CodeLimitNotice enqueues the code_limit notice to dest when issued was the
// last code its lane allows dest this hour (issued.LaneFull), by ch (a voice
// code's notice by SMS), unless the SMS guard refuses it: past the guard's
// limits the code goes, the notice does not. Every path that sends a code
// calls it after enqueueing the code, so the notice is told alike wherever
// the budget runs out.
func (k *Kit) CodeLimitNotice(ctx context.Context, rl *realm.Realm, issued code.Issued, ch code.Channel, dest, locale string, enqueue Enqueue) error {
	if !issued.LaneFull {
		return nil
	}
	nch, ok := smsguard.NoticeChannel(ch, dest, k.CanSend(code.ChannelSMS))
	if !ok {
		return nil
	}
	notice, err := k.SMSGuard.AdmitOptional(ctx, rl, nch, dest, issued.Lane)
	if err != nil || !notice {
		return err
	}
	_, err = enqueue(ctx, rl.ID, message.Channel(nch), dest, message.TemplateCodeLimit, locale,
		map[string]string{"name": "", "host": rl.PublicHost, "base_url": baseURL(rl)})
	return err
}
