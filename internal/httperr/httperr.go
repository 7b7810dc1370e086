// Package httperr is the only writer of error responses. It holds the one
// table from catalogue code to HTTP status, writes application/problem+json
// (RFC 9457) for API routes, and hands HTML routes a Page for their renderer.
// The cause of an internal error is logged with the request id, never shown.
package httperr

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// statuses is the one table from catalogue code to HTTP status. A code missing
// here answers 500 (and a test fails).
var statuses = map[ninsho.Code]int{
	ninsho.CodeInternal:             http.StatusInternalServerError,
	ninsho.CodeRequestInvalid:       http.StatusBadRequest,
	ninsho.CodeBodyTooLarge:         http.StatusRequestEntityTooLarge,
	ninsho.CodeUnsupportedMediaType: http.StatusUnsupportedMediaType,
	ninsho.CodeFieldRequired:        http.StatusBadRequest,
	ninsho.CodeFieldTooLong:         http.StatusBadRequest,
	ninsho.CodeNotFound:             http.StatusNotFound,
	ninsho.CodeMethodNotAllowed:     http.StatusMethodNotAllowed,
	ninsho.CodeUnauthenticated:      http.StatusUnauthorized,
	ninsho.CodeForbidden:            http.StatusForbidden,
	ninsho.CodeConflict:             http.StatusConflict,
	ninsho.CodeFlowNotFound:         http.StatusNotFound,
	ninsho.CodeFlowExpired:          http.StatusGone,
	ninsho.CodeFlowCompleted:        http.StatusConflict,
	ninsho.CodeActionUnknown:        http.StatusBadRequest,

	// Input a person typed was rejected: the flow says why in errors[].
	ninsho.CodeIdentifierInvalid:        http.StatusBadRequest,
	ninsho.CodePhoneNotMobile:           http.StatusBadRequest,
	ninsho.CodeIdentifierUnchanged:      http.StatusBadRequest,
	ninsho.CodePhoneNumberNotAllowed:    http.StatusBadRequest,
	ninsho.CodeSignatureInvalid:         http.StatusUnauthorized,
	ninsho.CodeAccountNotFound:          http.StatusBadRequest,
	ninsho.CodeAccountInOtherRealm:      http.StatusBadRequest,
	ninsho.CodePasswordIncorrect:        http.StatusBadRequest,
	ninsho.CodeCredentialsIncorrect:     http.StatusBadRequest,
	ninsho.CodeCaptchaRequired:          http.StatusBadRequest,
	ninsho.CodeCaptchaIncorrect:         http.StatusBadRequest,
	ninsho.CodeVerificationRequired:     http.StatusBadRequest,
	ninsho.CodeCodeIncorrect:            http.StatusBadRequest,
	ninsho.CodeCodeExpired:              http.StatusBadRequest,
	ninsho.CodeCodeAttemptsExceeded:     http.StatusBadRequest,
	ninsho.CodeSecondFactorRequired:     http.StatusBadRequest,
	ninsho.CodeTOTPIncorrect:            http.StatusBadRequest,
	ninsho.CodeTOTPReused:               http.StatusBadRequest,
	ninsho.CodePasswordTooShort:         http.StatusBadRequest,
	ninsho.CodePasswordTooLong:          http.StatusBadRequest,
	ninsho.CodePasswordTooCommon:        http.StatusBadRequest,
	ninsho.CodePasswordTooSimple:        http.StatusBadRequest,
	ninsho.CodePasswordCharsInvalid:     http.StatusBadRequest,
	ninsho.CodePasswordContainsPersonal: http.StatusBadRequest,
	ninsho.CodePasswordMismatch:         http.StatusBadRequest,
	ninsho.CodePasswordReused:           http.StatusBadRequest,
	ninsho.CodeNameInvalid:              http.StatusBadRequest,
	ninsho.CodeLocaleInvalid:            http.StatusBadRequest,
	ninsho.CodeChannelUnavailable:       http.StatusBadRequest,
	ninsho.CodeIdentifierEmailOnly:      http.StatusBadRequest,
	ninsho.CodeNoCodeRequested:          http.StatusBadRequest,
	ninsho.CodeCookiesRequired:          http.StatusBadRequest,
	ninsho.CodeDocumentTypeNotAllowed:   http.StatusBadRequest,
	ninsho.CodeDocumentTooLarge:         http.StatusRequestEntityTooLarge,

	// The account's state stops the person; the message says the way out.
	ninsho.CodeAccountNotVerified: http.StatusForbidden,
	ninsho.CodeAccountSuspended:   http.StatusForbidden,
	ninsho.CodeAccountClosed:      http.StatusForbidden,
	ninsho.CodeAccountLocked:      http.StatusLocked,
	// Staff asked for a new password: the password assistant sets one.
	ninsho.CodePasswordResetRequired: http.StatusForbidden,

	// The staff console (internal/staff).
	ninsho.CodeStaffLocked:           http.StatusLocked,
	ninsho.CodeStaffEnrolmentInvalid: http.StatusGone,

	ninsho.CodeIdentifierTaken: http.StatusConflict,
	// Policy keeps 2SV on this account: add a method before removing one.
	ninsho.CodeTwoStepRequired: http.StatusConflict,
	// Backup codes asked for while two-step verification is off.
	ninsho.CodeTwoStepOff: http.StatusConflict,
	// Signed in, but not recently enough for a sensitive change: the
	// session stays valid (not 401) and the person proves who they are
	// again (session.Recent, realms[].two_step.reauth_window).
	ninsho.CodeReauthRequired: http.StatusForbidden,
	ninsho.CodeCSRF:           http.StatusForbidden,

	ninsho.CodeRateLimited:        http.StatusTooManyRequests,
	ninsho.CodeResendTooSoon:      http.StatusTooManyRequests,
	ninsho.CodeResendLimitReached: http.StatusTooManyRequests,

	// A provider could not deliver the code: the flow offers other channels.
	ninsho.CodeDeliveryFailed: http.StatusBadGateway,
	ninsho.CodeOverloaded:     http.StatusServiceUnavailable,
}

// Status returns the HTTP status for a catalogue code: 500 for codes it does
// not know.
func Status(code ninsho.Code) int {
	if s, ok := statuses[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// StatusOf returns the HTTP status for err (500 for errors that are not
// *ninsho.Error, 200 for nil).
func StatusOf(err error) int {
	if err == nil {
		return http.StatusOK
	}
	return Status(ninsho.CodeOf(err))
}

// RetryAfter returns the seconds a client should wait before trying again,
// from the error's parameter retry_after_s or seconds, rounded up. It reports
// false when the error carries neither.
func RetryAfter(e *ninsho.Error) (int, bool) {
	if e == nil {
		return 0, false
	}
	for _, k := range [...]string{"retry_after_s", "seconds"} {
		if v, ok := e.Params[k]; ok {
			if s, ok := seconds(v); ok {
				return s, true
			}
		}
	}
	return 0, false
}

func seconds(v any) (int, bool) {
	var f float64
	switch x := v.(type) {
	case int:
		f = float64(x)
	case int32:
		f = float64(x)
	case int64:
		f = float64(x)
	case uint:
		f = float64(x)
	case uint32:
		f = float64(x)
	case uint64:
		f = float64(x)
	case float32:
		f = float64(x)
	case float64:
		f = x
	case time.Duration:
		f = x.Seconds()
	case json.Number:
		n, err := x.Float64()
		if err != nil {
			return 0, false
		}
		f = n
	case string:
		n, err := strconv.ParseFloat(x, 64)
		if err != nil {
			return 0, false
		}
		f = n
	default:
		return 0, false
	}
	if math.IsNaN(f) || f < 0 {
		return 0, false
	}
	if f > 86400 {
		f = 86400
	}
	return int(math.Ceil(f)), true
}

// Prepare logs err (an internal error with its cause at error level, a
// database outage — unavailable, storage_full — with its cause at warning
// level, others at debug level: refusals under load must not flood the log) and sets the headers every error
// answer carries: Retry-After (from the error's parameters; 1 s by default on
// 429 and 503), WWW-Authenticate on 401, Cache-Control: no-store. It returns
// the status to write. The API's flow answers and the pages that redisplay a
// form use it, so that the status of an error is decided here alone.
func Prepare(w http.ResponseWriter, r *http.Request, err error, requestID string) int {
	e := ninsho.ErrorOf(err)
	status := Status(e.Code)
	if status == http.StatusInternalServerError && clientGone(r, err) {
		// The client hung up and the work was cancelled: nothing failed on
		// our side. nginx's 499 says so in the access log, and it is not
		// logged as an error (a flood with client time-outs would bury real
		// ones).
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		return StatusClientClosedRequest
	}
	logError(r, e, status, requestID)
	h := w.Header()
	if s, ok := RetryAfter(e); ok {
		h.Set("Retry-After", strconv.Itoa(s))
	} else if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		h.Set("Retry-After", "1")
	}
	if status == http.StatusUnauthorized && e.Code != ninsho.CodeSignatureInvalid {
		// A callback's signature is no bearer token: no challenge for it.
		h.Set("WWW-Authenticate", `Bearer realm="ninsho"`)
	}
	h.Set("Cache-Control", "no-store")
	return status
}

func logError(r *http.Request, e *ninsho.Error, status int, requestID string) {
	var ctx context.Context = context.Background()
	if r != nil {
		ctx = r.Context()
	}
	l := logger(ctx)
	if status == http.StatusInternalServerError {
		attrs := []slog.Attr{
			slog.String("request_id", requestID),
			slog.String("code", string(e.Code)),
			slog.Int("status", status),
		}
		if r != nil {
			attrs = append(attrs, slog.String("method", r.Method), slog.String("path", r.URL.Path))
		}
		if e.Err != nil {
			attrs = append(attrs, slog.String("cause", e.Err.Error()))
		}
		l.LogAttrs(ctx, slog.LevelError, "request failed", attrs...)
		return
	}
	if ninsho.IsOutage(e.Code) {
		// The database is out of reach or out of space: the operator
		// needs the cause (never a secret: a driver's message), once per
		// refused request, at warning level.
		attrs := []slog.Attr{
			slog.String("request_id", requestID),
			slog.String("code", string(e.Code)),
			slog.Int("status", status),
		}
		if e.Err != nil {
			attrs = append(attrs, slog.String("cause", e.Err.Error()))
		}
		l.LogAttrs(ctx, slog.LevelWarn, "database unavailable", attrs...)
		return
	}
	if l.Enabled(ctx, slog.LevelDebug) {
		l.LogAttrs(ctx, slog.LevelDebug, "request refused",
			slog.String("request_id", requestID),
			slog.String("code", string(e.Code)),
			slog.String("field", e.Field),
			slog.Int("status", status))
	}
}

// ShowsReference reports whether a person who meets the refusal e (with
// HTTP status) should see the request id as a reference number to quote to
// customer service: where only support can help or will want to find the
// request — a lock of any kind, a suspended or closed account, and every
// failure on our side (5xx) — and not where the person can put it right
// alone (a mistyped password, a missing field, a wait). The pages show it by
// this rule; the X-Request-Id header and the API's request_id are always
// there.
func ShowsReference(e *ninsho.Error, status int) bool {
	if status >= 500 {
		return true
	}
	if e == nil {
		return false
	}
	switch e.Code {
	case ninsho.CodeAccountLocked, ninsho.CodeAccountSuspended, ninsho.CodeAccountClosed:
		return true
	}
	return false
}

// Problem is an RFC 9457 problem details object with Ninsho's extension
// members code, field, errors and request_id.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
	Field  string `json:"field,omitempty"`
	// Params are the error's documented parameters (PublicParams).
	Params map[string]any `json:"params,omitempty"`
	// Errors lists every refused field when the refusal is about input
	// fields (the first is Code and Field); absent otherwise.
	Errors    []FieldProblem `json:"errors,omitempty"`
	RequestID string         `json:"request_id,omitempty"`
}

// FieldProblem is one refused field: the catalogue code, the field and the
// message in the request's language.
type FieldProblem struct {
	Code    string `json:"code"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
	// Params are the refusal's documented parameters (PublicParams).
	Params map[string]any `json:"params,omitempty"`
}

// PublicParams returns the parameters of e that the API shows with it
// ("params" of a problem and of a flow's errors[]), as docs/api.md lists
// them: for rate_limited of kind "messages" (the SMS and voice cost
// guard) kind and retry_after_s; for account_locked of kind "support" (no
// verified channel is left for a code: authflow.NoWayIn) kind; for
// account_suspended the suspension's reference and reason, for
// account_in_other_realm the other realm's name and sign-in address, and of
// recovery_case_open the open case's reference, for org_limit its kind and
// max, for field_too_long of an organisation's name its max, for
// org_method_required the allowed methods, for password_too_short,
// password_too_long and locale_not_offered the realm's limit
// (realmpolicy.go). Every other refusal shows
// none: nil.
func PublicParams(e *ninsho.Error) map[string]any {
	if e != nil {
		if p, ok := realmPolicyParams(e); ok {
			return p
		}
	}
	if e != nil && e.Code == ninsho.CodeOrgLimit {
		return orgLimitParams(e) // org.go
	}
	if e != nil && e.Code == ninsho.CodeFieldTooLong {
		return orgNameParams(e) // org.go
	}
	if e != nil && e.Code == ninsho.CodeOrgMethodRequired {
		return orgMethodParams(e) // orgpolicy.go
	}
	if e != nil && e.Code == ninsho.CodeRecoveryCaseOpen {
		if ref, ok := e.Params["reference"].(string); ok {
			return map[string]any{"reference": ref}
		}
	}
	if e != nil && e.Code == ninsho.CodeAccountInOtherRealm {
		// The other regional site: its name and sign-in address.
		out := map[string]any{}
		for _, k := range []string{"realm", "signin_url"} {
			if v, ok := e.Params[k].(string); ok && v != "" {
				out[k] = v
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	}
	if e != nil && e.Code == ninsho.CodeAccountSuspended {
		// The suspension's reference number and its public reason
		// (account.SuspensionReasons); a suspension recorded before
		// reasons existed has neither.
		out := map[string]any{}
		for _, k := range []string{"reference", "reason"} {
			if v, ok := e.Params[k].(string); ok && v != "" {
				out[k] = v
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	}
	if e != nil && e.Code == ninsho.CodeConflict {
		// Why the state refuses the action (ninsho.ConflictReasons); a
		// conflict without one was a change made elsewhere meanwhile.
		if r, ok := e.Params["reason"].(string); ok && slices.Contains(ninsho.ConflictReasons, r) {
			return map[string]any{"reason": r}
		}
		return nil
	}
	if e != nil && e.Code == ninsho.CodeAccountLocked && e.Params["kind"] == "support" {
		return map[string]any{"kind": "support"}
	}
	if e == nil || e.Code != ninsho.CodeRateLimited || e.Params["kind"] != "messages" {
		return nil
	}
	out := map[string]any{"kind": "messages"}
	if s, ok := RetryAfter(e); ok {
		out["retry_after_s"] = s
	}
	return out
}

// FieldProblems returns every refusal of err (the error and its further
// fields, ninsho.Error.More) with its message in locale.
func FieldProblems(err error, locale string) []FieldProblem {
	e := ninsho.ErrorOf(err)
	all := e.All()
	out := make([]FieldProblem, 0, len(all))
	for _, x := range all {
		out = append(out, FieldProblem{Code: string(x.Code), Field: x.Field, Message: i18n.FieldErrorMessage(locale, x), Params: PublicParams(x)})
	}
	return out
}

// TypeURI returns the problem type URI of a code.
func TypeURI(code ninsho.Code) string { return "urn:ninsho:error:" + string(code) }

// NewProblem returns the problem for err in locale. The detail is the
// catalogue's message; the cause is never included.
func NewProblem(err error, locale, requestID string) *Problem {
	e := ninsho.ErrorOf(err)
	status := Status(e.Code)
	p := &Problem{
		Type:      TypeURI(e.Code),
		Title:     http.StatusText(status),
		Status:    status,
		Detail:    i18n.FieldErrorMessage(locale, e),
		Code:      string(e.Code),
		Field:     e.Field,
		Params:    PublicParams(e),
		RequestID: requestID,
	}
	if e.Field != "" {
		p.Errors = FieldProblems(e, locale)
	}
	return p
}

// WriteProblem writes err as application/problem+json in locale ("ja" or
// "en"), with the request id as the reference number. Internal errors are
// logged with their cause.
func WriteProblem(w http.ResponseWriter, r *http.Request, err error, locale, requestID string) {
	status := Prepare(w, r, err, requestID)
	p := NewProblem(err, locale, requestID)
	p.Status = status
	b, mErr := json.Marshal(p)
	if mErr != nil { // cannot happen: every field is a string or an int
		b = []byte(`{"type":"urn:ninsho:error:internal","status":500,"code":"internal"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Content-Language", locale)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// Page is what an HTML error page shows.
type Page struct {
	Status  int
	Code    ninsho.Code
	Field   string
	Message string // the catalogue's message in Locale
	Locale  string
	// RequestID is the reference number shown to the person: the request
	// id where ShowsReference says so, else "".
	RequestID string
}

// PageRenderer writes an HTML error page. It must write p.Status as the
// response status; it must not change it.
type PageRenderer func(w http.ResponseWriter, r *http.Request, p Page)

// WriteHTML writes err as an HTML page through render, after Prepare decided
// the status and set the headers. A nil render writes a minimal plain page.
func WriteHTML(w http.ResponseWriter, r *http.Request, err error, locale, requestID string, render PageRenderer) {
	status := Prepare(w, r, err, requestID)
	e := ninsho.ErrorOf(err)
	p := Page{
		Status:  status,
		Code:    e.Code,
		Field:   e.Field,
		Message: i18n.FieldErrorMessage(locale, e),
		Locale:  locale,
	}
	if ShowsReference(e, status) {
		p.RequestID = requestID
	}
	w.Header().Del("Content-Length")
	if render == nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(status)
		w.Write([]byte(p.Message + "\n" + p.RequestID + "\n"))
		return
	}
	render(w, r, p)
}

type loggerKey struct{}

// WithLogger returns ctx carrying l, the logger error responses log to.
func WithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

func logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok && l != nil {
		return l
	}
	return slog.Default()
}

type requestIDKey struct{}

// WithRequestID returns ctx carrying the request id: the reference number
// every error answer shows.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id stored by WithRequestID, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// StatusClientClosedRequest is the status recorded for a request whose client
// disconnected before the answer (nginx's 499).
const StatusClientClosedRequest = 499

// clientGone reports whether err comes from the request's own context being
// cancelled because the client went away.
func clientGone(r *http.Request, err error) bool {
	return r != nil && errors.Is(err, context.Canceled) && r.Context().Err() != nil
}
