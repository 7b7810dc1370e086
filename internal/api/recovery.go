package api

import (
	"net/http"
	"time"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/recovery"
)

// Document recovery of two-step verification (issue 13, internal/recovery):
// POST /api/v1/recovery {"identifier", "password"} proves the password (the
// second factor is not asked) and answers a flow of kind recovery at step
// upload; PUT /api/v1/recovery/{id}/documents/{slot}?document_type=… takes
// one file as the raw body (at most recovery.MaxDocumentSize; its format is
// found in its bytes, the Content-Type is ignored); POST
// /api/v1/flows/{id} submit_documents opens the case (cancel drops the
// draft); POST /api/v1/recovery/cancel {"token"} cancels an open case with
// the link of its confirmation. The flow issues no session. Without a
// recovery service the routes answer not_found.

func (h *Handler) routesRecovery() {
	h.mux.Handle("POST /api/v1/recovery", h.handle(h.recoveryStart))
	h.mux.Handle("PUT /api/v1/recovery/{id}/documents/{slot}", h.handle(h.recoveryUpload))
	h.mux.Handle("POST /api/v1/recovery/cancel", h.handle(h.recoveryCancel))
}

type recoveryBody struct {
	Identifier  string `json:"identifier"`
	Password    string `json:"password"`
	DeviceToken string `json:"device_token"`
}

func (b *recoveryBody) check() error {
	return checkLengths("identifier", b.Identifier, "password", b.Password, "device_token", b.DeviceToken)
}

func (h *Handler) recoveryStart(w http.ResponseWriter, r *http.Request, c *call) error {
	if h.d.Recovery == nil {
		return ninsho.E(ninsho.CodeNotFound)
	}
	var b recoveryBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	ans, err := h.d.Recovery.Start(r.Context(), c.realm, h.request(r, c, b.DeviceToken),
		recovery.Input{Identifier: b.Identifier, Password: b.Password})
	return h.writeFlow(w, r, c, http.StatusOK, ans, err)
}

// recoveryUpload reads the raw body through a reader that stops one byte
// past the document limit (document_too_large); nothing more is buffered.
func (h *Handler) recoveryUpload(w http.ResponseWriter, r *http.Request, c *call) error {
	if h.d.Recovery == nil {
		return ninsho.E(ninsho.CodeNotFound)
	}
	id := r.PathValue("id")
	if !ninsho.ValidID(id) {
		return ninsho.E(ninsho.CodeFlowNotFound)
	}
	req := h.request(r, c, "")
	f, err := h.d.Flows.Load(r.Context(), c.realm.ID, id, req)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	if err := checkLengths("document_type", q.Get("document_type")); err != nil {
		return err
	}
	// Only this route may take longer than the server's read timeout.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(recovery.UploadTime))
	_ = rc.SetWriteDeadline(time.Now().Add(recovery.UploadTime + time.Minute))
	body := http.MaxBytesReader(w, r.Body, recovery.MaxDocumentSize+1)
	ans, err := h.d.Recovery.Upload(r.Context(), f, req, recovery.Upload{
		Slot: r.PathValue("slot"), DocumentType: q.Get("document_type"), Body: body,
	})
	if ans == nil {
		if err == nil {
			err = ninsho.Internal("api: upload returned neither answer nor error")
		}
		return err
	}
	return h.writeFlow(w, r, c, http.StatusOK, ans, err)
}

type recoveryCancelBody struct {
	Token string `json:"token"`
}

func (b *recoveryCancelBody) check() error { return checkLengths("token", b.Token) }

// recoveryCancelJSON is the answer of POST /api/v1/recovery/cancel.
type recoveryCancelJSON struct {
	Reference string `json:"reference"`
	Status    string `json:"status"`
}

func (h *Handler) recoveryCancel(w http.ResponseWriter, r *http.Request, c *call) error {
	if h.d.Recovery == nil {
		return ninsho.E(ninsho.CodeNotFound)
	}
	var b recoveryCancelBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	cs, err := h.d.Recovery.Cancel(r.Context(), c.realm, h.request(r, c, ""), b.Token)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, recoveryCancelJSON{Reference: cs.Reference, Status: string(cs.Status)})
}
