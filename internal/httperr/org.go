package httperr

import (
	"net/http"

	"github.com/ninsho/ninsho/internal/ninsho"
)

// The statuses of the organisation codes (internal/ninsho/errors_org.go).
func init() {
	statuses[ninsho.CodeOrgPendingApproval] = http.StatusConflict
	statuses[ninsho.CodeOrgRejected] = http.StatusConflict
	statuses[ninsho.CodeOrgLastOwner] = http.StatusConflict
	statuses[ninsho.CodeOrgAlreadyMember] = http.StatusConflict
	statuses[ninsho.CodeOrgLimit] = http.StatusConflict
	statuses[ninsho.CodeInvitationInvalid] = http.StatusNotFound
	statuses[ninsho.CodeInvitationOtherAccount] = http.StatusForbidden
	statuses[ninsho.CodeOrgApprovalInvalid] = http.StatusNotFound
}
