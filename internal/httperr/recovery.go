package httperr

import (
	"net/http"

	"github.com/ninsho/ninsho/internal/ninsho"
)

// The statuses of the document recovery codes
// (internal/ninsho/errors_recovery.go).
func init() {
	statuses[ninsho.CodeDocumentUnreadable] = http.StatusBadRequest
	statuses[ninsho.CodeDocumentsMissing] = http.StatusBadRequest
	statuses[ninsho.CodeRecoveryNotNeeded] = http.StatusConflict
	statuses[ninsho.CodeRecoveryCaseOpen] = http.StatusConflict
	statuses[ninsho.CodeRecoveryCaseDecided] = http.StatusConflict
}
