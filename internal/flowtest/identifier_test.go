package flowtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/signup"
)

const pw = "kumo-no-ue-42"

// TestInternationalisedDomainIsOneAccount: an e-mail address with an
// internationalised domain is one account whichever way it is typed — the
// U-label (例え.jp), the A-label (xn--r8jz45g.jp), full-width or not — at
// sign-up, sign-in, unlock and the password assistant. It is stored and
// mailed as the A-label and shown masked as the U-label.
func TestInternationalisedDomainIsOneAccount(t *testing.T) {
	tests := []struct {
		name   string
		signup string   // as typed at sign-up
		stored string   // the A-label form: the account's e-mail and the inbox
		masked string   // next.destination
		others []string // the same address typed otherwise
	}{
		{"sign up with the U-label", "user@例え.jp", "user@xn--r8jz45g.jp", "u***@例*.jp",
			[]string{"user@xn--r8jz45g.jp", "USER@XN--R8JZ45G.JP", "ｕｓｅｒ＠ｘｎ－－ｒ８ｊｚ４５ｇ．ｊｐ", "ｕｓｅｒ＠例え．ｊｐ"}},
		{"sign up with the A-label", "user@xn--4dkua4c.jp", "user@xn--4dkua4c.jp", "u***@メ**.jp",
			[]string{"user@メール.jp", "user@ﾒｰﾙ.jp", "ｕｓｅｒ＠メール。ｊｐ"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
				ctx := context.Background()
				home := flowtest.Req("192.0.2.10", "")
				ans, err := e.Signup.Start(ctx, e.JP, home, signup.Input{Identifier: tt.signup, Name: "Hanako Yamada", Password: pw})
				if err != nil {
					t.Fatalf("sign up with %s: %v", tt.signup, err)
				}
				if ans.Flow.Identifier != tt.stored || ans.Next.Destination != tt.masked {
					t.Errorf("sign-up flow for %s, code to %q; want %s, %q", ans.Flow.Identifier, ans.Next.Destination, tt.stored, tt.masked)
				}
				dev := ans.DeviceToken
				done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, flowtest.Req("192.0.2.10", dev), flow.Action{Name: flow.ActionSubmitCode, Code: e.LastCode(t, tt.stored)})
				if err != nil || done.Session == nil {
					t.Fatalf("confirm sign-up: %v", err)
				}
				a, err := e.DB.AccountByEmail(ctx, "jp", tt.stored)
				if err != nil || a.Email != tt.stored || a.EmailVerifiedAt == nil {
					t.Fatalf("account by %s = %+v, %v; want it stored and verified as the A-label", tt.stored, a, err)
				}

				for _, typed := range tt.others {
					// Sign-in from the same browser finds the account.
					got, err := e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.10", dev), signin.Input{Identifier: typed, Password: pw})
					if err != nil || got.Session == nil || got.AccountID != a.ID {
						t.Errorf("sign in as %q = %+v, %v; want a session for account %s", typed, got, err, a.ID)
					}
					// A second sign-up is told the address is taken.
					_, err = e.Signup.Start(ctx, e.JP, flowtest.Req("192.0.2.11", ""), signup.Input{Identifier: typed, Name: "Other", Password: pw + "-2"})
					flowtest.WantCode(t, err, ninsho.CodeIdentifierTaken)
				}

				// The password assistant sends its code to the stored address.
				typed := tt.others[len(tt.others)-1]
				pa, err := e.Reset.Start(ctx, e.JP, flowtest.Req("198.51.100.8", ""), typed)
				if err != nil || pa.Flow.AccountID != a.ID || pa.Next.Destination != tt.masked {
					t.Fatalf("password assistant for %q = %+v, %v; want a code for account %s to %q", typed, pa, err, a.ID, tt.masked)
				}
				if m := e.Messages(t, tt.stored); len(m) == 0 || m[0].Template != "reset_code" {
					t.Errorf("no password-assistant code reached %s", tt.stored)
				}

				// Unlock finds the locked account the same way.
				until, at := e.Clock.Now().Add(30*time.Minute), e.Clock.Now()
				if err := e.DB.SetLock(ctx, a.ID, account.Lock{Kind: account.LockUnfamiliar, Until: &until, Level: 3, LockedAt: &at}); err != nil {
					t.Fatal(err)
				}
				e.Clock.Advance(time.Minute)
				ul, err := e.Unlock.Start(ctx, e.JP, flowtest.Req("198.51.100.9", ""), tt.others[0])
				if err != nil || ul.Flow.AccountID != a.ID || ul.Next.Destination != tt.masked {
					t.Fatalf("unlock for %q = %+v, %v; want a code for account %s to %q", tt.others[0], ul, err, a.ID, tt.masked)
				}
				if m := e.Messages(t, tt.stored); len(m) == 0 || m[0].Template != "unlock_code" {
					t.Errorf("no unlock code reached %s", tt.stored)
				}
			})
		})
	}
}
