package api

import (
	"net/http"
	"strings"

	"github.com/ninsho/ninsho/internal/captcha"
	"github.com/ninsho/ninsho/internal/httperr"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/web/webreq"
)

// devCaptchaPrefix is the path of the development-mode answer endpoint.
const devCaptchaPrefix = "/dev/api/captcha/"

// DevCaptchaHandler serves GET /dev/api/captcha/{id} with the answer to a
// live CAPTCHA challenge, {"answer": "123456"}, so that tests can solve it
// (DESIGN §5). It defeats the CAPTCHA: the server mounts it in development
// mode only, at /dev/api/captcha/. A challenge that is unknown, expired,
// solved or out of attempts, and every request when svc is nil, is a
// not_found problem. Answers are never cached.
func DevCaptchaHandler(svc *captcha.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if err := devCaptcha(w, r, svc); err != nil {
			httperr.WriteProblem(w, r, err, webreq.Locale(r, nil), httperr.RequestID(r.Context()))
		}
	})
}

func devCaptcha(w http.ResponseWriter, r *http.Request, svc *captcha.Service) error {
	id, ok := strings.CutPrefix(r.URL.Path, devCaptchaPrefix)
	if !ok || svc == nil || !ninsho.ValidID(id) {
		return ninsho.E(ninsho.CodeNotFound)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		return ninsho.E(ninsho.CodeMethodNotAllowed)
	}
	answer, err := svc.Answer(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, struct {
		Answer string `json:"answer"`
	}{answer})
}
