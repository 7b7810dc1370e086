package api

import (
	"net/http"

	"github.com/ninsho/ninsho/internal/device"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/trust"
)

// trustedRoutes adds the signed-in person's trusted devices: devices on
// which they asked not to be asked for the second factor again.
func (h *Handler) trustedRoutes() {
	h.mux.Handle("GET /api/v1/me/trusted-devices", h.handle(h.trustedDevices))
	h.mux.Handle("DELETE /api/v1/me/trusted-devices/{id}", h.handle(h.forgetTrustedDevice))
	h.mux.Handle("DELETE /api/v1/me/trusted-devices", h.handle(h.forgetTrustedDevices))
}

// trustService is the kit's trusted devices, or not_found when there are
// none (the routes then answer 404 like unknown ones).
func (h *Handler) trustService() (*trust.Service, error) {
	if h.d.Signin == nil || h.d.Signin.Kit == nil || h.d.Signin.Kit.Trust == nil {
		return nil, ninsho.E(ninsho.CodeNotFound)
	}
	return h.d.Signin.Kit.Trust, nil
}

// trustedDevicesJSON is the answer of GET /api/v1/me/trusted-devices.
type trustedDevicesJSON struct {
	Devices []trustedDeviceJSON `json:"devices"`
}

// trustedDeviceJSON is one trusted device as its owner sees it: the
// browser in words in the answer's language, the approximate network, and
// whether it is the device of the session asking.
type trustedDeviceJSON struct {
	ID         string `json:"id"`
	Browser    string `json:"browser"`
	Network    string `json:"network"`
	CreatedAt  string `json:"created_at"`
	LastUsedAt string `json:"last_used_at"`
	ExpiresAt  string `json:"expires_at"`
	Current    bool   `json:"current"`
}

// trustedDevices lists the devices the person trusts now, the most
// recently used first. Listing needs a recent sign-in (reauth_required).
func (h *Handler) trustedDevices(w http.ResponseWriter, r *http.Request, c *call) error {
	ts, err := h.trustService()
	if err != nil {
		return err
	}
	p, err := h.recentlySignedIn(r, c)
	if err != nil {
		return err
	}
	ds, err := ts.List(r.Context(), c.realm, p.Account.ID)
	if err != nil {
		return err
	}
	out := trustedDevicesJSON{Devices: []trustedDeviceJSON{}}
	for _, d := range ds {
		browser, _ := device.Describe(c.lang(), d.UserAgent)
		out.Devices = append(out.Devices, trustedDeviceJSON{
			ID: d.ID, Browser: browser, Network: d.Network,
			CreatedAt: timeText(d.CreatedAt), LastUsedAt: timeText(d.LastUsedAt), ExpiresAt: timeText(d.ExpiresAt),
			Current: p.Session.DeviceID != "" && p.Session.DeviceID == d.DeviceID,
		})
	}
	w.Header().Set("Content-Language", c.lang())
	return writeJSON(w, http.StatusOK, out)
}

// forgetTrustedDevice forgets one trusted device (not_found for an id of
// no device of the person's): its next sign-in asks the second factor.
func (h *Handler) forgetTrustedDevice(w http.ResponseWriter, r *http.Request, c *call) error {
	ts, err := h.trustService()
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
	if err := ts.Forget(r.Context(), c.realm, h.request(r, c, ""), p.Account.ID, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// forgetTrustedDevices forgets every trusted device of the person.
func (h *Handler) forgetTrustedDevices(w http.ResponseWriter, r *http.Request, c *call) error {
	ts, err := h.trustService()
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
	if _, err := ts.ForgetAll(r.Context(), c.realm, h.request(r, c, ""), p.Account.ID, trust.ReasonOwner); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
