package signin_test

import (
	"context"
	"maps"
	"testing"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/signin"
)

// TestSigninNamesEveryRefusedField: the page's empty sign-in form names both
// fields; a refused identifier is answered before any account is read or
// any hash is spent, whatever the password; with a valid identifier an
// empty password still opens the password step, and the API's
// identifier-first start is unchanged.
func TestSigninNamesEveryRefusedField(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, "hanako@example.jp", pw, "hanako@example.jp")
		tests := []struct {
			name string
			in   signin.Input
			want []string
		}{
			{"empty page form", signin.Input{PasswordAsked: true}, []string{"field_required/identifier", "field_required/password"}},
			{"invalid identifier, no password", signin.Input{Identifier: "hanako@@example", PasswordAsked: true}, []string{"identifier_invalid/identifier", "field_required/password"}},
			{"invalid identifier, a password", signin.Input{Identifier: "hanako@@example", Password: pw, PasswordAsked: true}, []string{"identifier_invalid/identifier"}},
			{"empty API body", signin.Input{}, []string{"field_required/identifier"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				rows, _ := e.DB.RowCounts(ctx)
				hashes := e.Kit.Passwords.Limiter.Runs()
				ans, err := e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.1", ""), tt.in)
				if ans != nil {
					t.Errorf("a refused form answered a flow: %+v", ans.Flow)
				}
				flowtest.WantRefusals(t, err, tt.want...)
				if got := e.Kit.Passwords.Limiter.Runs(); got != hashes {
					t.Errorf("refusing the form ran %d hashes, want none", got-hashes)
				}
				if after, _ := e.DB.RowCounts(ctx); !maps.Equal(rows, after) {
					t.Errorf("refusing the form wrote rows: before %v, after %v", rows, after)
				}
			})
		}
		ans, err := e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.1", ""), signin.Input{Identifier: "hanako@example.jp", PasswordAsked: true})
		if err != nil || ans.Next == nil || ans.Next.Step != flow.StepPassword {
			t.Errorf("valid identifier, empty password on the page = %+v, %v; want the password step", ans, err)
		}
	})
}
