package console

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/caseref"
	"github.com/ninsho/ninsho/internal/desk"
	"github.com/ninsho/ninsho/internal/identifier"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/staff"
	"github.com/ninsho/ninsho/internal/totp"
)

func (h *Handler) signinForm(w http.ResponseWriter, r *http.Request, c *call) error {
	if _, err := h.d.Staff.Check(r.Context(), token(r)); err == nil {
		http.Redirect(w, r, Path, http.StatusSeeOther)
		return nil
	}
	h.render(w, http.StatusOK, "signin", h.newPage(r, c, "console.signin.title"))
	return nil
}

func (h *Handler) signin(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := form(w, r); err != nil {
		return err
	}
	email := r.PostForm.Get("email")
	tok, err := h.d.Staff.SignIn(r.Context(), c.req, email, r.PostForm.Get("password"))
	if err != nil {
		p := h.newPage(r, c, "console.signin.title")
		p.Form.Set("email", email)
		h.render(w, p.withError(r, err), "signin", p)
		return nil
	}
	h.setCookie(w, r, tok, staff.PendingLifetime)
	http.Redirect(w, r, Path+"/signin/code", http.StatusSeeOther)
	return nil
}

func (h *Handler) codeForm(w http.ResponseWriter, r *http.Request, c *call) error {
	if _, _, err := h.d.Staff.Pending(r.Context(), token(r)); err != nil {
		http.Redirect(w, r, Path+"/signin", http.StatusSeeOther)
		return nil
	}
	h.render(w, http.StatusOK, "code", h.codePage(r, c))
	return nil
}

func (h *Handler) code(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := form(w, r); err != nil {
		return err
	}
	tok, _, err := h.d.Staff.SecondFactor(r.Context(), c.req, token(r), r.PostForm.Get("code"))
	h.secondStepDone(w, r, c, tok, err)
	return nil
}

// secondStepDone ends the second sign-in step (code or passkey): with its
// session's token the console opens; a pending sign-in that is gone starts
// over at the password; any other refusal shows the code page again.
func (h *Handler) secondStepDone(w http.ResponseWriter, r *http.Request, c *call, tok string, err error) {
	switch {
	case ninsho.IsCode(err, ninsho.CodeUnauthenticated):
		h.clearCookie(w, r)
		http.Redirect(w, r, Path+"/signin", http.StatusSeeOther)
	case err != nil:
		p := h.codePage(r, c)
		h.render(w, p.withError(r, err), "code", p)
	default:
		h.setCookie(w, r, tok, staff.SessionAbsolute)
		http.Redirect(w, r, Path, http.StatusSeeOther)
	}
}

func (h *Handler) signout(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := h.d.Staff.SignOut(r.Context(), c.req, token(r)); err != nil {
		return err
	}
	h.clearCookie(w, r)
	http.Redirect(w, r, Path+"/signin", http.StatusSeeOther)
	return nil
}

// enrolView is the enrolment page's data.
type enrolView struct {
	Token   string
	Email   string
	Grouped string
}

func (h *Handler) enrolForm(w http.ResponseWriter, r *http.Request, c *call) error {
	tok := r.URL.Query().Get("token")
	en, err := h.d.Staff.Enrolment(r.Context(), tok)
	if err != nil {
		return err
	}
	p := h.newPage(r, c, "console.enrol.title")
	p.Data = enrolView{Token: tok, Email: en.Staff.Email, Grouped: en.Grouped}
	h.render(w, http.StatusOK, "enrol", p)
	return nil
}

func (h *Handler) enrolQR(w http.ResponseWriter, r *http.Request, c *call) error {
	en, err := h.d.Staff.Enrolment(r.Context(), r.URL.Query().Get("token"))
	if err != nil {
		return err
	}
	png, err := totp.PNG(en.URL, 256)
	if err != nil {
		return ninsho.Internal("console: qr code").Wrap(err)
	}
	w.Header().Set("Content-Type", "image/png")
	w.Write(png)
	return nil
}

func (h *Handler) enrol(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := form(w, r); err != nil {
		return err
	}
	tok := r.PostForm.Get("token")
	_, err := h.d.Staff.Enrol(r.Context(), c.req, tok, r.PostForm.Get("password"), r.PostForm.Get("password_confirmation"), r.PostForm.Get("code"))
	if err != nil {
		en, eErr := h.d.Staff.Enrolment(r.Context(), tok)
		if eErr != nil {
			return eErr
		}
		p := h.newPage(r, c, "console.enrol.title")
		p.Data = enrolView{Token: tok, Email: en.Staff.Email, Grouped: en.Grouped}
		h.render(w, p.withError(r, err), "enrol", p)
		return nil
	}
	p := h.newPage(r, c, "console.enrolled.title")
	h.render(w, http.StatusOK, "enrolled", p)
	return nil
}

// searchView is the home page's data: the search form and its results.
type searchView struct {
	Query    string
	Realm    string
	Realms   []string
	Searched bool
	Results  []result
	// HelpRef is the help request an H-… reference names (its page is
	// linked above the accounts found).
	HelpRef string
	// Case is the recovery case whose reference was searched for, when
	// it found its account.
	Case string
}

type result struct {
	ID, Realm, Status, Name, Email, Phone, Via string
	// Request is what an error page's request recorded about the
	// account (found by "request"): not necessarily the owner's doing.
	Request []desk.RequestEvent
}

func (h *Handler) realmIDs() []string {
	var out []string
	for _, rl := range h.d.Realms.All() {
		out = append(out, rl.ID)
	}
	return out
}

func (h *Handler) home(w http.ResponseWriter, r *http.Request, c *call) error {
	p := h.newPage(r, c, "console.home.title")
	p.Data = searchView{Realms: h.realmIDs()}
	h.render(w, http.StatusOK, "home", p)
	return nil
}

func (h *Handler) search(w http.ResponseWriter, r *http.Request, c *call) error {
	q, rlID := r.URL.Query().Get("q"), r.URL.Query().Get("realm")
	p := h.newPage(r, c, "console.home.title")
	v := searchView{Query: q, Realm: rlID, Realms: h.realmIDs(), Searched: true}
	matches, err := h.d.Desk.Find(r.Context(), c.who, rlID, q)
	if err != nil {
		p.Data = v
		h.render(w, p.withError(r, err), "home", p)
		return nil
	}
	// An H-… reference: the request itself, opened directly when it is
	// linked to no account.
	if ref, kind, ok := caseref.Parse(q); ok && kind == caseref.KindHelp && h.d.Help != nil && c.who.Can(staff.PermHelpRequests) {
		x, err := h.d.Help.Request(r.Context(), ref)
		switch {
		case err == nil && (rlID == "" || x.Realm == rlID):
			if len(matches) == 0 {
				http.Redirect(w, r, Path+"/help/"+url.PathEscape(x.Ref), http.StatusSeeOther)
				return nil
			}
			v.HelpRef = x.Ref
		case err != nil && !ninsho.IsCode(err, ninsho.CodeNotFound):
			return err
		}
	}
	for _, m := range matches {
		res := h.resultOf(m.Account, m.Via)
		res.Request = m.Request
		v.Results = append(v.Results, res)
	}
	if ref, kind, ok := caseref.Parse(q); ok && kind == caseref.KindRecovery && len(matches) > 0 && c.who.Can(staff.PermRecoveryDecisions) {
		v.Case = ref
	}
	p.Data = v
	h.render(w, http.StatusOK, "home", p)
	return nil
}

func (h *Handler) resultOf(a *account.Account, via string) result {
	region := ""
	if rl := h.d.Realms.ByID(a.Realm); rl != nil {
		region = rl.PhoneRegion
	}
	res := result{ID: a.ID, Realm: a.Realm, Status: string(a.Status), Name: a.Name, Via: via}
	if a.Email != "" {
		res.Email = identifier.Display(identifier.Normalized(a.Email), region)
	}
	if a.Phone != "" {
		res.Phone = identifier.Display(identifier.Normalized(a.Phone), region)
	}
	return res
}

// accountView is the account page's data.
type accountView struct {
	Account  result
	Locked   bool
	Reasons  []account.SuspensionReason
	Timeline []desk.Entry
	Actions  []string
	// Failed is the action just refused: its fields take the plain ids
	// (reason, public_reason) that the error summary links to.
	Failed string
}

// actions are the account actions, by the last segment of their address.
var actions = []string{"unlock", "lock", "suspend", "reinstate", "revoke-sessions", "require-reset", "remind-signup"}

func (h *Handler) account(w http.ResponseWriter, r *http.Request, c *call) error {
	return h.showAccount(w, r, c, r.PathValue("id"), http.StatusOK, nil)
}

func (h *Handler) showAccount(w http.ResponseWriter, r *http.Request, c *call, id string, status int, refusal error) error {
	ctx := r.Context()
	a, err := h.d.Desk.Account(ctx, c.who, id)
	if ninsho.IsCode(err, ninsho.CodeAccountNotFound) {
		return ninsho.E(ninsho.CodeNotFound) // a page that is not there, not a customer's sign-in
	}
	if err != nil {
		return err
	}
	tl, err := h.d.Desk.Timeline(ctx, c.who, a)
	if err != nil {
		return err
	}
	p := h.newPage(r, c, "console.account.title")
	if done := r.URL.Query().Get("done"); refusal == nil && done != "" && contains(actions, done) {
		p.Notice = "console.done." + done
	}
	v := accountView{Account: h.resultOf(a, ""), Reasons: account.SuspensionReasons, Timeline: tl,
		Locked: a.Status == account.StatusLocked || a.Lock.Kind != account.LockNone}
	if c.who.Can(staff.PermAccountActions) {
		v.Actions = actions
	}
	p.Data = v
	if refusal != nil {
		v.Failed = r.PathValue("action")
		p.Data = v
		status = p.withError(r, refusal)
		p.Form = r.PostForm
	}
	h.render(w, status, "account", p)
	return nil
}

func (h *Handler) act(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := form(w, r); err != nil {
		return err
	}
	ctx, id, why := r.Context(), r.PathValue("id"), r.PostForm.Get("reason")
	d := h.d.Desk
	var err error
	switch action := r.PathValue("action"); action {
	case "unlock":
		err = d.Unlock(ctx, c.who, c.req, id, why)
	case "lock":
		err = d.Lock(ctx, c.who, c.req, id, why)
	case "suspend":
		_, err = d.Suspend(ctx, c.who, c.req, id, account.SuspensionReason(r.PostForm.Get("public_reason")), why)
	case "reinstate":
		err = d.Reinstate(ctx, c.who, c.req, id, why)
	case "revoke-sessions":
		err = d.RevokeSessions(ctx, c.who, c.req, id, why)
	case "require-reset":
		err = d.RequireReset(ctx, c.who, c.req, id, why)
	case "remind-signup":
		err = d.RemindSignup(ctx, c.who, c.req, id, why)
	default:
		return ninsho.E(ninsho.CodeNotFound)
	}
	switch {
	case err == nil:
		http.Redirect(w, r, Path+"/accounts/"+url.PathEscape(id)+"?done="+url.QueryEscape(r.PathValue("action")), http.StatusSeeOther)
		return nil
	case ninsho.IsCode(err, ninsho.CodeAccountNotFound):
		return ninsho.E(ninsho.CodeNotFound)
	case ninsho.IsCode(err, ninsho.CodeForbidden):
		return err
	}
	return h.showAccount(w, r, c, id, 0, err)
}

// staffView is the staff page's data.
type staffView struct {
	Staff []staff.Staff
	Roles []staff.Role
	Link  string // the enrolment link just made
	// Self is the id of the admin viewing the page: their own row offers
	// no role change and no disable (the service refuses both).
	Self string
}

func (h *Handler) staffList(w http.ResponseWriter, r *http.Request, c *call) error {
	return h.showStaff(w, r, c, http.StatusOK, "", nil)
}

func (h *Handler) showStaff(w http.ResponseWriter, r *http.Request, c *call, status int, link string, refusal error) error {
	if err := c.who.Require(staff.PermManageStaff); err != nil {
		return err
	}
	list, err := h.d.Staff.List(r.Context(), c.who.Staff)
	if err != nil {
		return err
	}
	p := h.newPage(r, c, "console.staff.title")
	p.Data = staffView{Staff: list, Roles: staff.Roles, Link: link, Self: c.who.Staff.ID}
	if refusal != nil {
		status = p.withError(r, refusal)
		p.Form = r.PostForm
	}
	h.render(w, status, "staff", p)
	return nil
}

// EnrolURL is the enrolment link of a token, under base (the public URL).
func EnrolURL(base, token string) string {
	return strings.TrimRight(base, "/") + Path + "/enrol?token=" + url.QueryEscape(token)
}

// linkBase is where the enrolment links an admin hands on point: the
// configured base (Deps.LinkBase, the same as the command line's), else
// this request's origin.
func (h *Handler) linkBase(r *http.Request) string {
	if h.d.LinkBase != "" {
		return h.d.LinkBase
	}
	return baseURL(r)
}

// baseURL is this request's origin.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (h *Handler) invite(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := c.who.Require(staff.PermManageStaff); err != nil {
		return err
	}
	if err := form(w, r); err != nil {
		return err
	}
	_, tok, err := h.d.Staff.Invite(r.Context(), c.who.Staff, c.req, r.PostForm.Get("email"), r.PostForm.Get("name"),
		staff.Role(r.PostForm.Get("role")))
	if err != nil {
		return h.showStaff(w, r, c, 0, "", err)
	}
	return h.showStaff(w, r, c, http.StatusOK, EnrolURL(h.linkBase(r), tok), nil)
}

func (h *Handler) reinvite(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := c.who.Require(staff.PermManageStaff); err != nil {
		return err
	}
	_, tok, err := h.d.Staff.Reinvite(r.Context(), c.who.Staff, c.req, r.PathValue("id"))
	if err != nil {
		return h.showStaff(w, r, c, 0, "", err)
	}
	return h.showStaff(w, r, c, http.StatusOK, EnrolURL(h.linkBase(r), tok), nil)
}

func (h *Handler) setRole(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := c.who.Require(staff.PermManageStaff); err != nil {
		return err
	}
	if err := form(w, r); err != nil {
		return err
	}
	if err := h.d.Staff.SetRole(r.Context(), c.who.Staff, c.req, r.PathValue("id"), staff.Role(r.PostForm.Get("role"))); err != nil {
		return h.showStaff(w, r, c, 0, "", err)
	}
	http.Redirect(w, r, Path+"/staff", http.StatusSeeOther)
	return nil
}

func (h *Handler) disable(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := c.who.Require(staff.PermManageStaff); err != nil {
		return err
	}
	if err := h.d.Staff.Disable(r.Context(), c.who.Staff, c.req, r.PathValue("id")); err != nil {
		return h.showStaff(w, r, c, 0, "", err)
	}
	http.Redirect(w, r, Path+"/staff", http.StatusSeeOther)
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
