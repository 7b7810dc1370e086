package signup_test

import (
	"context"
	"maps"
	"testing"

	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/signup"
)

// TestSignupNamesEveryRefusedField: the sign-up form is judged whole — every
// refused field is answered at once, the first as the error's own code and
// field — before any hash, counter or row: the refusals cost nothing and,
// reading no account, tell nothing about one.
func TestSignupNamesEveryRefusedField(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, "taro@example.jp", goodPassword, "taro@example.jp")
		tests := []struct {
			name string
			in   signup.Input
			want []string
		}{
			{"empty page form", signup.Input{ConfirmPassword: true}, []string{
				"field_required/identifier", "field_required/name", "field_required/password", "field_required/password_confirmation"}},
			{"empty API body", signup.Input{Identifier: "　 "}, []string{
				"field_required/identifier", "field_required/name", "field_required/password"}},
			{"everything wrong", signup.Input{Identifier: "taro@@example", Name: "http://spam.example", Password: "short", PasswordConfirmation: "shorts", ConfirmPassword: true}, []string{
				"identifier_invalid/identifier", "name_invalid/name", "password_too_short/password", "password_mismatch/password_confirmation"}},
			{"confirmation missing", signup.Input{Identifier: "hanako@example.jp", Name: "山田 花子", Password: goodPassword, ConfirmPassword: true}, []string{
				"field_required/password_confirmation"}},
			{"personal password, no name", signup.Input{Identifier: "hanako@example.jp", Password: "hanako-2026!", PasswordConfirmation: "hanako-2026!", ConfirmPassword: true}, []string{
				"field_required/name", "password_contains_personal_info/password"}},
			// An address that has an account is refused for the other
			// fields exactly as a new one: identifier_taken is told only
			// where it was before, after the hash.
			{"taken address, no name", signup.Input{Identifier: "taro@example.jp", Password: goodPassword, PasswordConfirmation: goodPassword, ConfirmPassword: true}, []string{
				"field_required/name"}},
			{"new address, no name", signup.Input{Identifier: "jiro@example.jp", Password: goodPassword, PasswordConfirmation: goodPassword, ConfirmPassword: true}, []string{
				"field_required/name"}},
			{"a language messages cannot be written in", signup.Input{Identifier: "jiro@example.jp", Name: "山田 次郎", Password: goodPassword, Locale: "fr"}, []string{
				"locale_invalid/locale"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				rows, err := e.DB.RowCounts(ctx)
				if err != nil {
					t.Fatal(err)
				}
				hashes := e.Kit.Passwords.Limiter.Runs()
				ans, err := e.Signup.Start(ctx, e.JP, flowtest.Req("192.0.2.1", ""), tt.in)
				if ans != nil {
					t.Errorf("a refused form answered a flow: %+v", ans.Flow)
				}
				flowtest.WantRefusals(t, err, tt.want...)
				if got := e.Kit.Passwords.Limiter.Runs(); got != hashes {
					t.Errorf("refusing the form ran %d hashes, want none", got-hashes)
				}
				after, _ := e.DB.RowCounts(ctx)
				if !maps.Equal(rows, after) {
					t.Errorf("refusing the form wrote rows: before %v, after %v", rows, after)
				}
			})
		}
	})
}
