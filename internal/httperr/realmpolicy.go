package httperr

import (
	"net/http"

	"github.com/ninsho/ninsho/internal/ninsho"
)

// The statuses of the realm settings codes (internal/ninsho/errors_realmpolicy.go).
func init() {
	statuses[ninsho.CodeLocaleNotOffered] = http.StatusBadRequest
}
