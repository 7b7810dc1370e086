package api

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ninsho/ninsho/internal/httperr"
	"github.com/ninsho/ninsho/internal/ninsho"
)

func TestDecode(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		name  string
		ctype string
		body  string
		dst   func() checker
		code  ninsho.Code
		field string
	}{
		{"valid signup", "application/json", `{"identifier":"a@example.com","password":"pw","name":"N","locale":"ja"}`, newSignup, "", ""},
		{"charset utf-8 accepted", "application/json; charset=UTF-8", `{"identifier":"a@example.com"}`, newSignin, "", ""},
		{"whitespace around", "application/json", " \n{\"identifier\":\"x\"}\n ", newSignin, "", ""},
		{"no content type", "", `{}`, newSignin, ninsho.CodeUnsupportedMediaType, ""},
		{"form body", "application/x-www-form-urlencoded", `identifier=x`, newSignin, ninsho.CodeUnsupportedMediaType, ""},
		{"multipart", "multipart/form-data; boundary=x", `--x--`, newSignin, ninsho.CodeUnsupportedMediaType, ""},
		{"text plain", "text/plain", `{}`, newSignin, ninsho.CodeUnsupportedMediaType, ""},
		{"latin1 charset", "application/json; charset=latin1", `{}`, newSignin, ninsho.CodeUnsupportedMediaType, ""},
		{"malformed content type", "application/json; =", `{}`, newSignin, ninsho.CodeUnsupportedMediaType, ""},
		{"empty body", "application/json", ``, newSignin, ninsho.CodeRequestInvalid, ""},
		{"null", "application/json", `null`, newSignin, ninsho.CodeRequestInvalid, ""},
		{"array", "application/json", `[]`, newSignin, ninsho.CodeRequestInvalid, ""},
		{"malformed", "application/json", `{"identifier":`, newSignin, ninsho.CodeRequestInvalid, ""},
		{"trailing object", "application/json", `{"identifier":"x"}{}`, newSignin, ninsho.CodeRequestInvalid, ""},
		{"trailing garbage", "application/json", `{"identifier":"x"} x`, newSignin, ninsho.CodeRequestInvalid, ""},
		{"unknown field", "application/json", `{"identifier":"x","admin":true}`, newSignin, ninsho.CodeRequestInvalid, ""},
		{"wrong type", "application/json", `{"identifier":1}`, newSignin, ninsho.CodeRequestInvalid, "identifier"},
		{"aal of the wrong type", "application/json", `{"identifier":"x","aal":"2"}`, newSignin, ninsho.CodeRequestInvalid, "aal"},
		{"invalid utf-8", "application/json", "{\"identifier\":\"\xff\"}", newSignin, ninsho.CodeRequestInvalid, ""},
		{"identifier too long", "application/json", `{"identifier":"` + long(321) + `"}`, newSignin, ninsho.CodeFieldTooLong, "identifier"},
		{"identifier at limit", "application/json", `{"identifier":"` + long(320) + `"}`, newSignin, "", ""},
		{"name at limit in characters", "application/json", `{"name":"` + strings.Repeat("名", 200) + `"}`, newSignup, "", ""},
		{"password too long", "application/json", `{"password":"` + long(1025) + `"}`, newSignin, ninsho.CodeFieldTooLong, "password"},
		{"name too long", "application/json", `{"name":"` + strings.Repeat("名", 201) + `"}`, newSignup, ninsho.CodeFieldTooLong, "name"},
		{"device token too long", "application/json", `{"device_token":"` + long(257) + `"}`, newSignin, ninsho.CodeFieldTooLong, "device_token"},
		{"action valid", "application/json", `{"action":"submit_code","code":"123456"}`, newAction, "", ""},
		{"action with device token", "application/json", `{"action":"submit_password","password":"x","device_token":"d"}`, newAction, "", ""},
		{"action missing", "application/json", `{"code":"123456"}`, newAction, ninsho.CodeActionUnknown, "action"},
		{"action badly shaped", "application/json", `{"action":"Submit-Code"}`, newAction, ninsho.CodeActionUnknown, "action"},
		{"action unknown field", "application/json", `{"action":"submit_code","secret":"x"}`, newAction, ninsho.CodeRequestInvalid, ""},
		{"code too long", "application/json", `{"action":"submit_code","code":"12345678901234567"}`, newAction, ninsho.CodeFieldTooLong, "code"},
		{"too large", "application/json", `{"name":"` + long(MaxBodyBytes) + `"}`, newSignup, ninsho.CodeBodyTooLarge, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/api/v1/signin", strings.NewReader(tt.body))
			if tt.ctype != "" {
				r.Header.Set("Content-Type", tt.ctype)
			}
			err := decode(httptest.NewRecorder(), r, tt.dst())
			if got := ninsho.CodeOf(err); got != tt.code {
				t.Fatalf("decode(%.60q) code = %q, want %q (err %v)", tt.body, got, tt.code, err)
			}
			if err != nil {
				if got := ninsho.ErrorOf(err).Field; got != tt.field {
					t.Errorf("field = %q, want %q", got, tt.field)
				}
			}
		})
	}
}

func TestDecodeTooLargeWithoutLength(t *testing.T) {
	body := bytes.Repeat([]byte(" "), MaxBodyBytes+1)
	r := httptest.NewRequest("POST", "/api/v1/signin", &onlyReader{bytes.NewReader(body)})
	r.ContentLength = -1
	r.Header.Set("Content-Type", "application/json")
	if got := ninsho.CodeOf(decode(httptest.NewRecorder(), r, newSignin())); got != ninsho.CodeBodyTooLarge {
		t.Errorf("chunked oversized body: code %q, want body_too_large", got)
	}
}

type onlyReader struct{ r *bytes.Reader }

func (o *onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func newSignup() checker { return &signupBody{} }
func newSignin() checker { return &signinBody{} }
func newAction() checker { return &actionBody{} }

// FuzzDecodeRequest feeds arbitrary bodies and content types to the request
// decoding of every API body: it must never panic and never answer 5xx.
func FuzzDecodeRequest(f *testing.F) {
	seeds := []struct{ ctype, body string }{
		{"application/json", `{"identifier":"a@example.com","password":"pw","name":"N","locale":"ja"}`},
		{"application/json", `{"action":"submit_code","code":"123456","device_token":"x"}`},
		{"application/json; charset=utf-8", `{"identifier":"+81 90-1234-5678"}`},
		{"application/json", `{"identifier":"x"}{"identifier":"y"}`},
		{"application/json", "{\"identifier\":\"\xc3\x28\"}"},
		{"application/json", `{"identifier":"\u0000\ud800"}`},
		{"application/json", `{"a":[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]}`},
		{"application/json", `{"password":1e999}`},
		{"application/x-www-form-urlencoded", `identifier=x&password=y`},
		{"", ``},
		{"application/json", `   `},
		{"application/json; charset=\"", `{}`},
	}
	for _, s := range seeds {
		f.Add(s.ctype, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, ctype string, body []byte) {
		for _, dst := range []checker{&signupBody{}, &signinBody{}, &actionBody{}} {
			r := httptest.NewRequest("POST", "/api/v1/signup", bytes.NewReader(body))
			r.Header.Set("Content-Type", ctype)
			err := decode(httptest.NewRecorder(), r, dst)
			if s := httperr.StatusOf(err); s >= 500 {
				t.Fatalf("decode(%q, %q) = %v: status %d", ctype, body, err, s)
			}
		}
	})
}

// TestPasskeyLabelTooLong: a passkey's label is checked like every
// method's (twostep.CheckLabel): over 64 characters is field_too_long for
// label, at the start and at the finish, before any ceremony.
func TestPasskeyLabelTooLong(t *testing.T) {
	long := strings.Repeat("あ", 65)
	for name, err := range map[string]error{
		"begin":  (&passkeyBeginBody{Label: long}).check(),
		"finish": (&passkeyFinishBody{Label: long}).check(),
	} {
		if !ninsho.IsCode(err, ninsho.CodeFieldTooLong) || ninsho.ErrorOf(err).Field != "label" {
			t.Errorf("%s: %v, want field_too_long for label", name, err)
		}
	}
	if err := (&passkeyBeginBody{Label: strings.Repeat("あ", 64)}).check(); err != nil {
		t.Errorf("64 characters: %v", err)
	}
}
