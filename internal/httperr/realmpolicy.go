package httperr

import (
	"net/http"

	"github.com/ninsho/ninsho/internal/ninsho"
)

// The statuses of the realm settings codes (internal/ninsho/errors_realmpolicy.go).
func init() {
	statuses[ninsho.CodeLocaleNotOffered] = http.StatusBadRequest
}

// realmPolicyParams returns the public parameters of the refusals whose
// limits are a realm's settings (PublicParams): password_too_short its min,
// password_too_long its max, locale_not_offered the realm's languages
// (offered, comma-separated); ok is false for every other code.
func realmPolicyParams(e *ninsho.Error) (_ map[string]any, ok bool) {
	var key string
	switch e.Code {
	case ninsho.CodePasswordTooShort:
		key = "min"
	case ninsho.CodePasswordTooLong:
		key = "max"
	case ninsho.CodeLocaleNotOffered:
		key = "offered"
	default:
		return nil, false
	}
	if v, ok := e.Params[key]; ok {
		return map[string]any{key: v}, true
	}
	return nil, true
}
