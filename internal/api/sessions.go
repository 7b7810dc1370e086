package api

import (
	"net/http"
	"strings"

	"github.com/ninsho/ninsho/internal/device"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/risk"
	"github.com/ninsho/ninsho/internal/sessions"
	"github.com/ninsho/ninsho/internal/web/webreq"
)

// historyLimit is how many entries GET /api/v1/me/history answers at most,
// as many as the account page shows.
const historyLimit = 50

// sessionsRoutes adds the signed-in person's sessions, familiar devices and
// sign-in history with "this wasn't me".
func (h *Handler) sessionsRoutes() {
	h.mux.Handle("GET /api/v1/me/sessions", h.handle(h.listSessions))
	h.mux.Handle("DELETE /api/v1/me/sessions/{id}", h.handle(h.signOutSession))
	h.mux.Handle("DELETE /api/v1/me/sessions", h.handle(h.signOutOthers))
	h.mux.Handle("GET /api/v1/me/devices", h.handle(h.listDevices))
	h.mux.Handle("DELETE /api/v1/me/devices/{id}", h.handle(h.forgetDevice))
	h.mux.Handle("GET /api/v1/me/history", h.handle(h.history))
	h.mux.Handle("POST /api/v1/me/history/{id}/not-me", h.handle(h.historyNotMe))
}

// sessionsService is the sessions service, or not_found without one.
func (h *Handler) sessionsService() (*sessions.Service, error) {
	if h.d.Sessions == nil {
		return nil, ninsho.E(ninsho.CodeNotFound)
	}
	return h.d.Sessions, nil
}

// liveSessionJSON is one live session as its owner sees it. Never its token.
type liveSessionJSON struct {
	ID           string   `json:"id"`
	Current      bool     `json:"current"`
	Device       string   `json:"device"`
	Network      string   `json:"network"`
	StartedAt    string   `json:"started_at"`
	LastActiveAt string   `json:"last_active_at"`
	AAL          int      `json:"aal"`
	Methods      []string `json:"methods"`
}

// listSessions answers the live sessions of the account, newest first.
func (h *Handler) listSessions(w http.ResponseWriter, r *http.Request, c *call) error {
	svc, err := h.sessionsService()
	if err != nil {
		return err
	}
	p, err := h.signedIn(r, c)
	if err != nil {
		return err
	}
	ss, err := svc.List(r.Context(), c.realm, p.Session)
	if err != nil {
		return err
	}
	out := struct {
		Sessions []liveSessionJSON `json:"sessions"`
	}{Sessions: []liveSessionJSON{}}
	for _, s := range ss {
		words, _ := device.Describe(c.lang(), s.UserAgent)
		methods := s.Methods
		if methods == nil {
			methods = []string{}
		}
		out.Sessions = append(out.Sessions, liveSessionJSON{
			ID: s.ID, Current: s.ID == p.Session.ID, Device: words, Network: risk.Prefix(s.IP),
			StartedAt: timeText(s.CreatedAt), LastActiveAt: timeText(s.LastSeenAt), AAL: s.AAL, Methods: methods,
		})
	}
	w.Header().Set("Content-Language", c.lang())
	return writeJSON(w, http.StatusOK, out)
}

// signOutSession signs out one session of the account (the current one
// too); a recent sign-in is needed for another session, not for the
// current one (that is a sign-out, as POST /api/v1/signout).
func (h *Handler) signOutSession(w http.ResponseWriter, r *http.Request, c *call) error {
	svc, err := h.sessionsService()
	if err != nil {
		return err
	}
	if err := checkNoBody(r); err != nil {
		return err
	}
	p, err := h.signedIn(r, c)
	if err != nil {
		return err
	}
	if r.PathValue("id") != p.Session.ID {
		if err := h.d.Signin.RecentEnough(r.Context(), c.realm, p); err != nil {
			return err
		}
	}
	current, err := svc.SignOut(r.Context(), c.realm, h.request(r, c, ""), p.Session, r.PathValue("id"))
	if err != nil {
		return err
	}
	if _, fromCookie := webreq.SessionToken(r); current && fromCookie {
		h.cookies.ClearSession(w, r)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// signOutOthers signs out every session of the account but the current
// one; a recent sign-in is needed.
func (h *Handler) signOutOthers(w http.ResponseWriter, r *http.Request, c *call) error {
	svc, err := h.sessionsService()
	if err != nil {
		return err
	}
	if err := checkNoBody(r); err != nil {
		return err
	}
	p, err := h.recentlySignedIn(r, c)
	if err != nil {
		return err
	}
	n, err := svc.SignOutOthers(r.Context(), c.realm, h.request(r, c, ""), p.Session)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, struct {
		Revoked int `json:"revoked"`
	}{n})
}

// familiarDeviceJSON is one familiar device as its owner sees it.
type familiarDeviceJSON struct {
	ID           string `json:"id"`
	Current      bool   `json:"current"`
	Device       string `json:"device"`
	Network      string `json:"network"`
	FirstSeenAt  string `json:"first_seen_at"`
	LastSeenAt   string `json:"last_seen_at"`
	Trusted      bool   `json:"trusted"`
	TrustedUntil string `json:"trusted_until,omitempty"`
}

// listDevices answers the account's familiar devices.
func (h *Handler) listDevices(w http.ResponseWriter, r *http.Request, c *call) error {
	svc, err := h.sessionsService()
	if err != nil {
		return err
	}
	p, err := h.signedIn(r, c)
	if err != nil {
		return err
	}
	ds, err := svc.Devices(r.Context(), c.realm, p.Session)
	if err != nil {
		return err
	}
	out := struct {
		Devices []familiarDeviceJSON `json:"devices"`
	}{Devices: []familiarDeviceJSON{}}
	for _, d := range ds {
		words, _ := device.Describe(c.lang(), d.UserAgent)
		j := familiarDeviceJSON{ID: d.ID, Current: d.ID == p.Session.DeviceID, Device: words, Network: risk.Prefix(d.LastIP),
			FirstSeenAt: timeText(d.FirstAt), LastSeenAt: timeText(d.LastAt)}
		if d.TrustedUntil != nil {
			j.Trusted, j.TrustedUntil = true, timeText(*d.TrustedUntil)
		}
		out.Devices = append(out.Devices, j)
	}
	w.Header().Set("Content-Language", c.lang())
	return writeJSON(w, http.StatusOK, out)
}

// forgetDevice forgets one familiar device; a recent sign-in is needed.
func (h *Handler) forgetDevice(w http.ResponseWriter, r *http.Request, c *call) error {
	svc, err := h.sessionsService()
	if err != nil {
		return err
	}
	if err := checkNoBody(r); err != nil {
		return err
	}
	p, err := h.recentlySignedIn(r, c)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if _, err := svc.ForgetDevice(r.Context(), c.realm, h.request(r, c, ""), p.Session, id); err != nil {
		return err
	}
	if _, fromCookie := webreq.SessionToken(r); fromCookie && id == p.Session.DeviceID {
		h.cookies.ClearSession(w, r) // this device's sessions ended too
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// historyEntryJSON is one entry of the sign-in history.
type historyEntryJSON struct {
	ID      string   `json:"id"`
	Type    string   `json:"type"`
	At      string   `json:"at"`
	Failed  bool     `json:"failed"`
	IP      string   `json:"ip"`
	Network string   `json:"network"`
	Device  string   `json:"device"`
	Reasons []string `json:"reasons"`
	NotMe   bool     `json:"not_me"`
}

// history answers the sign-in history the account page shows, as JSON.
func (h *Handler) history(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := h.signedIn(r, c)
	if err != nil {
		return err
	}
	evs, err := h.d.Signin.History(r.Context(), p, historyLimit)
	if err != nil {
		return err
	}
	out := struct {
		Entries []historyEntryJSON `json:"entries"`
	}{Entries: []historyEntryJSON{}}
	for _, e := range evs {
		j := historyEntryJSON{
			ID: e.ID, Type: e.Type, At: timeText(e.At), IP: e.IP, Reasons: []string{},
			Failed: e.Type == event.TypeSigninFailed || e.Type == event.TypeAccountLocked || e.Type == event.TypeSigninSecondFactorFailed,
			NotMe:  h.d.Sessions != nil && sessions.CarriesNotMe(e, p.Session),
		}
		if j.Network, _ = e.Data["prefix"].(string); j.Network == "" {
			j.Network = risk.Prefix(e.IP)
		}
		if e.UserAgent != "" {
			j.Device, _ = device.Describe(c.lang(), e.UserAgent)
		}
		if event.ByStaff(e) {
			j.IP, j.Network, j.Device = "", "", "" // where staff work from is not the owner's to see
		}
		for _, r := range append(event.DataStrings(e.Data["reasons"]), event.DataStrings(e.Data["risk"])...) {
			if r = strings.TrimSpace(r); r != "" {
				j.Reasons = append(j.Reasons, r)
			}
		}
		out.Entries = append(out.Entries, j)
	}
	w.Header().Set("Content-Language", c.lang())
	return writeJSON(w, http.StatusOK, out)
}

// historyNotMe applies "this wasn't me" to one entry of the history: no
// recent sign-in is needed. It answers the unlock flow it started, like
// POST /api/v1/not-me.
func (h *Handler) historyNotMe(w http.ResponseWriter, r *http.Request, c *call) error {
	svc, err := h.sessionsService()
	if err != nil {
		return err
	}
	if err := checkNoBody(r); err != nil {
		return err
	}
	p, err := h.signedIn(r, c)
	if err != nil {
		return err
	}
	ans, err := svc.NotMe(r.Context(), c.realm, h.request(r, c, ""), p.Session, r.PathValue("id"))
	if ans != nil && ans.Flow != nil {
		if _, fromCookie := webreq.SessionToken(r); fromCookie {
			h.cookies.ClearSession(w, r)
		}
	}
	return h.writeFlow(w, r, c, http.StatusOK, ans, err)
}
