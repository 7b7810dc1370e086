package web

import (
	"net/http"
	"time"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/trust"
)

// Trusted devices on the pages: the second-factor page of a sign-in offers
// "don't ask for a code on this device" (a checkbox posted as trust_device),
// and /account/trusted-devices lists the devices the person trusts, each
// with its browser, network, first and last use and expiry, with a button
// to forget one and one to forget them all. No JavaScript.

// TrustedDevicesPath is the page of the signed-in person's trusted devices.
const TrustedDevicesPath = "/account/trusted-devices"

// trustedView is the trusted-devices part of a page.
type trustedView struct {
	// Offer shows the checkbox on the second-factor page; Checked keeps
	// it ticked when the page is shown again after a refused code.
	Offer, Checked bool
	// Days is how long a trusted device skips the factor in the realm.
	Days int
	// Devices is the list page's rows; Zone the catalogue key of the zone
	// their times are in.
	Devices []trustedRow
	Zone    string
}

// trustedRow is one trusted device as the list page shows it.
type trustedRow struct {
	ID, Browser, Network        string
	Created, LastUsed, Expires  string
	CreatedISO, LastISO, ExpISO string
	Current                     bool
}

// trustedRoutes adds the trusted-devices page and its form.
func (h *Handler) trustedRoutes() {
	h.mux.Handle("GET "+TrustedDevicesPath, h.handle(h.trustedDevices))
	h.mux.Handle("POST "+TrustedDevicesPath, h.handle(h.forgetTrusted))
}

// trustService is the sign-in kit's trusted devices, nil when there are
// none.
func (h *Handler) trustService() *trust.Service {
	if h.d.Signin == nil || h.d.Signin.Kit == nil {
		return nil
	}
	return h.d.Signin.Kit.Trust
}

// offerTrust offers, on the second-factor page p of f, not to ask for the
// factor again on this device: for a sign-in only (the password assistant
// and unlock are always asked), and only where devices can be trusted.
func (h *Handler) offerTrust(r *http.Request, c *call, p *page, f *flow.Flow) {
	if h.trustService() == nil || f.Kind != flow.KindSignin {
		return
	}
	p.Trusted = &trustedView{Offer: true, Checked: trustRequested(r), Days: int(c.realm.TrustedDeviceFor() / (24 * time.Hour))}
}

// trustRequested reports whether the second-factor form asked to trust
// this device.
func trustRequested(r *http.Request) bool { return r.PostForm.Get("trust_device") == "1" }

// trustedDevices shows the list (a recent sign-in first: ReauthPath).
func (h *Handler) trustedDevices(w http.ResponseWriter, r *http.Request, c *call) error {
	ts := h.trustService()
	if ts == nil {
		return ninsho.E(ninsho.CodeNotFound)
	}
	pr, err := h.recentlySignedIn(w, r, c)
	if pr == nil || err != nil {
		return err
	}
	ds, err := ts.List(r.Context(), c.realm, pr.Account.ID)
	if err != nil {
		return err
	}
	p := h.newPage(r, c.realm, c.locale, "page.trusted_devices.title")
	loc, zone := realmZone(c.realm)
	v := &trustedView{Devices: []trustedRow{}, Zone: zone}
	at := func(t time.Time) (string, string) {
		return historyTime(c.locale, t.In(loc)), t.UTC().Format(time.RFC3339)
	}
	for _, d := range ds {
		row := trustedRow{ID: d.ID, Browser: describeUA(c.locale, d.UserAgent), Network: d.Network,
			Current: pr.Session.DeviceID != "" && pr.Session.DeviceID == d.DeviceID}
		row.Created, row.CreatedISO = at(d.CreatedAt)
		row.LastUsed, row.LastISO = at(d.LastUsedAt)
		row.Expires, row.ExpISO = at(d.ExpiresAt)
		v.Devices = append(v.Devices, row)
	}
	p.Trusted = v
	switch r.URL.Query().Get("done") {
	case "forgot":
		p.Notice = "trusted_devices.notice.forgot"
	case "forgot_all":
		p.Notice = "trusted_devices.notice.forgot_all"
	}
	h.render(w, r, http.StatusOK, "trusted_devices", p)
	return nil
}

// forgetTrusted forgets one device (action forget, id) or all of them
// (action forget_all) and goes back to the list with a notice. An id of no
// device of the person's is not_found.
func (h *Handler) forgetTrusted(w http.ResponseWriter, r *http.Request, c *call) error {
	ts := h.trustService()
	if ts == nil {
		return ninsho.E(ninsho.CodeNotFound)
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	pr, err := h.signedIn(w, r, c)
	if pr == nil || err != nil {
		return err
	}
	req := h.request(r, c)
	done := ""
	switch r.PostForm.Get("action") {
	case "forget":
		id, err := formValue(r, "id")
		if err != nil {
			return err
		}
		if err := ts.Forget(r.Context(), c.realm, req, pr.Account.ID, id); err != nil {
			return err
		}
		done = "forgot"
	case "forget_all":
		if _, err := ts.ForgetAll(r.Context(), c.realm, req, pr.Account.ID, trust.ReasonOwner); err != nil {
			return err
		}
		done = "forgot_all"
	default:
		return ninsho.FieldError(ninsho.CodeActionUnknown, "action")
	}
	http.Redirect(w, r, TrustedDevicesPath+"?done="+done, http.StatusSeeOther)
	return nil
}
