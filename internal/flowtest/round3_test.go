package flowtest_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/message"
)

// notMeLinkIn returns the token of the newest "this wasn't me" link of
// template in to's inbox.
func notMeLinkIn(t *testing.T, e *flowtest.Env, to, template string) string {
	t.Helper()
	for _, m := range e.Messages(t, to) {
		if m.Template != template {
			continue
		}
		i := strings.Index(m.Text, "https://")
		if i < 0 {
			continue
		}
		u, err := url.Parse(strings.Fields(m.Text[i:])[0])
		if err == nil && u.Query().Get("token") != "" {
			return u.Query().Get("token")
		}
	}
	t.Fatalf("no %s link to %s", template, to)
	return ""
}

// TestNotMeRemovesAnAppBegunEarlier (third outside round): a stolen
// session begins an authenticator app, proves it half a minute later (the
// two_step_changed alert goes out then) — the owner's "this wasn't me"
// from that alert removes the app, though it was begun before the alert,
// and the unlock asks for no second factor.
func TestNotMeRemovesAnAppBegunEarlier(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		frService(e)
		dev := e.MustSignUp(t, e.JP, frOwner, pw, frOwner)
		p, req := ctSignIn(t, e, e.JP, frOwner, dev)
		a := ctAccount(t, e, p.Account.ID)
		en, err := e.TwoStep.BeginTOTP(ctx, e.JP, req, a)
		if err != nil {
			t.Fatal(err)
		}
		e.Clock.Advance(30 * time.Second)
		if _, err := e.TwoStep.ProveTOTP(ctx, e.JP, req, a, en.CredentialID, totpAt(t, en.Secret, e.Clock.Now())); err != nil {
			t.Fatal(err)
		}
		e.Clock.Advance(time.Second)
		token := notMeLinkIn(t, e, frOwner, message.TemplateTwoStepChanged)
		ans, err := e.Unlock.NotMe(ctx, e.JP, flowtest.Req("198.51.100.7", ""), token)
		if err != nil {
			t.Fatalf("not-me: %v", err)
		}
		if sum, err := e.TwoStep.Summarize(ctx, e.JP, ctAccount(t, e, a.ID)); err != nil || sum.Enabled || len(sum.Methods) != 0 {
			t.Fatalf("two-step after not-me = %+v, %v; want the thief's app gone", sum, err)
		}
		frUnlock(t, e, e.JP, ans, frOwner)
	})
}

// TestUndoRemovesAnAppProvedAfterTheChange: an app begun before the
// e-mail change and proved after it counts as added after it: the undo
// of the change removes it.
func TestUndoRemovesAnAppProvedAfterTheChange(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		s := frService(e)
		dev := e.MustSignUp(t, e.JP, frOwner, pw, frOwner)
		p, req := ctSignIn(t, e, e.JP, frOwner, dev)
		a := ctAccount(t, e, p.Account.ID)
		en, err := e.TwoStep.BeginTOTP(ctx, e.JP, req, a)
		if err != nil {
			t.Fatal(err)
		}
		e.Clock.Advance(time.Second)
		changeEmail(t, e, s, e.JP, p, req, frThief)
		token := undoToken(t, e, frOwner)
		e.Clock.Advance(time.Minute)
		a = ctAccount(t, e, p.Account.ID)
		if _, err := e.TwoStep.ProveTOTP(ctx, e.JP, req, a, en.CredentialID, totpAt(t, en.Secret, e.Clock.Now())); err != nil {
			t.Fatal(err)
		}
		e.Clock.Advance(time.Minute)
		ans, err := s.Undo(ctx, e.JP, flowtest.Req("198.51.100.7", ""), token)
		if err != nil {
			t.Fatalf("undo: %v", err)
		}
		if sum, err := e.TwoStep.Summarize(ctx, e.JP, ctAccount(t, e, a.ID)); err != nil || sum.Enabled || len(sum.Methods) != 0 {
			t.Fatalf("two-step after undo = %+v, %v; want the app gone", sum, err)
		}
		frUnlock(t, e, e.JP, ans, frOwner)
	})
}

// TestLeftoverLinksAtTheThiefsAddressDie: the thief's address collected
// "this wasn't me" links (two-step alerts sent there while it was the
// account's). Once the owner's undo took the address off, none of them
// works: the owner is not locked out again.
func TestLeftoverLinksAtTheThiefsAddressDie(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		s := frService(e)
		dev := e.MustSignUp(t, e.JP, frOwner, pw, frOwner)
		p, req := ctSignIn(t, e, e.JP, frOwner, dev)
		changeEmail(t, e, s, e.JP, p, req, frThief)
		token := undoToken(t, e, frOwner)
		e.Clock.Advance(time.Minute)
		a := ctAccount(t, e, p.Account.ID)
		frTOTP(t, e, e.JP, req, a)
		leftover := notMeLinkIn(t, e, frThief, message.TemplateTwoStepChanged)
		e.Clock.Advance(time.Minute)
		ans, err := s.Undo(ctx, e.JP, flowtest.Req("198.51.100.7", ""), token)
		if err != nil {
			t.Fatalf("undo: %v", err)
		}
		frUnlock(t, e, e.JP, ans, frOwner)
		if _, err := e.Unlock.NotMe(ctx, e.JP, flowtest.Req("203.0.113.66", ""), leftover); err == nil {
			t.Fatal("the thief's leftover link still worked after the owner's undo")
		}
		if got := ctAccount(t, e, a.ID); got.Status != "active" {
			t.Fatalf("status %s after the leftover link, want active", got.Status)
		}
	})
}
