package api

import (
	"net/http"

	"github.com/ninsho/ninsho/internal/ninsho"
)

// Re-authentication (POST /api/v1/reauth): a signed-in person whose session
// is not recent enough for a sensitive change (reauth_required, 403) proves
// who they are again. The flow continues through POST /api/v1/flows/{id}
// with the same session (bearer or cookie): submit_password, then the
// second factor when the account has two-step verification on. It
// completes without a new session: the session it belongs to is recent
// again. Without a re-authentication service the route answers not_found.

// reauthBody is the body of POST /api/v1/reauth: all optional.
type reauthBody struct {
	Password    string `json:"password"`
	DeviceToken string `json:"device_token"`
}

func (b *reauthBody) check() error {
	return checkLengths("password", b.Password, "device_token", b.DeviceToken)
}

// reauth serves POST /api/v1/reauth: 201 with the flow at step password,
// or, with "password", the answer to it.
func (h *Handler) reauth(w http.ResponseWriter, r *http.Request, c *call) error {
	if h.d.Reauth == nil {
		return ninsho.E(ninsho.CodeNotFound)
	}
	p, err := h.signedIn(r, c)
	if err != nil {
		return err
	}
	var b reauthBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	ans, err := h.d.Reauth.Start(r.Context(), c.realm, h.request(r, c, b.DeviceToken), p, b.Password)
	return h.writeFlow(w, r, c, http.StatusCreated, ans, err)
}
