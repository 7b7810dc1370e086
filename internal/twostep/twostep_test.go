package twostep_test

import (
	"testing"

	"github.com/ninsho/ninsho/internal/twostep"
)

// TestMethodValid: the four methods are valid; backup codes are not a
// credential method, and neither is anything else.
func TestMethodValid(t *testing.T) {
	for _, m := range []twostep.Method{twostep.MethodTOTP, twostep.MethodSMS, twostep.MethodVoice, twostep.MethodPasskey} {
		if !m.Valid() {
			t.Errorf("%q.Valid() = false, want true", m)
		}
	}
	for _, m := range []twostep.Method{"", "backup_code", "email", "TOTP"} {
		if m.Valid() {
			t.Errorf("%q.Valid() = true, want false", m)
		}
	}
}
