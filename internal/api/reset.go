package api

import (
	"net/http"

	"github.com/ninsho/ninsho/internal/ninsho"
)

// The password assistant (issue 4). POST /api/v1/password-assistant starts a
// flow of kind password_assistant, which continues through
// POST /api/v1/flows/{id}: submit_code (resend_code, switch_channel), then at
// step choose either choose_sign_in_with_code or set_new_password; the
// completed flow carries a session. Without a reset service the route
// answers not_found.

// resetBody is the body of POST /api/v1/password-assistant.
type resetBody struct {
	Identifier  string `json:"identifier"`
	DeviceToken string `json:"device_token"`
}

func (b *resetBody) check() error {
	return checkLengths("identifier", b.Identifier, "device_token", b.DeviceToken)
}

// passwordAssistant serves POST /api/v1/password-assistant {"identifier"}: a
// code goes to the identifier and the flow answers 200 at step
// verification_code. Explicit realms answer account_not_found for an unknown
// identifier; safe realms answer as for a known one and send nothing.
func (h *Handler) passwordAssistant(w http.ResponseWriter, r *http.Request, c *call) error {
	if h.d.Reset == nil {
		return ninsho.E(ninsho.CodeNotFound)
	}
	var b resetBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	ans, err := h.d.Reset.Start(r.Context(), c.realm, h.request(r, c, b.DeviceToken), b.Identifier)
	return h.writeFlow(w, r, c, http.StatusOK, ans, err)
}
