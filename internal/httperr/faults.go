package httperr

import (
	"net/http"

	"github.com/ninsho/ninsho/internal/ninsho"
)

// A database out of reach or out of space
// (internal/ninsho/errors_faults.go): 503 with Retry-After from the
// error's retry_after_s.
func init() {
	statuses[ninsho.CodeUnavailable] = http.StatusServiceUnavailable
	statuses[ninsho.CodeStorageFull] = http.StatusServiceUnavailable
}
