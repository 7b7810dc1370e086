package httperr_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/httperr"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/web/webtest"
)

// catalogueCodes returns every Code constant declared in package ninsho.
func catalogueCodes(tb testing.TB) []ninsho.Code {
	tb.Helper()
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, "../ninsho", nil, 0)
	if err != nil {
		tb.Fatal(err)
	}
	var codes []ninsho.Code
	for _, p := range pkgs {
		for name, f := range p.Files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			for _, d := range f.Decls {
				g, ok := d.(*ast.GenDecl)
				if !ok || g.Tok != token.CONST {
					continue
				}
				for _, s := range g.Specs {
					vs := s.(*ast.ValueSpec)
					if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Code" {
						continue
					}
					for _, v := range vs.Values {
						if lit, ok := v.(*ast.BasicLit); ok && lit.Kind == token.STRING {
							s, _ := strconv.Unquote(lit.Value)
							codes = append(codes, ninsho.Code(s))
						}
					}
				}
			}
		}
	}
	if len(codes) < 20 {
		tb.Fatalf("found only %d catalogue codes; the parser missed them", len(codes))
	}
	return codes
}

func TestEveryCodeHasAStatus(t *testing.T) {
	for _, c := range catalogueCodes(t) {
		if got := httperr.Status(c); got == http.StatusInternalServerError && c != ninsho.CodeInternal {
			t.Errorf("Status(%q) = 500: the code is missing from the status table", c)
		}
	}
}

func TestStatus(t *testing.T) {
	tests := []struct {
		code ninsho.Code
		want int
	}{
		{ninsho.CodeRequestInvalid, 400},
		{ninsho.CodeFieldTooLong, 400},
		{ninsho.CodeUnauthenticated, 401},
		{ninsho.CodeForbidden, 403},
		{ninsho.CodeReauthRequired, 403},
		{ninsho.CodeNotFound, 404},
		{ninsho.CodeFlowNotFound, 404},
		{ninsho.CodeMethodNotAllowed, 405},
		{ninsho.CodeConflict, 409},
		{ninsho.CodeIdentifierTaken, 409},
		{ninsho.CodeFlowExpired, 410},
		{ninsho.CodeBodyTooLarge, 413},
		{ninsho.CodeUnsupportedMediaType, 415},
		{ninsho.CodeAccountLocked, 423},
		{ninsho.CodeRateLimited, 429},
		{ninsho.CodeResendTooSoon, 429},
		{ninsho.CodeInternal, 500},
		{ninsho.CodeOverloaded, 503},
		{"no_such_code", 500},
	}
	for _, tt := range tests {
		if got := httperr.Status(tt.code); got != tt.want {
			t.Errorf("Status(%q) = %d, want %d", tt.code, got, tt.want)
		}
	}
	if got := httperr.StatusOf(errors.New("boom")); got != 500 {
		t.Errorf("StatusOf(plain error) = %d, want 500", got)
	}
	if got := httperr.StatusOf(fmt.Errorf("wrapped: %w", ninsho.E(ninsho.CodeFlowExpired))); got != 410 {
		t.Errorf("StatusOf(wrapped flow_expired) = %d, want 410", got)
	}
	if got := httperr.StatusOf(nil); got != 200 {
		t.Errorf("StatusOf(nil) = %d, want 200", got)
	}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		name   string
		params map[string]any
		want   int
		ok     bool
	}{
		{"none", nil, 0, false},
		{"int retry_after_s", map[string]any{"retry_after_s": 30}, 30, true},
		{"int64 seconds", map[string]any{"seconds": int64(42)}, 42, true},
		{"float rounds up", map[string]any{"seconds": 1.2}, 2, true},
		{"duration", map[string]any{"retry_after_s": 1500 * time.Millisecond}, 2, true},
		{"string", map[string]any{"seconds": "7"}, 7, true},
		{"retry_after_s wins", map[string]any{"retry_after_s": 5, "seconds": 9}, 5, true},
		{"negative refused", map[string]any{"seconds": -3}, 0, false},
		{"garbage refused", map[string]any{"seconds": "soon"}, 0, false},
		{"capped at a day", map[string]any{"seconds": 1e12}, 86400, true},
	}
	for _, tt := range tests {
		e := &ninsho.Error{Code: ninsho.CodeRateLimited, Params: tt.params}
		got, ok := httperr.RetryAfter(e)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: RetryAfter = %d, %v; want %d, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

// dump renders a response for a golden file: status, the headers an error
// answer decides, and the body.
func dump(rec *httptest.ResponseRecorder) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%d\n", rec.Code)
	keys := make([]string, 0, len(rec.Header()))
	for k := range rec.Header() {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(rec.Header()[k], ", "))
	}
	b.WriteString("\n")
	b.Write(rec.Body.Bytes())
	return b.Bytes()
}

func TestWriteProblemGolden(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		locale string
	}{
		{"request_invalid", ninsho.E(ninsho.CodeRequestInvalid), "en"},
		{"field_too_long", ninsho.FieldError(ninsho.CodeFieldTooLong, "name").WithParam("max", 200), "ja"},
		{"unauthenticated", ninsho.E(ninsho.CodeUnauthenticated), "ja"},
		{"flow_not_found", ninsho.E(ninsho.CodeFlowNotFound), "en"},
		{"method_not_allowed", ninsho.E(ninsho.CodeMethodNotAllowed), "en"},
		{"identifier_taken", ninsho.FieldError(ninsho.CodeIdentifierTaken, "identifier"), "ja"},
		{"flow_expired", ninsho.E(ninsho.CodeFlowExpired), "ja"},
		{"body_too_large", ninsho.E(ninsho.CodeBodyTooLarge).WithParam("max", 65536), "en"},
		{"unsupported_media_type", ninsho.E(ninsho.CodeUnsupportedMediaType), "en"},
		{"account_locked", ninsho.E(ninsho.CodeAccountLocked).WithParam("retry_after_s", 900).WithParam("until", time.Date(2026, 11, 25, 10, 15, 0, 0, time.UTC)), "ja"},
		{"rate_limited", ninsho.E(ninsho.CodeRateLimited).WithParam("retry_after_s", 30), "en"},
		{"resend_too_soon", ninsho.FieldError(ninsho.CodeResendTooSoon, "code").WithParam("seconds", 42), "ja"},
		{"overloaded", ninsho.E(ninsho.CodeOverloaded), "en"},
		{"internal", ninsho.Internal("db: connection refused to 10.0.0.7"), "ja"},
		{"plain_error", errors.New("secret cause"), "en"},
		{"fields", ninsho.Fields(
			ninsho.FieldError(ninsho.CodeFieldRequired, "identifier"),
			ninsho.FieldError(ninsho.CodeFieldRequired, "name"),
			ninsho.FieldError(ninsho.CodePasswordTooShort, "password").WithParam("min", 8),
			ninsho.FieldError(ninsho.CodePasswordMismatch, "password_confirmation"),
		), "en"},
		{"fields_ja", ninsho.Fields(
			ninsho.FieldError(ninsho.CodeIdentifierInvalid, "identifier"),
			ninsho.FieldError(ninsho.CodeFieldRequired, "password"),
		), "ja"},
		{"cookies_required", ninsho.E(ninsho.CodeCookiesRequired), "ja"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			r := httptest.NewRequest("GET", "/api/v1/me", nil)
			httperr.WriteProblem(rec, r, tt.err, tt.locale, "01900000-0000-7000-8000-00000000beef")
			webtest.Golden(t, "problem_"+tt.name+".golden", dump(rec))
			if body := rec.Body.String(); strings.Contains(body, "10.0.0.7") || strings.Contains(body, "secret cause") {
				t.Errorf("problem body shows the cause: %s", body)
			}
		})
	}
}

func TestInternalCauseIsLogged(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&buf, nil))
	r := httptest.NewRequest("POST", "/api/v1/signin", nil)
	r = r.WithContext(httperr.WithLogger(r.Context(), l))
	rec := httptest.NewRecorder()
	httperr.WriteProblem(rec, r, ninsho.Internal("store: disk full"), "en", "req-1")
	log := buf.String()
	for _, want := range []string{`"cause":"store: disk full"`, `"request_id":"req-1"`, `"status":500`, `"path":"/api/v1/signin"`} {
		if !strings.Contains(log, want) {
			t.Errorf("log %q lacks %s", log, want)
		}
	}
	if strings.Contains(rec.Body.String(), "disk full") {
		t.Errorf("body shows the cause: %s", rec.Body)
	}

	buf.Reset()
	httperr.WriteProblem(httptest.NewRecorder(), r, ninsho.E(ninsho.CodeFlowNotFound), "en", "req-2")
	if buf.Len() != 0 {
		t.Errorf("a 404 was logged at info level: %s", buf.String())
	}
}

func TestWriteHTML(t *testing.T) {
	var got httperr.Page
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/verify", nil)
	err := ninsho.FieldError(ninsho.CodeResendTooSoon, "code").WithParam("seconds", 12)
	httperr.WriteHTML(rec, r, err, "ja", "ref-9", func(w http.ResponseWriter, r *http.Request, p httperr.Page) {
		got = p
		w.WriteHeader(p.Status)
	})
	if got.Status != 429 || got.Code != ninsho.CodeResendTooSoon || got.Field != "code" || got.RequestID != "" || got.Locale != "ja" || got.Message == "" {
		t.Errorf("page = %+v; want status 429, code resend_too_soon, field code, no reference (a wait needs no support), ja, a message", got)
	}
	if ra := rec.Header().Get("Retry-After"); ra != "12" {
		t.Errorf("Retry-After = %q, want 12", ra)
	}
	if rec.Code != 429 {
		t.Errorf("status = %d, want 429", rec.Code)
	}

	rec = httptest.NewRecorder()
	httperr.WriteHTML(rec, r, ninsho.Internal("boom"), "en", "ref-10", nil)
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), "ref-10") || strings.Contains(rec.Body.String(), "boom") {
		t.Errorf("nil renderer: status %d body %q; want 500 with the reference and no cause", rec.Code, rec.Body)
	}
}

func TestPrepareHeaders(t *testing.T) {
	tests := []struct {
		err        error
		status     int
		retryAfter string
		authn      bool
	}{
		{ninsho.E(ninsho.CodeOverloaded), 503, "1", false},
		{ninsho.E(ninsho.CodeOverloaded).WithParam("retry_after_s", 3), 503, "3", false},
		{ninsho.E(ninsho.CodeRateLimited), 429, "1", false},
		{ninsho.E(ninsho.CodeUnauthenticated), 401, "", true},
		{ninsho.FieldError(ninsho.CodeCodeIncorrect, "code").WithParam("attempts_left", 3), 400, "", false},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		got := httperr.Prepare(rec, httptest.NewRequest("GET", "/", nil), tt.err, "x")
		if got != tt.status {
			t.Errorf("Prepare(%v) = %d, want %d", tt.err, got, tt.status)
		}
		if ra := rec.Header().Get("Retry-After"); ra != tt.retryAfter {
			t.Errorf("Prepare(%v): Retry-After %q, want %q", tt.err, ra, tt.retryAfter)
		}
		if a := rec.Header().Get("WWW-Authenticate") != ""; a != tt.authn {
			t.Errorf("Prepare(%v): WWW-Authenticate set %v, want %v", tt.err, a, tt.authn)
		}
		if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Prepare(%v): Cache-Control %q, want no-store", tt.err, cc)
		}
	}
}

func TestRequestIDContext(t *testing.T) {
	if got := httperr.RequestID(context.Background()); got != "" {
		t.Errorf("RequestID(empty) = %q", got)
	}
	if got := httperr.RequestID(httperr.WithRequestID(context.Background(), "abc")); got != "abc" {
		t.Errorf("RequestID = %q, want abc", got)
	}
}

func TestClientThatWentAwayIsNotAnError(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(httperr.WithLogger(context.Background(), logger))
	cancel() // the client hung up
	r := httptest.NewRequest("POST", "/api/v1/signin", nil).WithContext(ctx)
	rec := httptest.NewRecorder()
	err := ninsho.Internal("store: begin transaction: %w", context.Canceled)
	if got := httperr.Prepare(rec, r, err, "req-1"); got != httperr.StatusClientClosedRequest {
		t.Errorf("Prepare = %d, want 499", got)
	}
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("a client that went away was logged as an error: %s", logs.String())
	}
	// A cancellation the client did not cause is still a server error.
	live := httptest.NewRequest("POST", "/api/v1/signin", nil).WithContext(httperr.WithLogger(context.Background(), logger))
	if got := httperr.Prepare(httptest.NewRecorder(), live, err, "req-2"); got != http.StatusInternalServerError {
		t.Errorf("Prepare(live request) = %d, want 500", got)
	}
}

// TestShowsReference: the reference number is for refusals a person may
// need customer service for, not for ones they can put right alone.
func TestShowsReference(t *testing.T) {
	tests := []struct {
		err  *ninsho.Error
		want bool
	}{
		{ninsho.E(ninsho.CodeAccountLocked).WithParam("kind", "unfamiliar"), true},
		{ninsho.E(ninsho.CodeAccountLocked).WithParam("kind", "suspicious"), true},
		{ninsho.FieldError(ninsho.CodeAccountLocked, "code").WithParam("kind", "codes"), true},
		{ninsho.E(ninsho.CodeAccountSuspended), true},
		{ninsho.E(ninsho.CodeAccountClosed), true},
		{ninsho.Internal("boom"), true},
		{ninsho.E(ninsho.CodeOverloaded), true},
		{ninsho.E(ninsho.CodeDeliveryFailed), true},
		{ninsho.FieldError(ninsho.CodePasswordIncorrect, "password"), false},
		{ninsho.E(ninsho.CodeCredentialsIncorrect), false},
		{ninsho.FieldError(ninsho.CodeFieldRequired, "name"), false},
		{ninsho.FieldError(ninsho.CodeCodeIncorrect, "code"), false},
		{ninsho.E(ninsho.CodeRateLimited), false},
		{ninsho.E(ninsho.CodeNotFound), false},
		{ninsho.E(ninsho.CodeFlowNotFound), false},
		{ninsho.E(ninsho.CodeCookiesRequired), false},
	}
	for _, tt := range tests {
		if got := httperr.ShowsReference(tt.err, httperr.Status(tt.err.Code)); got != tt.want {
			t.Errorf("ShowsReference(%s, %d) = %v, want %v", tt.err.Code, httperr.Status(tt.err.Code), got, tt.want)
		}
	}
	if !httperr.ShowsReference(nil, 500) || httperr.ShowsReference(nil, 400) {
		t.Error("ShowsReference(nil, status) does not follow the status")
	}

	// The HTML page follows the rule: a mistyped password shows none, a
	// lock shows it.
	for _, tt := range []struct {
		err  error
		want string
	}{
		{ninsho.FieldError(ninsho.CodePasswordIncorrect, "password"), ""},
		{ninsho.E(ninsho.CodeAccountSuspended), "ref-1"},
	} {
		var got httperr.Page
		httperr.WriteHTML(httptest.NewRecorder(), httptest.NewRequest("POST", "/signin", nil), tt.err, "en", "ref-1", func(w http.ResponseWriter, r *http.Request, p httperr.Page) { got = p })
		if got.RequestID != tt.want {
			t.Errorf("%v: page reference %q, want %q", tt.err, got.RequestID, tt.want)
		}
	}
}

// TestAPIDocListsEveryCode: docs/api.md's table of error codes gives every
// catalogue code with the status this package answers, and nothing else.
func TestAPIDocListsEveryCode(t *testing.T) {
	doc, err := os.ReadFile("../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "\n### Error codes\n")
	if !ok {
		t.Fatal("docs/api.md has no \"### Error codes\" section")
	}
	documented := map[ninsho.Code]int{}
	row := regexp.MustCompile("(?m)^\\| (\\d{3}) \\| (.*) \\|$")
	code := regexp.MustCompile("`([a-z_]+)`")
	for _, m := range row.FindAllStringSubmatch(section, -1) {
		status, _ := strconv.Atoi(m[1])
		for _, c := range code.FindAllStringSubmatch(m[2], -1) {
			if _, dup := documented[ninsho.Code(c[1])]; dup {
				t.Errorf("%s is listed twice", c[1])
			}
			documented[ninsho.Code(c[1])] = status
		}
	}
	for _, c := range catalogueCodes(t) {
		got, ok := documented[c]
		if !ok {
			t.Errorf("docs/api.md does not list %s", c)
		} else if want := httperr.Status(c); got != want {
			t.Errorf("docs/api.md lists %s as %d, it answers %d", c, got, want)
		}
		delete(documented, c)
	}
	for c := range documented {
		t.Errorf("docs/api.md lists %s, which is not a catalogue code", c)
	}
}

// TestPublicParamsSupportLock: account_locked of kind support (no verified
// channel left for a code) shows its kind; other locks show nothing.
func TestPublicParamsSupportLock(t *testing.T) {
	got := httperr.PublicParams(ninsho.E(ninsho.CodeAccountLocked).WithParam("kind", "support"))
	if len(got) != 1 || got["kind"] != "support" {
		t.Fatalf("support lock params = %v", got)
	}
	if got := httperr.PublicParams(ninsho.E(ninsho.CodeAccountLocked).WithParam("kind", "suspicious")); got != nil {
		t.Fatalf("suspicious lock params = %v, want none", got)
	}
}
