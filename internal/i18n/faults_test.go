package i18n

import (
	"testing"

	"github.com/ninsho/ninsho/internal/ninsho"
)

// TestOutageCodesHaveMessages: the codes of internal/ninsho/errors_faults.go
// (MustCodes reads errors.go only) have their own message in every
// language, not the fallback.
func TestOutageCodesHaveMessages(t *testing.T) {
	for _, code := range []ninsho.Code{ninsho.CodeUnavailable, ninsho.CodeStorageFull} {
		for _, l := range std.locales {
			if _, ok := std.catalogs[l]["error."+string(code)]; !ok {
				t.Errorf("catalog/%s.faults.json has no \"error.%s\"", l, code)
			}
		}
	}
}
