package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/web/webreq"
)

// MaxBodyBytes is the largest request body the API reads.
const MaxBodyBytes = 64 << 10

// signupBody is the body of POST /api/v1/signup.
type signupBody struct {
	Identifier  string `json:"identifier"`
	Password    string `json:"password"`
	Name        string `json:"name"`
	Locale      string `json:"locale"`
	DeviceToken string `json:"device_token"`
}

func (b *signupBody) check() error {
	return checkLengths(
		"identifier", b.Identifier,
		"password", b.Password,
		"name", b.Name,
		"locale", b.Locale,
		"device_token", b.DeviceToken,
	)
}

// signinBody is the body of POST /api/v1/signin.
type signinBody struct {
	Identifier  string `json:"identifier"`
	Password    string `json:"password"`
	DeviceToken string `json:"device_token"`
	// AAL 2 asks that no trusted device skip the second factor.
	AAL *int `json:"aal"`
}

func (b *signinBody) check() error {
	return checkLengths(
		"identifier", b.Identifier,
		"password", b.Password,
		"device_token", b.DeviceToken,
	)
}

// actionBody is the body of POST /api/v1/flows/{id}: the flow's action (the
// flow package names its fields) and the client's device token.
type actionBody struct {
	flow.Action
	DeviceToken string `json:"device_token"`
}

func (b *actionBody) check() error {
	if err := checkLengths(
		"password", b.Password,
		"password_confirmation", b.PasswordConfirmation,
		"code", b.Code,
		"channel", b.Channel,
		"answer", b.Answer,
		"method", b.Method,
		"device_token", b.DeviceToken,
	); err != nil {
		return err
	}
	if !actionName(b.Name) {
		return ninsho.FieldError(ninsho.CodeActionUnknown, "action")
	}
	return nil
}

// actionName reports whether s has the shape of an action name (lowercase
// words joined by underscores). Which actions a flow accepts is the flow's
// business: it answers action_unknown for the rest.
func actionName(s string) bool {
	if s == "" || len(s) > webreq.MaxAction {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || c == '_') {
			return false
		}
	}
	return true
}

// checkLengths checks name, value pairs against the fields' limits.
func checkLengths(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if err := webreq.CheckLength(pairs[i], pairs[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// checker is a decoded body that checks its field lengths.
type checker interface{ check() error }

// decode reads r's JSON body into dst and checks its lengths. It refuses
// bodies that are not application/json (415), larger than MaxBodyBytes (413),
// not valid UTF-8, malformed, followed by trailing data or carrying unknown
// fields (400 request_invalid).
func decode(w http.ResponseWriter, r *http.Request, dst checker) error {
	if err := checkContentType(r.Header.Get("Content-Type")); err != nil {
		return err
	}
	if r.ContentLength > MaxBodyBytes {
		return ninsho.E(ninsho.CodeBodyTooLarge).WithParam("max", MaxBodyBytes)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return ninsho.E(ninsho.CodeBodyTooLarge).WithParam("max", MaxBodyBytes)
		}
		return ninsho.E(ninsho.CodeRequestInvalid).Wrap(err)
	}
	return decodeBody(body, dst)
}

// checkContentType accepts application/json with no charset or UTF-8.
func checkContentType(ct string) error {
	if ct == "" {
		return ninsho.E(ninsho.CodeUnsupportedMediaType)
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return ninsho.E(ninsho.CodeUnsupportedMediaType)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return ninsho.E(ninsho.CodeUnsupportedMediaType)
	}
	return nil
}

// decodeBody decodes one JSON object from body into dst and checks it.
func decodeBody(body []byte, dst checker) error {
	if !utf8.Valid(body) {
		return ninsho.E(ninsho.CodeRequestInvalid)
	}
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return ninsho.E(ninsho.CodeRequestInvalid)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		// A value of the wrong type names its field ("aal": "2").
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" && !strings.Contains(te.Field, ".") {
			return ninsho.FieldError(ninsho.CodeRequestInvalid, te.Field).Wrap(err)
		}
		return ninsho.E(ninsho.CodeRequestInvalid).Wrap(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return ninsho.E(ninsho.CodeRequestInvalid)
	}
	return dst.check()
}

// checkNoBody refuses a body on a request that takes none, unless it is JSON
// (an empty object, say): API routes never accept form bodies.
func checkNoBody(r *http.Request) error {
	if r.ContentLength == 0 && r.Header.Get("Content-Type") == "" {
		return nil
	}
	if err := checkContentType(r.Header.Get("Content-Type")); err != nil {
		return err
	}
	if r.ContentLength > MaxBodyBytes {
		return ninsho.E(ninsho.CodeBodyTooLarge).WithParam("max", MaxBodyBytes)
	}
	return nil
}
