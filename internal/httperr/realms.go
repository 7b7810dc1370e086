package httperr

import (
	"net/http"

	"github.com/ninsho/ninsho/internal/ninsho"
)

// The realms' settings changed at run time
// (internal/ninsho/errors_realms.go).
func init() {
	statuses[ninsho.CodeRealmSettingsInvalid] = http.StatusBadRequest
	statuses[ninsho.CodeRealmSettingFixed] = http.StatusConflict
	statuses[ninsho.CodeRealmExists] = http.StatusConflict
}
