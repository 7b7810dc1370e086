package kannel

import (
	"github.com/ninsho/ninsho/internal/message/providers/hook"
	"github.com/ninsho/ninsho/internal/ninsho"
	"net/http"
	"net/url"
	"strconv"

	"github.com/ninsho/ninsho/internal/message"
)

// Handler receives Kannel's delivery reports. The server mounts it at
// /hooks/<name>/ with that prefix stripped, so it serves
//
//	GET or POST /dlr?m=<outbox id>&t=<token>&type=<Kannel DLR type>
//
// the dlr-url Sender.DLRURL gives Kannel. The token authenticates the
// callback (message.CallbackTokens, compared in constant time): Kannel
// cannot sign its callbacks, so only who saw the address can report on the
// message. Answers, all text/plain:
//
//   - 200 "ok": the report was recorded, or changed nothing because the
//     message already had that status or a final one (reports are forward
//     only, so a replay is harmless) or is no longer stored;
//   - 200 "ignored": a report type Ninsho does not show (4, buffered);
//   - 400: a query that is not one, or without m, t or a known type;
//   - 403: a token that is missing or not the message's; nothing changes;
//   - 404 and 405: another path or method;
//   - 503: the report could not be stored (Kannel does not retry, the
//     next report will move the message).
//
// Report types map to delivery statuses: 1 delivered, 2 undelivered (the
// phone was not reached), 8 sent (the SMSC accepted it), 16 failed (the
// SMSC refused it).
type Handler struct {
	name    string
	tokens  message.CallbackTokens
	reports *message.Reports
}

// NewHandler returns the delivery report handler of the provider named name,
// recording reports in reports.
func NewHandler(name string, tokens message.CallbackTokens, reports *message.Reports) *Handler {
	return &Handler{name: name, tokens: tokens, reports: reports}
}

// statusOf maps Kannel's report types to delivery statuses.
var statusOf = map[int]message.DeliveryStatus{
	DLRDelivered:   message.DeliveryDelivered,
	DLRUndelivered: message.DeliveryUndelivered,
	DLRSubmitted:   message.DeliverySent,
	DLRRejected:    message.DeliveryFailed,
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/dlr" {
		hook.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		hook.MethodNotAllowed(w, r, "GET, POST")
		return
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		hook.Refuse(w, r, ninsho.CodeRequestInvalid, "")
		return
	}
	id, token := q.Get("m"), q.Get("t")
	if id == "" {
		hook.Refuse(w, r, ninsho.CodeRequestInvalid, "m")
		return
	}
	if !h.tokens.Valid(h.name, id, token) {
		hook.Refuse(w, r, ninsho.CodeForbidden, "")
		return
	}
	typ, err := strconv.Atoi(q.Get("type"))
	if err != nil {
		hook.Refuse(w, r, ninsho.CodeRequestInvalid, "type")
		return
	}
	if typ == DLRBuffered {
		answer(w, http.StatusOK, "ignored")
		return
	}
	st, ok := statusOf[typ]
	if !ok {
		hook.Refuse(w, r, ninsho.CodeRequestInvalid, "type")
		return
	}
	if _, err := h.reports.Record(r.Context(), message.DeliveryReport{Provider: h.name, MessageID: id, Status: st}); err != nil {
		hook.Unavailable(w, r)
		return
	}
	answer(w, http.StatusOK, "ok")
}

func answer(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body + "\n"))
}
