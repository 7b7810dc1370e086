package api

import (
	"net/http"

	"github.com/ninsho/ninsho/internal/help"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// "Help me sign in" (internal/help): POST /api/v1/support-requests starts a
// request and sends a code to its contact; the flow continues through POST
// /api/v1/flows/{id} with submit_code (and resend_code), and the completed
// flow answers next.reference and next.due_at. Without a help service the
// route answers not_found.

// supportRequestBody is the body of POST /api/v1/support-requests.
type supportRequestBody struct {
	Identifier  string `json:"identifier"`
	Step        string `json:"step"`
	Reference   string `json:"reference"`
	Description string `json:"description"`
	Contact     string `json:"contact"`
	Locale      string `json:"locale"`
	DeviceToken string `json:"device_token"`
}

// check bounds the fields the form does not check itself; the identifier's
// length is refused by help.Check with the form's other refusals, so that
// a long identifier does not hide them.
func (b *supportRequestBody) check() error {
	return checkLengths("locale", b.Locale, "device_token", b.DeviceToken)
}

// routesHelp registers the help request route.
func (h *Handler) routesHelp() {
	h.mux.Handle("POST /api/v1/support-requests", h.handle(h.supportRequest))
}

// supportRequest serves POST /api/v1/support-requests: 201 at step
// verification_code, the code sent to the contact.
func (h *Handler) supportRequest(w http.ResponseWriter, r *http.Request, c *call) error {
	if h.d.Help == nil {
		return ninsho.E(ninsho.CodeNotFound)
	}
	var b supportRequestBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	req := h.request(r, c, b.DeviceToken)
	in := help.Input{
		Identifier: b.Identifier, Step: b.Step, Ref: b.Reference, Description: b.Description, Contact: b.Contact,
	}
	switch b.Locale {
	case "":
	case "ja", "en":
		req.Locale, req.LocaleChosen = b.Locale, true
	default:
		// Every refused field at once: the form's fields first, in its
		// order, then the locale.
		return ninsho.Fields(help.Check(c.realm, in), ninsho.FieldError(ninsho.CodeRequestInvalid, "locale"))
	}
	ans, err := h.d.Help.Start(r.Context(), c.realm, req, in)
	return h.writeFlow(w, r, c, http.StatusCreated, ans, err)
}
