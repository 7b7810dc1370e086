// Package ninsho is the shared kernel: the one application error type with the
// error catalogue's codes, identifiers, the injected clock and random source, and
// the transaction runner contract. It imports only the standard library.
package ninsho

import (
	"errors"
	"fmt"
	"strings"
)

// Code is a stable, machine-readable error code from the catalogue (DESIGN §6).
// Codes never change once released; clients and translations key on them.
type Code string

// The error catalogue. Every code has a Japanese and an English message in
// internal/i18n and an HTTP status in internal/httperr.
const (
	CodeInternal                 Code = "internal"
	CodeRequestInvalid           Code = "request_invalid"
	CodeBodyTooLarge             Code = "body_too_large"
	CodeUnsupportedMediaType     Code = "unsupported_media_type"
	CodeFieldRequired            Code = "field_required"
	CodeFieldTooLong             Code = "field_too_long"
	CodeNotFound                 Code = "not_found"
	CodeMethodNotAllowed         Code = "method_not_allowed"
	CodeUnauthenticated          Code = "unauthenticated"
	CodeForbidden                Code = "forbidden"
	CodeConflict                 Code = "conflict"
	CodeFlowNotFound             Code = "flow_not_found"
	CodeFlowExpired              Code = "flow_expired"
	CodeFlowCompleted            Code = "flow_completed"
	CodeActionUnknown            Code = "action_unknown"
	CodeIdentifierInvalid        Code = "identifier_invalid"
	CodePhoneNotMobile           Code = "phone_not_mobile"
	CodeIdentifierEmailOnly      Code = "identifier_email_only"
	CodeAccountNotFound          Code = "account_not_found"
	CodeAccountInOtherRealm      Code = "account_in_other_realm"
	CodePasswordIncorrect        Code = "password_incorrect"
	CodeCredentialsIncorrect     Code = "credentials_incorrect"
	CodeAccountNotVerified       Code = "account_not_verified"
	CodeAccountLocked            Code = "account_locked"
	CodeAccountSuspended         Code = "account_suspended"
	CodeAccountClosed            Code = "account_closed"
	CodeCaptchaRequired          Code = "captcha_required"
	CodeCaptchaIncorrect         Code = "captcha_incorrect"
	CodeVerificationRequired     Code = "verification_required"
	CodeCodeIncorrect            Code = "code_incorrect"
	CodeCodeExpired              Code = "code_expired"
	CodeCodeAttemptsExceeded     Code = "code_attempts_exceeded"
	CodeResendTooSoon            Code = "resend_too_soon"
	CodeResendLimitReached       Code = "resend_limit_reached"
	CodeDeliveryFailed           Code = "delivery_failed"
	CodeSecondFactorRequired     Code = "second_factor_required"
	CodeTOTPIncorrect            Code = "totp_incorrect"
	CodeTOTPReused               Code = "totp_reused"
	CodeTwoStepOff               Code = "two_step_off"
	CodePasswordTooShort         Code = "password_too_short"
	CodePasswordTooLong          Code = "password_too_long"
	CodePasswordTooCommon        Code = "password_too_common"
	CodePasswordTooSimple        Code = "password_too_simple"
	CodePasswordCharsInvalid     Code = "password_characters_invalid"
	CodePasswordContainsPersonal Code = "password_contains_personal_info"
	CodePasswordMismatch         Code = "password_mismatch"
	CodePasswordReused           Code = "password_reused"
	CodeNameInvalid              Code = "name_invalid"
	CodeIdentifierTaken          Code = "identifier_taken"
	CodeReauthRequired           Code = "reauth_required"
	// CodeIdentifierUnchanged refuses a contact change to the address the
	// account has now (internal/contact).
	CodeIdentifierUnchanged Code = "identifier_unchanged"
	// CodeTwoStepRequired refuses removing the last method of an account
	// whose type must keep two-step verification (realm policy).
	CodeTwoStepRequired        Code = "two_step_required"
	CodeRateLimited            Code = "rate_limited"
	CodeDocumentTypeNotAllowed Code = "document_type_not_allowed"
	CodeDocumentTooLarge       Code = "document_too_large"
	CodeOverloaded             Code = "overloaded"
	CodeCSRF                   Code = "csrf_rejected"
	CodeLocaleInvalid          Code = "locale_invalid"
	CodeChannelUnavailable     Code = "channel_unavailable"
	CodeNoCodeRequested        Code = "code_not_requested"
	CodeCookiesRequired        Code = "cookies_required"

	// CodePhoneNumberNotAllowed: a premium-rate, shared-cost, toll-free or
	// other service number given for a phone method (toll fraud).
	CodePhoneNumberNotAllowed Code = "phone_number_not_allowed"

	// CodeSignatureInvalid: a provider's callback (/hooks/…) whose
	// signature or timestamp does not check out (401): a machine's
	// credential, not a person's sign-in.
	CodeSignatureInvalid Code = "signature_invalid"
)

// Error is the one application error type. Code says what went wrong in
// catalogue terms; Field names the input at fault, if any; Params carry values
// that the localised message interpolates (attempts left, seconds to wait, …).
// Err is the underlying cause: it is logged, never shown to a person.
//
// When one input was refused for several fields at once (an empty sign-up
// form), the error is the first field's and More holds the others, each with
// its own Code, Field and Params, in the order of the form; Fields builds it.
// Code, Field and Params keep meaning the first refusal, so that callers that
// read only those still see a complete answer.
type Error struct {
	Code   Code
	Field  string
	Params map[string]any
	Err    error
	More   []*Error
}

// Error returns a lowercase description for logs. It includes the cause.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("ninsho: ")
	b.WriteString(string(e.Code))
	if e.Field != "" {
		b.WriteString(" (field ")
		b.WriteString(e.Field)
		b.WriteString(")")
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	for _, m := range e.More {
		b.WriteString("; ")
		b.WriteString(string(m.Code))
		if m.Field != "" {
			b.WriteString(" (field ")
			b.WriteString(m.Field)
			b.WriteString(")")
		}
	}
	return b.String()
}

// All returns every refusal e carries: e itself, then e.More. It returns nil
// for a nil e.
func (e *Error) All() []*Error {
	if e == nil {
		return nil
	}
	all := make([]*Error, 0, 1+len(e.More))
	all = append(all, e)
	return append(all, e.More...)
}

// Fields returns the refusals of one input's fields as one error, so that a
// form names every field it refuses at once: nil when every err is nil;
// otherwise the first refusal, with the others in More, in the order given.
// An error that is not about a field (an internal failure, an overload) is
// returned alone, since the answer is then about the request, not the input.
// The errors given are not changed.
func Fields(errs ...error) error {
	var list []*Error
	for _, err := range errs {
		if err == nil {
			continue
		}
		e := ErrorOf(err)
		if e.Field == "" {
			return err
		}
		for _, x := range e.All() {
			list = append(list, &Error{Code: x.Code, Field: x.Field, Params: x.Params, Err: x.Err})
		}
	}
	if len(list) == 0 {
		return nil
	}
	first := list[0]
	if len(list) > 1 {
		first.More = list[1:]
	}
	return first
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same code, so that
// errors.Is(err, ninsho.E(ninsho.CodeFlowExpired)) works.
func (e *Error) Is(target error) bool {
	var t *Error
	if errors.As(target, &t) {
		return t.Code == e.Code && (t.Field == "" || t.Field == e.Field)
	}
	return false
}

// E returns an error with the given code.
func E(code Code) *Error { return &Error{Code: code} }

// FieldError returns an error with the given code about one input field.
func FieldError(code Code, field string) *Error { return &Error{Code: code, Field: field} }

// WithParam returns e with one more message parameter. It mutates and returns e.
func (e *Error) WithParam(key string, value any) *Error {
	if e.Params == nil {
		e.Params = map[string]any{}
	}
	e.Params[key] = value
	return e
}

// FieldOrEmpty returns e.Field, or "" for a nil e.
func (e *Error) FieldOrEmpty() string {
	if e == nil {
		return ""
	}
	return e.Field
}

// Wrap returns e with cause err. It mutates and returns e.
func (e *Error) Wrap(err error) *Error { e.Err = err; return e }

// Internal wraps an unexpected failure. The cause is logged; the person sees a
// generic message with a reference number.
func Internal(format string, args ...any) *Error {
	return &Error{Code: CodeInternal, Err: fmt.Errorf(format, args...)}
}

// ErrorOf returns err as an *Error, wrapping any other error as internal.
// An internal error whose cause holds a database outage (IsOutage) is that
// outage.
// It returns nil for a nil err.
func ErrorOf(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		if o := outageUnder(e); o != nil {
			// The database's outage is what the person meets, however
			// many layers called it internal on the way.
			return o
		}
		return e
	}
	return &Error{Code: CodeInternal, Err: err}
}

// CodeOf returns the catalogue code of err: CodeInternal for errors that are
// not *Error, and "" for nil.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	return ErrorOf(err).Code
}

// IsCode reports whether err carries the given catalogue code.
func IsCode(err error, code Code) bool { return err != nil && CodeOf(err) == code }
