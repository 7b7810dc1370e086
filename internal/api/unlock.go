package api

import (
	"net/http"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/web/webreq"
)

// Self-service unlock and the "this wasn't me" link (DESIGN §5). Both start
// an unlock flow, which continues through POST /api/v1/flows/{id}:
// submit_code (and resend_code), then submit_password for a lock of
// unfamiliar devices or set_new_password for a suspicious lock; the
// completed flow carries a session. Without an unlock service both routes
// answer not_found.

// unlockBody is the body of POST /api/v1/unlock.
type unlockBody struct {
	Identifier  string `json:"identifier"`
	DeviceToken string `json:"device_token"`
}

func (b *unlockBody) check() error {
	return checkLengths("identifier", b.Identifier, "device_token", b.DeviceToken)
}

// notMeBody is the body of POST /api/v1/not-me: the token of the link in a
// sign-in alert.
type notMeBody struct {
	Token       string `json:"token"`
	DeviceToken string `json:"device_token"`
}

func (b *notMeBody) check() error {
	if b.Token == "" {
		return ninsho.FieldError(ninsho.CodeFieldRequired, "token")
	}
	return checkLengths("token", b.Token, "device_token", b.DeviceToken)
}

// unlock serves POST /api/v1/unlock {"identifier"}: a code goes to a
// verified channel of the account and the flow answers 200 at step
// verification_code.
func (h *Handler) unlock(w http.ResponseWriter, r *http.Request, c *call) error {
	if h.d.Unlock == nil {
		return ninsho.E(ninsho.CodeNotFound)
	}
	var b unlockBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	ans, err := h.d.Unlock.Start(r.Context(), c.realm, h.request(r, c, b.DeviceToken), b.Identifier)
	return h.writeFlow(w, r, c, http.StatusOK, ans, err)
}

// notMe serves POST /api/v1/not-me {"token"}: every session of the account
// ends, the account is locked as suspicious and the unlock flow answers 200
// at step verification_code. An unknown, used or expired token is a
// not_found problem. A session cookie sent along is cleared: it has ended.
func (h *Handler) notMe(w http.ResponseWriter, r *http.Request, c *call) error {
	if h.d.Unlock == nil {
		return ninsho.E(ninsho.CodeNotFound)
	}
	var b notMeBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	ans, err := h.d.Unlock.NotMe(r.Context(), c.realm, h.request(r, c, b.DeviceToken), b.Token)
	err = spentLink(err)
	if ans != nil && ans.Flow != nil {
		if _, fromCookie := webreq.SessionToken(r); fromCookie {
			h.cookies.ClearSession(w, r)
		}
	}
	return h.writeFlow(w, r, c, http.StatusOK, ans, err)
}
