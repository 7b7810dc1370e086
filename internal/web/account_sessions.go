package web

import (
	"net/http"
	"net/url"
	"time"

	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/risk"
	"github.com/ninsho/ninsho/internal/sessions"
	"github.com/ninsho/ninsho/internal/signin"
)

// Sessions and devices on the pages: /account/sessions lists the live
// sessions (the current one marked) with "sign out" each and "sign out
// everywhere else", and the familiar devices with "forget" each; the
// account page's history links the entries that carry "this wasn't me"
// (sessions.CarriesNotMe) to /account/history/{id}/not-me, a confirmation
// whose button secures the account. No JavaScript.

// SessionsPath is the page of the signed-in person's sessions and devices.
const SessionsPath = "/account/sessions"

// sessionsView is the sessions-and-devices part of a page.
type sessionsView struct {
	Sessions []sessionRow
	Devices  []deviceRow
	Zone     string // catalogue key of the zone the times are in
	// Others says there is a session besides the current one.
	Others bool
	// Entry is the history entry on the "this wasn't me" confirmation.
	Entry *historyRow
}

// sessionRow is one live session as the page shows it.
type sessionRow struct {
	ID, Device, Network       string
	Started, LastActive       string
	StartedISO, LastActiveISO string
	Current                   bool
}

// deviceRow is one familiar device as the page shows it.
type deviceRow struct {
	ID, Device, Network string
	First, Last         string
	FirstISO, LastISO   string
	Current, Trusted    bool
}

// sessionsRoutes adds the sessions page, its form and the history's "this
// wasn't me".
func (h *Handler) sessionsRoutes() {
	h.mux.Handle("GET "+SessionsPath, h.handle(h.sessionsPage))
	h.mux.Handle("POST "+SessionsPath, h.handle(h.sessionsAction))
	h.mux.Handle("GET /account/history/{id}/not-me", h.handle(h.historyNotMeForm))
	h.mux.Handle("POST /account/history/{id}/not-me", h.handle(h.historyNotMe))
}

// sessionsPage lists the sessions and devices (a session is enough to
// read; the forms need a recent sign-in).
func (h *Handler) sessionsPage(w http.ResponseWriter, r *http.Request, c *call) error {
	pr, err := h.signedIn(w, r, c)
	if pr == nil || err != nil {
		return err
	}
	ss, err := h.d.Sessions.List(r.Context(), c.realm, pr.Session)
	if err != nil {
		return err
	}
	ds, err := h.d.Sessions.Devices(r.Context(), c.realm, pr.Session)
	if err != nil {
		return err
	}
	loc, zone := realmZone(c.realm)
	at := func(t time.Time) (string, string) {
		return historyTime(c.locale, t.In(loc)), t.UTC().Format(time.RFC3339)
	}
	v := &sessionsView{Sessions: []sessionRow{}, Devices: []deviceRow{}, Zone: zone}
	for _, s := range ss {
		row := sessionRow{ID: s.ID, Device: describeUA(c.locale, s.UserAgent), Network: risk.Prefix(s.IP), Current: s.ID == pr.Session.ID}
		row.Started, row.StartedISO = at(s.CreatedAt)
		row.LastActive, row.LastActiveISO = at(s.LastSeenAt)
		v.Others = v.Others || !row.Current
		v.Sessions = append(v.Sessions, row)
	}
	for _, d := range ds {
		row := deviceRow{ID: d.ID, Device: describeUA(c.locale, d.UserAgent), Network: risk.Prefix(d.LastIP),
			Current: d.ID == pr.Session.DeviceID, Trusted: d.TrustedUntil != nil}
		row.First, row.FirstISO = at(d.FirstAt)
		row.Last, row.LastISO = at(d.LastAt)
		v.Devices = append(v.Devices, row)
	}
	p := h.newPage(r, c.realm, c.locale, "page.sessions.title")
	p.Sessions = v
	switch r.URL.Query().Get("done") {
	case "signed_out":
		p.Notice = "sessions.notice.signed_out"
	case "signed_out_others":
		p.Notice = "sessions.notice.signed_out_others"
	case "forgot":
		p.Notice = "sessions.notice.forgot"
	}
	h.render(w, r, http.StatusOK, "account_sessions", p)
	return nil
}

// sessionsAction signs out one session (action sign_out, id), every other
// one (sign_out_others) or forgets a device (forget_device, id), after a
// recent sign-in, and goes back to the list with a notice — or to the
// sign-in page when this browser's own session ended.
func (h *Handler) sessionsAction(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	pr, err := h.recentlySignedIn(w, r, c)
	if pr == nil || err != nil {
		return err
	}
	req := h.request(r, c)
	done, ended := "", false
	switch r.PostForm.Get("action") {
	case "sign_out":
		id, err := formValue(r, "id")
		if err != nil {
			return err
		}
		if ended, err = h.d.Sessions.SignOut(r.Context(), c.realm, req, pr.Session, id); err != nil {
			return err
		}
		done = "signed_out"
	case "sign_out_others":
		if _, err := h.d.Sessions.SignOutOthers(r.Context(), c.realm, req, pr.Session); err != nil {
			return err
		}
		done = "signed_out_others"
	case "forget_device":
		id, err := formValue(r, "id")
		if err != nil {
			return err
		}
		if _, err := h.d.Sessions.ForgetDevice(r.Context(), c.realm, req, pr.Session, id); err != nil {
			return err
		}
		done, ended = "forgot", id == pr.Session.DeviceID
	default:
		return ninsho.FieldError(ninsho.CodeActionUnknown, "action")
	}
	if ended {
		h.cookies.ClearSession(w, r)
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, SessionsPath+"?done="+done, http.StatusSeeOther)
	return nil
}

// historyNotMeForm shows the entry and what "this wasn't me" will do, with
// the button (opening the page changes nothing). An entry that is not the
// account's or carries no link is not_found.
func (h *Handler) historyNotMeForm(w http.ResponseWriter, r *http.Request, c *call) error {
	pr, err := h.signedIn(w, r, c)
	if pr == nil || err != nil {
		return err
	}
	e, err := h.d.Sessions.Entry(r.Context(), c.realm, pr.Session, r.PathValue("id"))
	if err != nil {
		return err
	}
	rows, zone := historyRows(c.locale, c.realm, []*event.Event{e})
	p := h.newPage(r, c.realm, c.locale, "page.history_not_me.title")
	p.Sessions = &sessionsView{Zone: zone, Entry: &rows[0]}
	p.Sessions.Entry.ID = e.ID
	h.render(w, r, http.StatusOK, "account_not_me", p)
	return nil
}

// historyNotMe secures the account (sessions.Service.NotMe): this
// browser's session ends with the others, and the unlock flow's code page
// says what happened.
func (h *Handler) historyNotMe(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	pr, err := h.signedIn(w, r, c)
	if pr == nil || err != nil {
		return err
	}
	ans, err := h.d.Sessions.NotMe(r.Context(), c.realm, h.request(r, c), pr.Session, r.PathValue("id"))
	if err != nil {
		return err
	}
	h.cookies.ClearSession(w, r)
	h.remember(w, r, ans)
	http.Redirect(w, r, "/verify?"+url.Values{"flow": {ans.Flow.ID}, "secured": {"1"}}.Encode(), http.StatusSeeOther)
	return nil
}

// markNotMe gives each history row of evs that carries "this wasn't me"
// for the session of pr its entry id (historyRow.NotMe).
func (h *Handler) markNotMe(rows []historyRow, evs []*event.Event, pr *signin.Principal) {
	if h.d.Sessions == nil {
		return
	}
	for i, e := range evs {
		if i < len(rows) && sessions.CarriesNotMe(e, pr.Session) {
			rows[i].ID, rows[i].NotMe = e.ID, true
		}
	}
}
