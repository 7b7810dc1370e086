package devinbox

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"

	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// Provider is the provider name the development inbox's reports carry.
const Provider = "devinbox"

// report plays a provider's delivery report in development:
//
//	POST /dev/api/messages/{id}/delivery  {"status": "undelivered"}
//
// id is the outbox id of a message (the id the listing shows); status is
// sent, delivered, undelivered or failed. It calls message.Reports.Record
// with provider devinbox, so the same rules apply as to a real callback:
// the status only moves forward, and a message that went out through
// another provider is not changed. The answer is {"changed": true|false}.
// Anything else is 400 {"error": "request_invalid"} and records nothing: a
// Content-Type other than application/json, a body that is not exactly one
// JSON object {"status": …} (unknown fields, trailing data, over 4 KiB), a
// status outside the list, an id that is not an id or names no message.
func (h *Handler) report(w http.ResponseWriter, r *http.Request) error {
	if h.Reports == nil {
		http.NotFound(w, r)
		return nil
	}
	id := r.PathValue("id")
	st, ok := reportStatus(w, r)
	if ok && ninsho.ValidID(id) {
		_, err := h.Reports.Store.Delivery(r.Context(), id)
		if err != nil && !ninsho.IsCode(err, ninsho.CodeNotFound) {
			return err
		}
		ok = err == nil
	} else {
		ok = false
	}
	if !ok {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		return json.NewEncoder(w).Encode(map[string]string{"error": string(ninsho.CodeRequestInvalid)})
	}
	changed, err := h.Reports.Record(r.Context(), message.DeliveryReport{Provider: Provider, MessageID: id, Status: st})
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	return json.NewEncoder(w).Encode(map[string]bool{"changed": changed})
}

// reportStatus reads the status of a report body, strictly: ok is false
// unless r is application/json holding one object with a valid status
// (not queued) and nothing else.
func reportStatus(w http.ResponseWriter, r *http.Request) (message.DeliveryStatus, bool) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return "", false
	}
	var body struct {
		Status *string `json:"status"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || body.Status == nil {
		return "", false
	}
	if _, err := dec.Token(); err != io.EOF {
		return "", false
	}
	st := message.DeliveryStatus(*body.Status)
	return st, st.Valid() && st != message.DeliveryQueued
}
