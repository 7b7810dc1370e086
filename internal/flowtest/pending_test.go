package flowtest_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/signup"
)

// TestPendingSignInSpendsTheStrangersShare (issue 11, found from outside):
// a stranger who starts a sign-up for someone else's number chose its
// password, so signing in with it proves nothing about the number. Each
// such sign-in sends the confirmation code from the strangers' share of the
// number's hourly budget (5), never from the owner's (10): after the
// strangers' share is spent, further sign-ins send nothing.
func TestPendingSignInSpendsTheStrangersShare(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		const victim, victimE164, chosen = "090-1111-2222", "+819011112222", "Tr0ub4dor-xyz-2026"
		if _, err := e.Signup.Start(ctx, e.JP, flowtest.Req("198.51.100.7", ""), signup.Input{Identifier: victim, Name: "Stranger", Password: chosen}); err != nil {
			t.Fatalf("sign-up: %v", err)
		}
		refused := 0
		for i := range 8 { // fewer than the CAPTCHA threshold of the identifier
			req := flowtest.Req(fmt.Sprintf("198.51.100.%d", 20+i), "")
			_, err := e.Signin.Start(ctx, e.JP, req, signin.Input{Identifier: victim, Password: chosen})
			if err != nil {
				if !ninsho.IsCode(err, ninsho.CodeResendLimitReached) {
					t.Fatalf("sign-in %d: %v, want a challenge or resend_limit_reached", i, err)
				}
				refused++
			}
		}
		codes := 0
		for _, m := range e.Messages(t, victimE164) {
			if m.Template == "signup_code" {
				codes++
			}
		}
		if codes != 5 || refused != 4 {
			t.Errorf("sign-up codes to the number: %d, sign-ins refused: %d; want 5 (the strangers' share) and 4", codes, refused)
		}
	})
}

// TestSafeRealmPendingSignInAnswersAsUnknown: in a safe realm, signing in
// with the password of an unconfirmed sign-up answers credentials_incorrect,
// exactly as for an existing account whose password the stranger does not
// know — otherwise "sign up, then sign in with my password" would tell
// whether the identifier already had an account.
func TestSafeRealmPendingSignInAnswersAsUnknown(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.Safe, "owner@example.com", pw, "owner@example.com")
		const chosen = "Xq9-mLp2vR7-zz-2026"
		try := func(ident string) ninsho.Code {
			t.Helper()
			if _, err := e.Signup.Start(ctx, e.Safe, flowtest.Req("198.51.100.40", ""), signup.Input{Identifier: ident, Name: "Stranger", Password: chosen}); err != nil {
				t.Fatalf("sign-up %s: %v", ident, err)
			}
			_, err := e.Signin.Start(ctx, e.Safe, flowtest.Req("198.51.100.41", ""), signin.Input{Identifier: ident, Password: chosen})
			return ninsho.CodeOf(err)
		}
		known, fresh := try("owner@example.com"), try("nobody-yet@example.com")
		if known != ninsho.CodeCredentialsIncorrect || fresh != known {
			t.Errorf("sign-in after sign-up: existing account %q, new identifier %q; want both credentials_incorrect", known, fresh)
		}
	})
}
