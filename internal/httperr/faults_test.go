package httperr_test

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ninsho/ninsho/internal/httperr"
	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// TestOutageIs503WithRetryAfter: a database outage, even wrapped by a
// service as its own internal failure, answers 503 with Retry-After and the
// catalogue's message, never the cause.
func TestOutageIs503WithRetryAfter(t *testing.T) {
	cause := errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")
	for _, tc := range []struct {
		err   error
		code  ninsho.Code
		retry string
	}{
		{ninsho.Unavailable(cause), ninsho.CodeUnavailable, "2"},
		{ninsho.Internal("signup: start: %w", ninsho.Unavailable(cause)), ninsho.CodeUnavailable, "2"},
		{ninsho.StorageFull(cause), ninsho.CodeStorageFull, "30"},
	} {
		for _, l := range []string{"ja", "en"} {
			w := httptest.NewRecorder()
			r := httptest.NewRequest("POST", "/api/v1/signup", nil)
			httperr.WriteProblem(w, r, tc.err, l, "req-1")
			body := w.Body.String()
			if w.Code != 503 || w.Header().Get("Retry-After") != tc.retry {
				t.Errorf("%v (%s): %d Retry-After %q, want 503 %s", tc.err, l, w.Code, w.Header().Get("Retry-After"), tc.retry)
			}
			p := httperr.NewProblem(tc.err, l, "req-1")
			if p.Code != string(tc.code) || p.Detail != i18n.ErrorMessage(l, tc.code, nil) || p.Detail == "" {
				t.Errorf("%v (%s): problem %+v", tc.err, l, p)
			}
			if want := `"code":"` + string(tc.code) + `"`; !strings.Contains(body, want) || strings.Contains(body, "refused") {
				t.Errorf("%v (%s): body %s", tc.err, l, body)
			}
		}
	}
}
