package api

import (
	"net/http"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/profile"
	"github.com/ninsho/ninsho/internal/web/webreq"
)

// profileRoutes registers the owner's settings that need no code: removing
// the e-mail address or phone number, the password, the name and language
// (internal/profile). Every one needs a recent sign-in (recentlySignedIn:
// 403 reauth_required); without Deps.Profile they are not served.
func (h *Handler) profileRoutes() {
	if h.d.Profile == nil {
		return
	}
	h.mux.Handle("DELETE /api/v1/me/email", h.handle(h.removeIdentifier(profile.KindEmail)))
	h.mux.Handle("DELETE /api/v1/me/phone", h.handle(h.removeIdentifier(profile.KindPhone)))
	h.mux.Handle("POST /api/v1/me/password", h.handle(h.changePassword))
	h.mux.Handle("PATCH /api/v1/me", h.handle(h.updateProfile))
}

// removeIdentifier answers DELETE /api/v1/me/email and /api/v1/me/phone
// with the body of GET /api/v1/me.
func (h *Handler) removeIdentifier(kind profile.Kind) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		if err := checkNoBody(r); err != nil {
			return err
		}
		p, err := h.recentlySignedIn(r, c)
		if err != nil {
			return err
		}
		a, err := h.d.Profile.Remove(r.Context(), c.realm, h.request(r, c, ""), p, kind)
		if err != nil {
			return err
		}
		out, err := h.meAnswer(r, c, a, p.Session)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, out)
	}
}

// passwordBody is the body of POST /api/v1/me/password. The new password's
// fields are named as in the password assistant; sign_out_others defaults
// to true.
type passwordBody struct {
	CurrentPassword      string `json:"current_password"`
	Password             string `json:"password"`
	PasswordConfirmation string `json:"password_confirmation"`
	SignOutOthers        *bool  `json:"sign_out_others"`
}

func (b *passwordBody) check() error {
	if err := webreq.CheckLength("password", b.CurrentPassword); err != nil {
		ninsho.ErrorOf(err).Field = "current_password"
		return err
	}
	return checkLengths("password", b.Password, "password_confirmation", b.PasswordConfirmation)
}

// passwordChangedJSON is the answer of POST /api/v1/me/password.
type passwordChangedJSON struct {
	SignedOutOthers int `json:"signed_out_others"`
}

func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request, c *call) error {
	var b passwordBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	p, err := h.recentlySignedIn(r, c)
	if err != nil {
		return err
	}
	out, err := h.d.Profile.ChangePassword(r.Context(), c.realm, h.request(r, c, ""), p, profile.PasswordInput{
		Current: b.CurrentPassword, Password: b.Password, PasswordConfirmation: b.PasswordConfirmation,
		SignOutOthers: b.SignOutOthers == nil || *b.SignOutOthers,
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, passwordChangedJSON{SignedOutOthers: out.SignedOutOthers})
}

// profileBody is the body of PATCH /api/v1/me: the fields sent change.
type profileBody struct {
	Name   *string `json:"name"`
	Locale *string `json:"locale"`
}

func (b *profileBody) check() error {
	var pairs []string
	if b.Name != nil {
		pairs = append(pairs, "name", *b.Name)
	}
	if b.Locale != nil {
		pairs = append(pairs, "locale", *b.Locale)
	}
	return checkLengths(pairs...)
}

func (h *Handler) updateProfile(w http.ResponseWriter, r *http.Request, c *call) error {
	var b profileBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	p, err := h.recentlySignedIn(r, c)
	if err != nil {
		return err
	}
	a, err := h.d.Profile.UpdateProfile(r.Context(), c.realm, h.request(r, c, ""), p, profile.Update{Name: b.Name, Locale: b.Locale})
	if err != nil {
		return err
	}
	out, err := h.meAnswer(r, c, a, p.Session)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}
