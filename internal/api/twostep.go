package api

import (
	"encoding/base64"
	"net/http"

	"github.com/ninsho/ninsho/internal/identifier"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/twostep"
	"github.com/ninsho/ninsho/internal/web/webreq"
)

// twoStepRoutes registers the two-step verification settings of the
// signed-in person (/api/v1/me/two-step). Reading needs a session; every
// change needs a recent one (recentlySignedIn: 403 reauth_required).
func (h *Handler) twoStepRoutes() {
	h.mux.Handle("GET /api/v1/me/two-step", h.handle(h.twoStepShow))
	h.mux.Handle("DELETE /api/v1/me/two-step", h.handle(h.twoStepTurnOff))
	h.mux.Handle("POST /api/v1/me/two-step/totp", h.handle(h.twoStepBeginTOTP))
	h.mux.Handle("POST /api/v1/me/two-step/totp/{id}/verify", h.handle(h.twoStepProveTOTP))
	h.mux.Handle("POST /api/v1/me/two-step/backup-codes", h.handle(h.twoStepBackupCodes))
	h.mux.Handle("PUT /api/v1/me/two-step/preferred", h.handle(h.twoStepPreferred))
	h.mux.Handle("DELETE /api/v1/me/two-step/methods/{id}", h.handle(h.twoStepRemove))
}

// twoStepJSON is the answer of GET /api/v1/me/two-step.
type twoStepJSON struct {
	Enabled         bool                `json:"enabled"`
	Required        bool                `json:"required"`
	Preferred       *string             `json:"preferred"`
	Methods         []twoStepMethodJSON `json:"methods"`
	BackupCodesLeft int                 `json:"backup_codes_left"`
}

type twoStepMethodJSON struct {
	ID          string  `json:"id"`
	Method      string  `json:"method"`
	Label       string  `json:"label"`
	CreatedAt   string  `json:"created_at"`
	LastUsedAt  *string `json:"last_used_at"`
	Preferred   bool    `json:"preferred"`
	Destination string  `json:"destination,omitempty"`
}

func (h *Handler) twoStepShow(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := h.signedIn(r, c)
	if err != nil {
		return err
	}
	sum, err := h.d.TwoStep.Summarize(r.Context(), c.realm, p.Account)
	if err != nil {
		return err
	}
	out := twoStepJSON{Enabled: sum.Enabled, Required: sum.Required, Methods: []twoStepMethodJSON{}, BackupCodesLeft: sum.BackupCodesLeft}
	for _, m := range sum.Methods {
		mj := twoStepMethodJSON{ID: m.ID, Method: string(m.Kind), Label: m.Label, CreatedAt: timeText(m.CreatedAt), Preferred: m.Preferred}
		if m.LastUsedAt != nil {
			t := timeText(*m.LastUsedAt)
			mj.LastUsedAt = &t
		}
		if m.Phone != "" {
			mj.Destination = identifier.Mask(identifier.Normalized(m.Phone), c.realm.PhoneRegion)
		}
		if m.Preferred {
			id := m.ID
			out.Preferred = &id
		}
		out.Methods = append(out.Methods, mj)
	}
	return writeJSON(w, http.StatusOK, out)
}

// labelBody is the body of POST /api/v1/me/two-step/totp.
type labelBody struct {
	Label string `json:"label"`
}

func (b *labelBody) check() error { return nil } // twostep.CheckLabel checks it

// codeBody is the body of POST /api/v1/me/two-step/totp/{id}/verify.
type codeBody struct {
	Code string `json:"code"`
}

func (b *codeBody) check() error { return checkLengths("code", b.Code) }

// credentialBody is the body of PUT /api/v1/me/two-step/preferred.
type credentialBody struct {
	CredentialID string `json:"credential_id"`
}

func (b *credentialBody) check() error {
	if b.CredentialID == "" {
		return ninsho.FieldError(ninsho.CodeFieldRequired, "credential_id")
	}
	return nil
}

// decodeOptional decodes a JSON body into dst when the request has one.
func decodeOptional(w http.ResponseWriter, r *http.Request, dst checker) error {
	if r.ContentLength == 0 && r.Header.Get("Content-Type") == "" {
		return dst.check()
	}
	return decode(w, r, dst)
}

func (h *Handler) twoStepBeginTOTP(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := h.recentlySignedIn(r, c)
	if err != nil {
		return err
	}
	var b labelBody
	if err := decodeOptional(w, r, &b); err != nil {
		return err
	}
	en, err := h.d.TwoStep.BeginLabeledTOTP(r.Context(), c.realm, h.request(r, c, ""), p.Account, b.Label)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]string{
		"credential_id":  en.CredentialID,
		"secret":         en.Secret,
		"secret_grouped": en.Grouped,
		"otpauth_url":    en.URL,
		"qr_png":         base64.StdEncoding.EncodeToString(en.PNG),
	})
}

func (h *Handler) twoStepProveTOTP(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := h.recentlySignedIn(r, c)
	if err != nil {
		return err
	}
	var b codeBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := webreq.CheckCredentialID(id); err != nil {
		return err
	}
	proved, err := h.d.TwoStep.ProveTOTP(r.Context(), c.realm, h.request(r, c, ""), p.Account, id, b.Code)
	if err != nil {
		return err
	}
	return h.writeProved(w, r, c, p, id, proved)
}

// provedJSON is the answer to every method's proof (authenticator app,
// phone, passkey), one shape for all.
type provedJSON struct {
	CredentialID    string `json:"credential_id"`
	Method          string `json:"method"`
	Enabled         bool   `json:"enabled"`
	TurnedOn        bool   `json:"turned_on"`
	BackupCodesLeft int    `json:"backup_codes_left"`
}

// writeProved answers 200 provedJSON for the method id that proved was the
// result of proving.
func (h *Handler) writeProved(w http.ResponseWriter, r *http.Request, c *call, p *signin.Principal, id string, proved *twostep.Proved) error {
	// The session has just shown this factor.
	if err := h.d.Signin.Elevate(r.Context(), p, proved.SessionMethod); err != nil {
		return err
	}
	left, err := h.d.TwoStep.BackupCodesLeft(r.Context(), c.realm, p.Account)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, provedJSON{CredentialID: id, Method: string(proved.Method), Enabled: true, TurnedOn: proved.TurnedOn, BackupCodesLeft: left})
}

func (h *Handler) twoStepBackupCodes(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := h.recentlySignedIn(r, c)
	if err != nil {
		return err
	}
	if err := checkNoBody(r); err != nil {
		return err
	}
	codes, err := h.d.TwoStep.RegenerateBackupCodesOn(r.Context(), c.realm, h.request(r, c, ""), p.Account)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string][]string{"codes": codes})
}

func (h *Handler) twoStepPreferred(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := h.recentlySignedIn(r, c)
	if err != nil {
		return err
	}
	var b credentialBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	if !ninsho.ValidID(b.CredentialID) {
		return ninsho.FieldError(ninsho.CodeNotFound, "credential")
	}
	if err := h.d.TwoStep.SetPreferred(r.Context(), c.realm, h.request(r, c, ""), p.Account, b.CredentialID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) twoStepRemove(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := h.recentlySignedIn(r, c)
	if err != nil {
		return err
	}
	if err := checkNoBody(r); err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := webreq.CheckCredentialID(id); err != nil {
		return err
	}
	if err := h.d.TwoStep.Remove(r.Context(), c.realm, h.request(r, c, ""), p.Account, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) twoStepTurnOff(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := h.recentlySignedIn(r, c)
	if err != nil {
		return err
	}
	if err := checkNoBody(r); err != nil {
		return err
	}
	if err := h.d.TwoStep.TurnOff(r.Context(), c.realm, h.request(r, c, ""), p.Account); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
