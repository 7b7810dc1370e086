package httperr

import (
	"net/http"

	"github.com/ninsho/ninsho/internal/ninsho"
)

// The statuses of the passkey codes (internal/ninsho/errors_passkey.go).
func init() {
	statuses[ninsho.CodePasskeyFailed] = http.StatusBadRequest
	statuses[ninsho.CodePasskeyUnknown] = http.StatusBadRequest
	statuses[ninsho.CodePasskeyLimit] = http.StatusConflict
	statuses[ninsho.CodePasskeyUnavailable] = http.StatusConflict
}
