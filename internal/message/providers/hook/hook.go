// Package hook is what every provider's callback handler (/hooks/<name>/…)
// shares: one way to refuse a callback, as the catalogue problem document
// every other Ninsho endpoint answers with.
package hook

import (
	"net/http"

	"github.com/ninsho/ninsho/internal/httperr"
	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// Refuse answers r with the problem of code (application/problem+json, its
// status from the catalogue's table), in the language the caller's
// Accept-Language asks for, English by default: callbacks come from
// gateways, not from people. field names the refused part of the callback
// ("" for none). It never says more than the code: a forger learns nothing
// from the answer.
func Refuse(w http.ResponseWriter, r *http.Request, code ninsho.Code, field string) {
	e := ninsho.E(code)
	if field != "" {
		e = ninsho.FieldError(code, field)
	}
	locale := i18n.Negotiate("", "", r.Header.Get("Accept-Language"), "en")
	httperr.WriteProblem(w, r, e, locale, httperr.RequestID(r.Context()))
}

// NotFound refuses a path below the provider's mount that is not a callback.
func NotFound(w http.ResponseWriter, r *http.Request) { Refuse(w, r, ninsho.CodeNotFound, "") }

// MethodNotAllowed refuses r, saying which methods allow names.
func MethodNotAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	w.Header().Set("Allow", allow)
	Refuse(w, r, ninsho.CodeMethodNotAllowed, "")
}

// Unavailable answers a callback whose report could not be stored: the
// gateway should send it again later (503 with Retry-After).
func Unavailable(w http.ResponseWriter, r *http.Request) { Refuse(w, r, ninsho.CodeOverloaded, "") }
