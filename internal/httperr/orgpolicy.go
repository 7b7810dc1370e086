package httperr

import (
	"net/http"

	"github.com/ninsho/ninsho/internal/ninsho"
)

// The statuses of the organisation policy codes
// (internal/ninsho/errors_orgpolicy.go): the policy forbids, whoever asks.
func init() {
	statuses[ninsho.CodeOrgMethodNotAllowed] = http.StatusForbidden
	statuses[ninsho.CodeOrgMethodRequired] = http.StatusForbidden
	statuses[ninsho.CodeOrgPolicyConflict] = http.StatusForbidden
}

// orgMethodParams are the public parameters of org_method_required: the
// methods the member's organisations allow.
func orgMethodParams(e *ninsho.Error) map[string]any {
	if ms, ok := e.Params["methods"].([]string); ok && len(ms) > 0 {
		return map[string]any{"methods": ms}
	}
	return nil
}
