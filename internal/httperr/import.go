package httperr

import (
	"net/http"

	"github.com/ninsho/ninsho/internal/ninsho"
)

// The refusals of `ninsho import`'s lines (internal/ninsho/errors_import.go)
// are told in the command's summary, never by an HTTP answer; were one to
// reach a handler it would be bad input: 400.
func init() {
	for _, c := range []ninsho.Code{
		ninsho.CodeImportLineInvalid, ninsho.CodeImportIdentifierMissing, ninsho.CodeImportIdentifierRepeated,
		ninsho.CodeImportHashUnsupported, ninsho.CodeImportHashMalformed, ninsho.CodeImportHashCost,
		ninsho.CodeImportFirebaseParams, ninsho.CodeImportTOTPInvalid, ninsho.CodeImportCreatedAtInvalid,
	} {
		statuses[c] = http.StatusBadRequest
	}
}
