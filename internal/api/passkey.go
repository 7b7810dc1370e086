package api

import (
	"encoding/json"
	"net/http"

	"github.com/ninsho/ninsho/internal/twostep"
	"github.com/ninsho/ninsho/internal/web/webreq"
)

// Passkey routes: passwordless sign-in, and enrolling passkeys on the
// signed-in account (docs/api.md, "Sign in with a passkey" and "Passkeys").
func (h *Handler) routesPasskey() {
	h.mux.Handle("POST /api/v1/signin/passkey", h.handle(h.signinPasskey))
	h.mux.Handle("GET /api/v1/me/two-step/passkeys", h.handle(h.listPasskeys))
	h.mux.Handle("POST /api/v1/me/two-step/passkeys", h.handle(h.beginPasskey))
	h.mux.Handle("POST /api/v1/me/two-step/passkeys/{id}", h.handle(h.finishPasskey))
}

// passkeySigninBody is the body of POST /api/v1/signin/passkey (it may be
// empty).
type passkeySigninBody struct {
	DeviceToken string `json:"device_token"`
}

func (b *passkeySigninBody) check() error { return checkLengths("device_token", b.DeviceToken) }

// passkeyBeginBody is the body of POST /api/v1/me/two-step/passkeys.
type passkeyBeginBody struct {
	Label string `json:"label"`
}

func (b *passkeyBeginBody) check() error { _, err := twostep.CheckLabel(b.Label); return err }

// passkeyFinishBody is the body of POST /api/v1/me/two-step/passkeys/{id}.
type passkeyFinishBody struct {
	Credential json.RawMessage `json:"credential"`
	Label      string          `json:"label"`
}

func (b *passkeyFinishBody) check() error { _, err := twostep.CheckLabel(b.Label); return err }

// optionalBody decodes a JSON body into dst when the request has one.
func optionalBody(w http.ResponseWriter, r *http.Request, dst checker) error {
	if r.ContentLength == 0 && r.Header.Get("Content-Type") == "" {
		return dst.check()
	}
	return decode(w, r, dst)
}

func (h *Handler) signinPasskey(w http.ResponseWriter, r *http.Request, c *call) error {
	var b passkeySigninBody
	if err := optionalBody(w, r, &b); err != nil {
		return err
	}
	ans, err := h.d.Signin.StartPasskey(r.Context(), c.realm, h.request(r, c, b.DeviceToken))
	return h.writeFlow(w, r, c, http.StatusCreated, ans, err)
}

// passkeyJSON is one passkey of the account.
type passkeyJSON struct {
	ID         string  `json:"id"`
	Label      string  `json:"label"`
	CreatedAt  string  `json:"created_at"`
	LastUsedAt *string `json:"last_used_at"`
	Preferred  bool    `json:"preferred"`
}

func (h *Handler) listPasskeys(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := h.signedIn(r, c)
	if err != nil {
		return err
	}
	ms, err := h.d.TwoStep.Methods(r.Context(), c.realm, p.Account)
	if err != nil {
		return err
	}
	out := []passkeyJSON{}
	for _, m := range ms {
		if m.Kind != twostep.MethodPasskey {
			continue
		}
		pj := passkeyJSON{ID: m.ID, Label: m.Label, CreatedAt: timeText(m.CreatedAt), Preferred: m.Preferred}
		if m.LastUsedAt != nil {
			t := timeText(*m.LastUsedAt)
			pj.LastUsedAt = &t
		}
		out = append(out, pj)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"passkeys": out, "max": twostep.PasskeyLimit})
}

func (h *Handler) beginPasskey(w http.ResponseWriter, r *http.Request, c *call) error {
	var b passkeyBeginBody
	if err := optionalBody(w, r, &b); err != nil {
		return err
	}
	p, err := h.recentlySignedIn(r, c)
	if err != nil {
		return err
	}
	en, err := h.d.TwoStep.BeginPasskey(r.Context(), c.realm, h.request(r, c, ""), p.Account, b.Label)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{
		"id": en.CredentialID, "public_key": en.Options, "expires_at": timeText(en.ExpiresAt),
	})
}

func (h *Handler) finishPasskey(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	var b passkeyFinishBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	p, err := h.recentlySignedIn(r, c)
	if err != nil {
		return err
	}
	if err := webreq.CheckCredentialID(id); err != nil {
		return err
	}
	pr, err := h.d.TwoStep.FinishPasskey(r.Context(), c.realm, h.request(r, c, ""), p.Account, id, b.Label, b.Credential)
	if err != nil {
		return err
	}
	return h.writeProved(w, r, c, p, id, pr)
}
