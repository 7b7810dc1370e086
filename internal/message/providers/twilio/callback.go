package twilio

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // Twilio's signature scheme is HMAC-SHA1
	"encoding/base64"
	"github.com/ninsho/ninsho/internal/message/providers/hook"
	"github.com/ninsho/ninsho/internal/ninsho"
	"mime"
	"net/http"
	"net/url"
	"sort"

	"github.com/ninsho/ninsho/internal/message"
)

// SignatureHeader carries the signature of a callback.
const SignatureHeader = "X-Twilio-Signature"

// maxCallback bounds a status callback's body.
const maxCallback = 64 << 10

// Signature returns the X-Twilio-Signature of a POST to address with form,
// as Twilio documents it (https://www.twilio.com/docs/usage/security):
// base64 of HMAC-SHA1 keyed with the auth token over the full address
// (scheme, host, path and query) followed by every form parameter, sorted
// by name, as name and value with nothing between them (the values of a
// repeated name sorted too).
func Signature(authToken, address string, form url.Values) string {
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(address))
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		vs := append([]string(nil), form[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			mac.Write([]byte(k))
			mac.Write([]byte(v))
		}
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// SMSStatus maps a message's MessageStatus to a delivery status: queued,
// accepted, scheduled, sending and sent are sent; delivered and read are
// delivered; undelivered is undelivered; failed and canceled are failed.
// Other values report false.
func SMSStatus(s string) (message.DeliveryStatus, bool) {
	switch s {
	case "accepted", "scheduled", "queued", "sending", "sent":
		return message.DeliverySent, true
	case "delivered", "read":
		return message.DeliveryDelivered, true
	case "undelivered":
		return message.DeliveryUndelivered, true
	case "failed", "canceled":
		return message.DeliveryFailed, true
	}
	return "", false
}

// CallStatus maps a call's CallStatus to a delivery status: completed (the
// call was answered and the script read) is delivered; busy and no-answer
// are undelivered; failed and canceled are failed; queued, initiated,
// ringing and in-progress are sent. Other values report false.
func CallStatus(s string) (message.DeliveryStatus, bool) {
	switch s {
	case "queued", "initiated", "ringing", "in-progress":
		return message.DeliverySent, true
	case "completed":
		return message.DeliveryDelivered, true
	case "busy", "no-answer":
		return message.DeliveryUndelivered, true
	case "failed", "canceled":
		return message.DeliveryFailed, true
	}
	return "", false
}

// Handler returns the status callback handler, to be mounted at
// /hooks/<name>/ with that prefix stripped (it serves StatusPath). For a
// POST of application/x-www-form-urlencoded whose X-Twilio-Signature is the
// signature (Signature, compared in constant time) of the address Ninsho
// generated (CallbackURL of the query's m, not the request's Host) and the
// form, it records the MessageStatus (or CallStatus) as a delivery report of
// outbox message m through Config.Reports, and answers 204. Answers:
//   - 404 for another path, 405 for another method;
//   - 400 for a malformed or too large form (before the signature is
//     checked), a missing m, or neither MessageStatus nor CallStatus;
//   - 403 for a missing or wrong signature, or another AccountSid: nothing
//     changes;
//   - 204 for a status outside the lists of SMSStatus and CallStatus, an
//     unknown message and a replayed or late report: nothing changes;
//   - 503 when the report cannot be stored.
func (p *Provider) Handler() http.Handler {
	return http.HandlerFunc(p.serveStatus)
}

func (p *Provider) serveStatus(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != StatusPath {
		hook.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		hook.MethodNotAllowed(w, r, http.MethodPost)
		return
	}
	if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || ct != "application/x-www-form-urlencoded" {
		hook.Refuse(w, r, ninsho.CodeRequestInvalid, "")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxCallback)
	if err := r.ParseForm(); err != nil {
		hook.Refuse(w, r, ninsho.CodeRequestInvalid, "")
		return
	}
	id := r.URL.Query().Get("m")
	if id == "" {
		hook.Refuse(w, r, ninsho.CodeRequestInvalid, "m")
		return
	}
	want := Signature(p.cfg.AuthToken, p.CallbackURL(id), r.PostForm)
	if got := r.Header.Get(SignatureHeader); p.cfg.CallbackBase == "" ||
		!hmac.Equal([]byte(got), []byte(want)) {
		hook.Refuse(w, r, ninsho.CodeForbidden, "")
		return
	}
	if acc := r.PostForm.Get("AccountSid"); acc != "" && !hmac.Equal([]byte(acc), []byte(p.cfg.AccountSID)) {
		hook.Refuse(w, r, ninsho.CodeForbidden, "")
		return
	}
	var (
		status message.DeliveryStatus
		known  bool
		sid    string
	)
	switch {
	case r.PostForm.Has("MessageStatus"):
		status, known = SMSStatus(r.PostForm.Get("MessageStatus"))
		sid = r.PostForm.Get("MessageSid")
	case r.PostForm.Has("CallStatus"):
		status, known = CallStatus(r.PostForm.Get("CallStatus"))
		sid = r.PostForm.Get("CallSid")
	default:
		hook.Refuse(w, r, ninsho.CodeRequestInvalid, "MessageStatus")
		return
	}
	if known && p.cfg.Reports != nil {
		_, err := p.cfg.Reports.Record(r.Context(), message.DeliveryReport{
			Provider: p.cfg.Name, MessageID: id, ProviderMessageID: sid, Status: status,
		})
		if err != nil {
			hook.Unavailable(w, r)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}
