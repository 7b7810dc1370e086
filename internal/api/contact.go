package api

import (
	"net/http"

	"github.com/ninsho/ninsho/internal/contact"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/web/webreq"
)

// Contact change (POST /api/v1/me/email, POST /api/v1/me/phone): a
// signed-in person with a recent session (reauth_required otherwise)
// changes — or, without one, adds — the e-mail address or phone number. A
// code goes to the new address; the flow continues through
// POST /api/v1/flows/{id} with the same session (submit_code, resend_code)
// and completes with the account's identifiers (contact). The alert's undo
// link is POST /api/v1/contact-undo {"token"}. Without a contact service
// the routes answer not_found.

// contactJSONOf is the flow answer's "contact": on a change's completion
// both identifiers, always both keys, null for none ({"email": "…",
// "phone": null}); on its undo only {"restored": …}; nil (absent) when ans
// has none.
func contactJSONOf(c *flow.Contact) map[string]any {
	if c == nil {
		return nil
	}
	if c.Restored != nil {
		return map[string]any{"restored": *c.Restored}
	}
	orNull := func(v string) any {
		if v == "" {
			return nil
		}
		return v
	}
	return map[string]any{"email": orNull(c.Email), "phone": orNull(c.Phone)}
}

// contactBody is the body of POST /api/v1/me/email and /api/v1/me/phone.
type contactBody struct {
	Email       string `json:"email"`
	Phone       string `json:"phone"`
	DeviceToken string `json:"device_token"`
}

func (b *contactBody) check() error {
	return checkLengths("email", b.Email, "phone", b.Phone, "device_token", b.DeviceToken)
}

// routesContact registers the contact change routes.
func (h *Handler) routesContact() {
	h.mux.Handle("POST /api/v1/me/email", h.handle(h.contactStart(contact.KindEmail)))
	h.mux.Handle("POST /api/v1/me/phone", h.handle(h.contactStart(contact.KindPhone)))
	h.mux.Handle("POST /api/v1/contact-undo", h.handle(h.contactUndo))
}

// contactStart serves POST /api/v1/me/email and /api/v1/me/phone: 201 with
// the flow at step verification_code.
func (h *Handler) contactStart(kind contact.Kind) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		if h.d.Contact == nil {
			return ninsho.E(ninsho.CodeNotFound)
		}
		p, err := h.recentlySignedIn(r, c)
		if err != nil {
			return err
		}
		var b contactBody
		if err := decode(w, r, &b); err != nil {
			return err
		}
		typed := b.Email
		if kind == contact.KindPhone {
			typed = b.Phone
		}
		ans, err := h.d.Contact.Start(r.Context(), c.realm, h.request(r, c, b.DeviceToken), p, kind, typed)
		if err != nil {
			return err
		}
		return h.writeFlow(w, r, c, http.StatusCreated, ans, nil)
	}
}

// contactUndo serves POST /api/v1/contact-undo {"token"}: the change is
// undone where it can be, every session of the account ends, the account
// is locked as suspicious and the unlock flow answers 200 at step
// verification_code, with contact.restored. An unknown, used or expired
// token is a not_found problem. A session cookie sent along is cleared.
func (h *Handler) contactUndo(w http.ResponseWriter, r *http.Request, c *call) error {
	if h.d.Contact == nil {
		return ninsho.E(ninsho.CodeNotFound)
	}
	var b notMeBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	ans, err := h.d.Contact.Undo(r.Context(), c.realm, h.request(r, c, b.DeviceToken), b.Token)
	if err != nil && !ninsho.IsCode(err, ninsho.CodeAccountLocked) {
		return spentLink(err)
	}
	// Done, or done with no verified channel left (account_locked, kind
	// support): every session has ended either way.
	if _, fromCookie := webreq.SessionToken(r); fromCookie {
		h.cookies.ClearSession(w, r)
	}
	if err != nil {
		return err
	}
	return h.writeFlow(w, r, c, http.StatusOK, ans, nil)
}

// spentLink names the field of an unknown, used or expired link token
// (not_found on field token, whose message says the link can no longer be
// used); other errors pass unchanged.
func spentLink(err error) error {
	if ninsho.IsCode(err, ninsho.CodeNotFound) {
		return ninsho.FieldError(ninsho.CodeNotFound, "token")
	}
	return err
}
