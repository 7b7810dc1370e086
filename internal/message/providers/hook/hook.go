// Package hook is what the HTTP providers share: one way for their callback
// handlers (/hooks/<name>/…) to refuse a callback, as the catalogue problem
// document every other Ninsho endpoint answers with, and one way to tell a
// failed request without its address (TransportCause).
package hook

import (
	"errors"
	"net/http"
	"net/url"

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

// TransportCause returns the cause of a failed HTTP request without
// *url.Error's method and address: an address may carry a credential or a
// token in its query (Kannel's sendsms), so provider errors, which reach
// attempt records and logs, name the host themselves and keep only this.
func TransportCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
