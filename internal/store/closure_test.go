package store_test

import (
	"context"
	"github.com/ninsho/ninsho/internal/contact"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/closure"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/totp"
)

const (
	purgeEmail = "purged@example.jp"
	purgePW    = "kumo-no-ue-42"
)

// TestClosurePurge closes an account with sessions, a trusted-device-free
// authenticator app, backup codes and history, lets the grace pass on the
// injected clock and runs the purge: the purge alert reaches the address
// first; then every table is read with SQL and holds nothing of the
// account (its events only as anonymous rows); the identifier is unknown
// at sign-in, and a new sign-up with it succeeds. Before the grace ends
// the purge touches nothing.
func TestClosurePurge(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		svc := &closure.Service{Kit: e.Kit, Realms: e.Realms, Store: e.DB, Signin: e.Signin}
		e.Signin.Closure = svc
		dev := e.MustSignUp(t, e.JP, purgeEmail, purgePW, purgeEmail)
		a, err := e.DB.AccountByEmail(ctx, e.JP.ID, purgeEmail)
		if err != nil {
			t.Fatal(err)
		}
		req := flowtest.Req("192.0.2.10", dev)
		en, err := e.TwoStep.BeginTOTP(ctx, e.JP, req, a)
		if err != nil {
			t.Fatal(err)
		}
		code, err := totp.CodeAt(en.Secret, e.Clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.TwoStep.ProveTOTP(ctx, e.JP, req, a, en.CredentialID, code); err != nil {
			t.Fatal(err)
		}
		if _, err := e.TwoStep.RegenerateBackupCodes(ctx, e.JP, req, a); err != nil {
			t.Fatal(err)
		}
		e.Clock.Advance(time.Minute)
		ans, err := e.Signin.Start(ctx, e.JP, req, signin.Input{Identifier: purgeEmail, Password: purgePW})
		if err != nil || ans.Next == nil || ans.Next.Step != flow.StepSecondFactor {
			t.Fatalf("sign in: %+v, %v", ans, err)
		}
		if code, err = totp.CodeAt(en.Secret, e.Clock.Now()); err != nil {
			t.Fatal(err)
		}
		ans, err = e.Engine.Act(ctx, e.JP.ID, ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: code, TrustDevice: true})
		if err != nil || ans.Session == nil {
			t.Fatalf("second factor: %+v, %v", ans, err)
		}
		p, err := e.Signin.Authenticate(ctx, e.JP, ans.Session.Token)
		if err != nil {
			t.Fatal(err)
		}
		loss, err := svc.Summary(ctx, e.JP, p)
		if c := loss.Counts; err != nil || c.Sessions != 2 || c.HistoryEvents == 0 || c.TwoStepMethods != 1 || c.BackupCodes != 10 || c.TrustedDevices != 1 {
			t.Fatalf("summary: %+v, %v; want 2 sessions, 1 method, 10 backup codes, 1 trusted device and some history", loss, err)
		}
		// A phone number added with the contact flow leaves a change row
		// (the undo link's record) that the purge must take too.
		if err := e.DB.AddContactChange(ctx, &contact.Change{ID: "0190a000-0000-7000-8000-00000000c0de", Realm: e.JP.ID,
			AccountID: a.ID, Kind: contact.KindPhone, NewValue: "+819012345678",
			CreatedAt: e.Clock.Now(), ExpiresAt: e.Clock.Now().Add(7 * 24 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		closed, err := svc.Close(ctx, e.JP, req, p, true)
		if err != nil {
			t.Fatal(err)
		}
		e.Messages(t, purgeEmail) // deliver the closing alert

		e.Clock.Advance(e.JP.ClosureGrace() - time.Minute)
		if n, err := svc.Purge(ctx); err != nil || n != 0 {
			t.Fatalf("purge within the grace: %d, %v; want 0", n, err)
		}
		e.Clock.Advance(2 * time.Minute)
		if !e.Clock.Now().After(closed.PurgeAt) {
			t.Fatal("clock not past purge_at")
		}
		if n, err := svc.Purge(ctx); err != nil || n != 1 {
			t.Fatalf("purge: %d, %v; want 1", n, err)
		}
		if n, err := svc.Purge(ctx); err != nil || n != 0 {
			t.Fatalf("second purge: %d, %v; want 0", n, err)
		}

		// The purge alert went to the address before it was erased.
		ms := e.Messages(t, purgeEmail)
		if len(ms) == 0 || ms[0].Template != closure.Template || !strings.Contains(ms[0].Text, "削除しました") {
			t.Fatalf("newest message to %s: %+v; want the purge alert", purgeEmail, ms)
		}

		// Nothing personal is left: read the tables.
		for _, q := range []struct {
			query string
			args  []any
		}{
			{`SELECT COUNT(*) FROM account WHERE id = $1 OR email = $2`, []any{a.ID, purgeEmail}},
			{`SELECT COUNT(*) FROM credential WHERE account_id = $1`, []any{a.ID}},
			{`SELECT COUNT(*) FROM session WHERE account_id = $1`, []any{a.ID}},
			{`SELECT COUNT(*) FROM account_device WHERE account_id = $1`, []any{a.ID}},
			{`SELECT COUNT(*) FROM account_network WHERE account_id = $1`, []any{a.ID}},
			{`SELECT COUNT(*) FROM two_step_credential WHERE account_id = $1`, []any{a.ID}},
			{`SELECT COUNT(*) FROM two_step_state WHERE account_id = $1`, []any{a.ID}},
			{`SELECT COUNT(*) FROM backup_code WHERE account_id = $1`, []any{a.ID}},
			{`SELECT COUNT(*) FROM trusted_device WHERE account_id = $1`, []any{a.ID}},
			{`SELECT COUNT(*) FROM contact_change WHERE account_id = $1 OR new_value = $2`, []any{a.ID, "+819012345678"}},
			{`SELECT COUNT(*) FROM code WHERE account_id = $1 OR destination = $2`, []any{a.ID, purgeEmail}},
			{`SELECT COUNT(*) FROM flow WHERE account_id = $1 OR identifier = $2`, []any{a.ID, purgeEmail}},
			{`SELECT COUNT(*) FROM code_guard WHERE guard_key LIKE $1`, []any{"%" + a.ID}},
			{`SELECT COUNT(*) FROM event WHERE account_id = $1 OR actor LIKE $2 OR data LIKE $2 OR ip <> '' AND realm = $3 AND type = $4`,
				[]any{a.ID, "%" + a.ID + "%", e.JP.ID, closure.EventClosed}},
			{`SELECT COUNT(*) FROM message WHERE to_addr = $1 AND sealed_vars IS NOT NULL AND template <> $2`, []any{purgeEmail, closure.Template}},
		} {
			n, err := e.DB.CountForTest(ctx, q.query, q.args...)
			if err != nil {
				t.Fatalf("%s: %v", q.query, err)
			}
			if n != 0 {
				t.Errorf("%s %v: %d rows left, want 0", q.query, q.args, n)
			}
		}
		// The events remain as anonymous counts.
		if n, err := e.DB.CountForTest(ctx, `SELECT COUNT(*) FROM event WHERE account_id IS NULL AND type = $1`, closure.EventClosed); err != nil || n != 1 {
			t.Errorf("anonymous account.closed events: %d, %v; want 1", n, err)
		}
		if n, err := e.DB.CountForTest(ctx, `SELECT COUNT(*) FROM event WHERE account_id IS NULL AND type = $1`, "account.purged"); err != nil || n != 1 {
			t.Errorf("account.purged events: %d, %v; want 1", n, err)
		}

		// The identifier is unknown, and free to register again.
		_, err = e.Signin.Start(ctx, e.JP, req, signin.Input{Identifier: purgeEmail, Password: purgePW})
		flowtest.WantCode(t, err, ninsho.CodeAccountNotFound)
		e.MustSignUp(t, e.JP, purgeEmail, "sora-no-shita-7", purgeEmail)
		b, err := e.DB.AccountByEmail(ctx, e.JP.ID, purgeEmail)
		if err != nil || b.ID == a.ID {
			t.Fatalf("new account %+v, %v", b, err)
		}
	})
}
