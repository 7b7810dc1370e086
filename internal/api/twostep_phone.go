package api

import (
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/twostep"
	"github.com/ninsho/ninsho/internal/web/webreq"
)

// routeTwoStepPhone registers the phone-method endpoints of the two-step
// settings (only when the two-step service is wired).
func (h *Handler) routeTwoStepPhone() {
	if h.d.TwoStep == nil {
		return
	}
	h.mux.Handle("POST /api/v1/me/two-step/phone", h.handle(h.beginPhone))
	h.mux.Handle("POST /api/v1/me/two-step/phone/{id}/verify", h.handle(h.verifyPhone))
	h.mux.Handle("POST /api/v1/me/two-step/phone/{id}/resend", h.handle(h.resendPhone))
}

// phoneBody is the body of POST /api/v1/me/two-step/phone.
type phoneBody struct {
	Phone    string `json:"phone"`
	Method   string `json:"method"`
	Replaces string `json:"replaces"`
}

func (b *phoneBody) check() error {
	if utf8.RuneCountInString(b.Phone) > webreq.MaxIdentifier {
		return ninsho.FieldError(ninsho.CodeFieldTooLong, "phone").WithParam("max", webreq.MaxIdentifier)
	}
	if b.Method == "" {
		return ninsho.FieldError(ninsho.CodeFieldRequired, "method")
	}
	if len(b.Replaces) > 64 {
		return ninsho.FieldError(ninsho.CodeNotFound, "replaces")
	}
	return checkLengths("method", b.Method)
}

// phoneCodeBody is the body of POST /api/v1/me/two-step/phone/{id}/verify.
type phoneCodeBody struct {
	Code string `json:"code"`
}

func (b *phoneCodeBody) check() error { return checkLengths("code", b.Code) }

type phoneEnrolJSON struct {
	CredentialID string `json:"credential_id"`
	Destination  string `json:"destination"`
	ResendAfterS int    `json:"resend_after_s"`
}

func phoneEnrolJSONOf(en *twostep.PhoneEnrolment) phoneEnrolJSON {
	return phoneEnrolJSON{CredentialID: en.CredentialID, Destination: en.Destination,
		ResendAfterS: int((en.ResendAfter + time.Second - 1) / time.Second)}
}

// beginPhone adds an SMS or voice-call number (optionally replacing one)
// and sends it a code: 201 {credential_id, destination, resend_after_s}.
func (h *Handler) beginPhone(w http.ResponseWriter, r *http.Request, c *call) error {
	var b phoneBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	p, err := h.recentlySignedIn(r, c)
	if err != nil {
		return err
	}
	en, err := h.d.TwoStep.BeginPhone(r.Context(), c.realm, h.request(r, c, ""), p.Account, twostep.Method(b.Method), b.Phone, b.Replaces)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, phoneEnrolJSONOf(en))
}

// verifyPhone proves a number with the code sent to it: 200 provedJSON.
func (h *Handler) verifyPhone(w http.ResponseWriter, r *http.Request, c *call) error {
	var b phoneCodeBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	p, err := h.recentlySignedIn(r, c)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := webreq.CheckCredentialID(id); err != nil {
		return err
	}
	pr, err := h.d.TwoStep.ProvePhone(r.Context(), c.realm, h.request(r, c, ""), p.Account, id, b.Code)
	if err != nil {
		return err
	}
	return h.writeProved(w, r, c, p, id, pr)
}

// resendPhone sends the number's code again: 204.
func (h *Handler) resendPhone(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := checkNoBody(r); err != nil {
		return err
	}
	p, err := h.recentlySignedIn(r, c)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := webreq.CheckCredentialID(id); err != nil {
		return err
	}
	if _, err := h.d.TwoStep.ResendPhone(r.Context(), c.realm, h.request(r, c, ""), p.Account, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
