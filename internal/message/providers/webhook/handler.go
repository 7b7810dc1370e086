package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/ninsho/ninsho/internal/message/providers/hook"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// Callback limits.
const (
	// MaxCallback is the largest callback body the Handler reads.
	MaxCallback = 16 << 10
	// MaxSkew is how far a callback's X-Ninsho-Timestamp may be from the
	// Handler's clock, either way.
	MaxSkew = 5 * time.Minute
)

// Callback is the JSON body a gateway POSTs to callback_url.
type Callback struct {
	// ID is the outbox message id (the request's "id").
	ID string `json:"id"`
	// Status is "sent", "delivered", "undelivered" or "failed".
	Status string `json:"status"`
	// ProviderMessageID is the gateway's own id of the message; optional,
	// informative.
	ProviderMessageID string `json:"provider_message_id,omitempty"`
}

// Recorder records delivery reports (*message.Reports).
type Recorder interface {
	Record(ctx context.Context, r message.DeliveryReport) (bool, error)
}

// HandlerConfig configures a Handler.
type HandlerConfig struct {
	Name    string // the provider's name (Config.Name), default "webhook"
	Secret  []byte // the provider's secret (Config.Secret)
	Reports Recorder
	Clock   ninsho.Clock // default ninsho.SystemClock
}

// Handler receives a gateway's status callbacks. The server mounts it at
// /hooks/<name>/ with that prefix stripped, so it serves
//
//	POST /status
//
// A callback is answered 204 once its report is recorded (which changes
// the message only when the status moves it forward, so a repeated or late
// callback is answered 204 and changes nothing). It is refused, changing
// nothing, with 413 when the body is over MaxCallback bytes; 401 when
// X-Ninsho-Signature is missing or is not the signature of the body and
// X-Ninsho-Timestamp under the secret, or the timestamp is more than MaxSkew
// from now; 400 when the body is not a JSON object with an "id" and a known
// "status"; 405 for another method and 404 for another path. A store
// failure is answered 503 so that the gateway tries again. Answers are
// short plain text; none echoes the request.
type Handler struct {
	name    string
	secret  []byte
	reports Recorder
	clock   ninsho.Clock
}

// NewHandler checks cfg and returns the callback handler.
func NewHandler(cfg HandlerConfig) (*Handler, error) {
	if len(cfg.Secret) < MinSecret {
		return nil, fmt.Errorf("webhook: secret must be at least %d bytes", MinSecret)
	}
	if cfg.Reports == nil {
		return nil, errors.New("webhook: handler needs reports")
	}
	if cfg.Name == "" {
		cfg.Name = "webhook"
	}
	if cfg.Clock == nil {
		cfg.Clock = ninsho.SystemClock{}
	}
	return &Handler{name: cfg.Name, secret: bytes.Clone(cfg.Secret), reports: cfg.Reports, clock: cfg.Clock}, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/status" {
		hook.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		hook.MethodNotAllowed(w, r, http.MethodPost)
		return
	}
	if r.ContentLength > MaxCallback {
		hook.Refuse(w, r, ninsho.CodeBodyTooLarge, "")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxCallback))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			hook.Refuse(w, r, ninsho.CodeBodyTooLarge, "")
			return
		}
		hook.Refuse(w, r, ninsho.CodeRequestInvalid, "")
		return
	}
	if !h.authentic(r.Header, body) {
		hook.Refuse(w, r, ninsho.CodeSignatureInvalid, "")
		return
	}
	var cb Callback
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&cb); err != nil || dec.More() || cb.ID == "" || len(cb.ID) > 100 {
		hook.Refuse(w, r, ninsho.CodeRequestInvalid, "id")
		return
	}
	st := message.DeliveryStatus(cb.Status)
	if !st.Valid() || st == message.DeliveryQueued {
		hook.Refuse(w, r, ninsho.CodeRequestInvalid, "status")
		return
	}
	if _, err := h.reports.Record(r.Context(), message.DeliveryReport{Provider: h.name, MessageID: cb.ID, Status: st}); err != nil {
		hook.Unavailable(w, r)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// authentic reports whether the headers carry a timestamp within MaxSkew of
// now and the signature of body at that timestamp (compared in constant
// time).
func (h *Handler) authentic(hd http.Header, body []byte) bool {
	ts, sig := hd.Get(HeaderTimestamp), hd.Get(HeaderSignature)
	if ts == "" || sig == "" || len(ts) > 20 {
		return false
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || strings.HasPrefix(ts, "+") {
		return false
	}
	if !hmac.Equal([]byte(Sign(h.secret, ts, body)), []byte(sig)) {
		return false
	}
	skew := h.clock.Now().Sub(time.Unix(sec, 0))
	return skew <= MaxSkew && skew >= -MaxSkew
}
