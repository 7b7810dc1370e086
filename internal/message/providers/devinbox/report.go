package devinbox

import (
	"encoding/json"
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
// another provider is not changed. The answer is {"changed": true|false};
// a malformed body, status or id is 400 {"error": "request_invalid"}.
func (h *Handler) report(w http.ResponseWriter, r *http.Request) error {
	if h.Reports == nil {
		http.NotFound(w, r)
		return nil
	}
	var body struct {
		Status string `json:"status"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	st := message.DeliveryStatus("")
	if err := dec.Decode(&body); err == nil {
		st = message.DeliveryStatus(body.Status)
	}
	id := r.PathValue("id")
	if !st.Valid() || st == message.DeliveryQueued || !ninsho.ValidID(id) {
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
