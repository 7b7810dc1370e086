package api

import (
	"net/http"

	"github.com/ninsho/ninsho/internal/closure"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// routesClosure adds closing the signed-in person's account.
func (h *Handler) routesClosure() {
	h.mux.Handle("GET /api/v1/me/close", h.handle(h.closeSummary))
	h.mux.Handle("POST /api/v1/me/close", h.handle(h.closeAccount))
}

// closureService is the closure service, or not_found without one.
func (h *Handler) closureService() (*closure.Service, error) {
	if h.d.Closure == nil {
		return nil, ninsho.E(ninsho.CodeNotFound)
	}
	return h.d.Closure, nil
}

// closeLossJSON is the answer of GET /api/v1/me/close: what closing the
// account will erase at its purge, and when the purge will happen.
type closeLossJSON struct {
	Email          *string `json:"email"`
	Phone          *string `json:"phone"`
	Name           string  `json:"name"`
	TwoStepMethods int     `json:"two_step_methods"`
	Passkeys       int     `json:"passkeys"`
	BackupCodes    int     `json:"backup_codes"`
	TrustedDevices int     `json:"trusted_devices"`
	Sessions       int     `json:"sessions"`
	HistoryEvents  int     `json:"history_events"`
	GraceDays      int     `json:"grace_days"`
	PurgeAt        string  `json:"purge_at"`
}

func (h *Handler) closeSummary(w http.ResponseWriter, r *http.Request, c *call) error {
	svc, err := h.closureService()
	if err != nil {
		return err
	}
	p, err := h.signedIn(r, c)
	if err != nil {
		return err
	}
	loss, err := svc.Summary(r.Context(), c.realm, p)
	if err != nil {
		return err
	}
	a := accountJSONOf(loss.Account)
	n := loss.Counts
	return writeJSON(w, http.StatusOK, closeLossJSON{
		Email: a.Email, Phone: a.Phone, Name: a.Name,
		TwoStepMethods: n.TwoStepMethods, Passkeys: n.Passkeys, BackupCodes: n.BackupCodes,
		TrustedDevices: n.TrustedDevices, Sessions: n.Sessions, HistoryEvents: n.HistoryEvents,
		GraceDays: int(loss.Grace.Hours() / 24), PurgeAt: timeText(loss.PurgeAt),
	})
}

// closeBody is the body of POST /api/v1/me/close.
type closeBody struct {
	Confirm bool `json:"confirm"`
}

func (b *closeBody) check() error { return nil }

func (h *Handler) closeAccount(w http.ResponseWriter, r *http.Request, c *call) error {
	svc, err := h.closureService()
	if err != nil {
		return err
	}
	p, err := h.signedIn(r, c)
	if err != nil {
		return err
	}
	var b closeBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	out, err := svc.Close(r.Context(), c.realm, h.request(r, c, ""), p, b.Confirm)
	if err != nil {
		return err
	}
	h.cookies.ClearSession(w, r)
	return writeJSON(w, http.StatusOK, map[string]string{
		"status": "closed", "closed_at": timeText(out.ClosedAt), "purge_at": timeText(out.PurgeAt),
	})
}
