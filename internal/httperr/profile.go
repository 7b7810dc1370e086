package httperr

import (
	"net/http"

	"github.com/ninsho/ninsho/internal/ninsho"
)

// The statuses of the settings codes (internal/ninsho/errors_profile.go).
func init() {
	statuses[ninsho.CodeIdentifierLast] = http.StatusConflict
	statuses[ninsho.CodeTwoStepUsesPhone] = http.StatusConflict
}
