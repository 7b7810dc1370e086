package api

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"

	drawcaptcha "github.com/dchest/captcha"

	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// CAPTCHA media. The challenge's lifecycle lives in internal/captcha; the
// drawing is here because github.com/dchest/captcha imports net/http, which
// feature packages must not.

// captchaMedia serves GET /api/v1/captcha/{id}.png (a 240×80 PNG image) and
// GET /api/v1/captcha/{id}.wav?lang=ja|en (the digits spoken in WAV; without
// lang, the request's language). A challenge that is unknown, of another
// realm, expired, solved or out of attempts is a not_found problem, as is
// every request when the server has no CAPTCHA service. Answers are never
// cached: a new challenge has a new id.
func (h *Handler) captchaMedia(w http.ResponseWriter, r *http.Request, c *call) error {
	if h.d.Captcha == nil {
		return ninsho.E(ninsho.CodeNotFound)
	}
	id, ext, _ := strings.Cut(r.PathValue("file"), ".")
	if (ext != "png" && ext != "wav") || !ninsho.ValidID(id) {
		return ninsho.E(ninsho.CodeNotFound)
	}
	var lang string
	if ext == "wav" {
		if q := r.URL.Query(); q.Has("lang") && i18n.Canonical(q.Get("lang")) == "" {
			return ninsho.FieldError(ninsho.CodeLocaleInvalid, "lang")
		}
		lang = c.lang() // ?lang= first
	}
	digits, err := h.d.Captcha.Digits(r.Context(), c.realm.ID, id)
	if err != nil {
		return err
	}
	var (
		buf   bytes.Buffer
		ctype string
		media io.WriterTo
	)
	if ext == "png" {
		ctype, media = "image/png", drawcaptcha.NewImage(id, digits, drawcaptcha.StdWidth, drawcaptcha.StdHeight)
	} else {
		ctype, media = "audio/wav", drawcaptcha.NewAudio(id, digits, lang)
	}
	if _, err := media.WriteTo(&buf); err != nil {
		return ninsho.Internal("api: draw captcha %s: %w", ext, err)
	}
	hd := w.Header()
	hd.Set("Content-Type", ctype)
	hd.Set("Content-Length", strconv.Itoa(buf.Len()))
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	if lang != "" {
		hd.Set("Content-Language", lang)
	}
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
	return nil
}
