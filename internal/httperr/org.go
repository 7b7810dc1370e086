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

// orgLimitParams are the public parameters of org_limit: which bound
// (members, invitations, organisations) and its size.
func orgLimitParams(e *ninsho.Error) map[string]any {
	out := map[string]any{}
	if k, ok := e.Params["kind"].(string); ok {
		out["kind"] = k
	}
	if m, ok := e.Params["max"].(int); ok {
		out["max"] = m
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// orgNameParams are the public parameters of field_too_long of an
// organisation's name (kind org_name): its limit, max.
func orgNameParams(e *ninsho.Error) map[string]any {
	if m, ok := e.Params["max"].(int); ok && e.Params["kind"] == "org_name" {
		return map[string]any{"max": m}
	}
	return nil
}
