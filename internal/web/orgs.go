package web

import (
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/ninsho/ninsho/internal/identifier"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/org"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/web/webreq"
)

// Organisations on the pages (issue 15; the rules are internal/org's),
// without JavaScript. /account/orgs lists the signed-in person's
// organisations and creates one; /account/orgs/{id} shows one (members,
// the pending invitations to its owners and admins, the policy) with a
// POST form per action (invite, revoke, role, remove, leave, transfer,
// policy); the actions that reach other members' standing or sign-in
// (role, remove, transfer, policy) need a recent sign-in, as in the JSON
// API, and go through /reauth and back to the page.
//
// /orgs/invitation?token= is the invitation e-mail's link: it shows the
// organisation and the role, and "Join" to the account that holds the
// invited address. To a browser not signed in (or signed in with another
// account) it offers to sign in or create an account and come back: the
// token waits in a cookie of path /orgs/invitation (orgInvitationCookie),
// and /signin and /signup take return_to=/orgs/invitation (returnto.go),
// so that the token is never in a flow, a log line or a return_to.
//
// /orgs/approval?token= is the approvers' link: without a session, it
// shows the pending business organisation (who asked, when) with Approve
// and Reject; the posted token is the capability, and cross-origin posts
// are refused like every other form (ServeHTTP).

const (
	// OrgsPath is the page of the signed-in person's organisations.
	OrgsPath = "/account/orgs"
	// OrgInvitationPath is the invitation link's page.
	OrgInvitationPath = "/orgs/invitation"
	// OrgApprovalPath is the approval link's page.
	OrgApprovalPath = "/orgs/approval"
)

// orgInvitationCookie keeps an invitation link's token while its holder
// signs in or creates an account (path OrgInvitationPath, HttpOnly,
// SameSite=Lax, orgInvitationFor); accepting clears it.
const orgInvitationCookie = "ninsho_org_invitation"

// orgInvitationFor is the cookie's lifetime: a sign-up with its code fits
// well within it; the invitation's own expiry still holds.
const orgInvitationFor = 24 * time.Hour

// orgsView is the organisations part of a page.
type orgsView struct {
	// Orgs are the rows of /account/orgs.
	Orgs []orgRow
	// Org is the organisation of /account/orgs/{id}, the invitation or
	// the approval page.
	Org *orgRow
	// Role is the viewer's role; Manages and Owner what it lets them do.
	Role           string
	Manages, Owner bool
	Members        []memberRow
	Invitations    []invitationRow
	// Policy is the organisation's sign-in policy: RequireTwoStep and the
	// methods, each with whether it is allowed (an empty list allows
	// every one).
	RequireTwoStep bool
	Methods        []methodRow
	AnyMethod      bool
	// Zone is the catalogue key of the zone of the page's times.
	Zone string
	// Invitation page: the role offered, who sent it, the invited address
	// masked, until when; Mine says the signed-in account holds the
	// invited address (Join), Other that another account is signed in.
	InvitedRole, Inviter, InvitedTo, Until, UntilISO string
	Mine, Other, SignedIn                            bool
	// Approval page: who asked (name and address) and when.
	AskedBy, AskedByEmail, Asked, AskedISO string
	// Decided is "approved" or "rejected" on the approval's done page.
	Decided string
	// LastMember: the viewer is the last member of a rejected
	// organisation, which leaving deletes.
	LastMember bool
}

// orgRow is an organisation as the pages show it.
type orgRow struct {
	ID, Name, Kind, Status, Role string
}

// memberRow is one member on the organisation page, with what the viewer
// may do to them.
type memberRow struct {
	Account, Name, Email, Role, Joined, JoinedISO string
	Me                                            bool
	// Roles are the roles the viewer may give them (their own role
	// included, selected), empty when the viewer may not change it.
	Roles []string
	// Removable, Transferable: the viewer may remove them, make them owner
	// in their place.
	Removable, Transferable bool
}

// invitationRow is one pending invitation.
type invitationRow struct {
	ID, Email, Role, Expires, ExpiresISO string
}

// methodRow is one second-factor method of the policy form.
type methodRow struct {
	Name    string
	Allowed bool
}

// orgActions are the actions of the organisation page's forms; the
// sensitive ones need a recent sign-in.
var orgActions = map[string]bool{
	"invite": false, "revoke": false, "leave": false,
	"role": true, "remove": true, "transfer": true, "policy": true,
}

// orgConfirmed are the actions whose form carries a ticked confirm=1
// (no undo: remove, transfer, leave); without it the page comes again.
var orgConfirmed = map[string]bool{"remove": true, "transfer": true, "leave": true}

// orgNotices are the notices of ?done= after an action.
var orgNotices = map[string]string{
	"created": "orgs.notice.created", "invited": "orgs.notice.invited", "revoked": "orgs.notice.revoked",
	"role": "orgs.notice.role", "removed": "orgs.notice.removed", "transferred": "orgs.notice.transferred",
	"policy": "orgs.notice.policy", "left": "orgs.notice.left", "joined": "orgs.notice.joined",
}

// routesOrgs registers the organisation pages (only with Deps.Orgs).
func (h *Handler) routesOrgs() {
	if h.d.Orgs == nil {
		return
	}
	h.mux.Handle("GET "+OrgsPath, h.handle(h.orgsPage))
	h.mux.Handle("POST "+OrgsPath, h.handle(h.orgCreate))
	h.mux.Handle("GET "+OrgsPath+"/{id}", h.handle(h.orgPage))
	h.mux.Handle("POST "+OrgsPath+"/{id}", h.handle(h.orgAction))
	h.mux.Handle("GET "+OrgInvitationPath, h.handle(h.orgInvitationPage))
	h.mux.Handle("POST "+OrgInvitationPath, h.handle(h.orgAccept))
	h.mux.Handle("GET "+OrgApprovalPath, h.handle(h.orgApprovalPage))
	h.mux.Handle("POST "+OrgApprovalPath, h.handle(h.orgDecide))
}

// orgsListPage is /account/orgs for pr with the form values typed.
func (h *Handler) orgsListPage(r *http.Request, c *call, pr *signin.Principal, name, kind string) (*page, error) {
	affs, err := h.d.Orgs.Mine(r.Context(), c.realm.ID, pr.Account.ID)
	if err != nil {
		return nil, err
	}
	p := h.newPage(r, c.realm, c.locale, "page.orgs.title")
	p.Account = pr.Account
	v := &orgsView{Orgs: []orgRow{}}
	for _, af := range affs {
		v.Orgs = append(v.Orgs, orgRowOf(af.Org, af.Role))
	}
	p.Orgs = v
	p.Form["name"], p.Form["kind"] = name, kind
	return p, nil
}

func orgRowOf(o *org.Organisation, role org.Role) orgRow {
	return orgRow{ID: o.ID, Name: o.Name, Kind: string(o.Kind), Status: string(o.Status), Role: string(role)}
}

func (h *Handler) orgsPage(w http.ResponseWriter, r *http.Request, c *call) error {
	pr, err := h.signedIn(w, r, c)
	if pr == nil || err != nil {
		return err
	}
	p, err := h.orgsListPage(r, c, pr, "", "")
	if err != nil {
		return err
	}
	p.Notice = orgNotices[r.URL.Query().Get("done")]
	h.render(w, r, http.StatusOK, "orgs", p)
	return nil
}

// orgCreate creates an organisation (name, kind) and shows it.
func (h *Handler) orgCreate(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	pr, err := h.signedIn(w, r, c)
	if pr == nil || err != nil {
		return err
	}
	name, err1 := formValue(r, "name")
	kind := r.PostForm.Get("kind")
	p, err := h.orgsListPage(r, c, pr, name, kind)
	if err != nil {
		return err
	}
	if err1 != nil {
		h.renderError(w, r, "orgs", p, err1)
		return nil
	}
	o, err := h.d.Orgs.Create(r.Context(), c.realm, pr.Account.ID, org.CreateInput{Kind: org.Kind(kind), Name: name}, h.request(r, c))
	if err != nil {
		h.renderError(w, r, "orgs", p, err)
		return nil
	}
	http.Redirect(w, r, OrgsPath+"/"+o.ID+"?done=created", http.StatusSeeOther)
	return nil
}

// orgDetailPage is /account/orgs/{id} as pr sees it.
func (h *Handler) orgDetailPage(r *http.Request, c *call, pr *signin.Principal, id string) (*page, error) {
	v, err := h.d.Orgs.Get(r.Context(), c.realm.ID, pr.Account.ID, id)
	if err != nil {
		return nil, err
	}
	p := h.newPage(r, c.realm, c.locale, "page.org.title")
	p.Account = pr.Account
	loc, zone := realmZone(c.realm)
	at := func(t time.Time) (string, string) {
		return historyTime(c.locale, t.In(loc)), t.UTC().Format(time.RFC3339)
	}
	row := orgRowOf(v.Org, v.Role)
	ov := &orgsView{Org: &row, Role: string(v.Role), Manages: v.Role.Manages(), Owner: v.Role == org.RoleOwner,
		Zone: zone, RequireTwoStep: v.Org.Policy.RequireTwoStep, AnyMethod: len(v.Org.Policy.Methods) == 0}
	changeable := v.Org.Status != org.StatusRejected
	for _, m := range v.Members {
		mr := memberRow{Account: m.Account, Name: m.Name, Email: p.Shown(m.Email), Role: string(m.Role), Me: m.Account == pr.Account.ID}
		mr.Joined, mr.JoinedISO = at(m.JoinedAt)
		if !mr.Me && changeable && ov.Manages && (ov.Owner || m.Role != org.RoleOwner) {
			mr.Roles = []string{string(org.RoleAdmin), string(org.RoleMember)}
			if ov.Owner {
				mr.Roles = append([]string{string(org.RoleOwner)}, mr.Roles...)
			}
			mr.Removable = true
			mr.Transferable = ov.Owner
		}
		ov.Members = append(ov.Members, mr)
	}
	for _, inv := range v.Invitations {
		ir := invitationRow{ID: inv.ID, Email: p.Shown(inv.Email), Role: string(inv.Role)}
		ir.Expires, ir.ExpiresISO = at(inv.ExpiresAt)
		ov.Invitations = append(ov.Invitations, ir)
	}
	for _, m := range org.Methods {
		ov.Methods = append(ov.Methods, methodRow{Name: m, Allowed: ov.AnyMethod || slices.Contains(v.Org.Policy.Methods, m)})
	}
	ov.LastMember = v.Org.Status == org.StatusRejected && len(v.Members) == 1
	p.Orgs = ov
	p.relink(OrgsPath+"/"+v.Org.ID, nil)
	return p, nil
}

func (h *Handler) orgPage(w http.ResponseWriter, r *http.Request, c *call) error {
	pr, err := h.signedIn(w, r, c)
	if pr == nil || err != nil {
		return err
	}
	p, err := h.orgDetailPage(r, c, pr, r.PathValue("id"))
	if err != nil {
		return err
	}
	p.Notice = orgNotices[r.URL.Query().Get("done")]
	h.render(w, r, http.StatusOK, "org", p)
	return nil
}

// orgAction does the posted action on the organisation and goes back to
// its page with a notice (to the list after leaving); a refusal shows the
// page again with it.
func (h *Handler) orgAction(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	action := r.PostForm.Get("action")
	sensitive, known := orgActions[action]
	// Without a session: to /signin, whatever was posted.
	pr, err := h.signedIn(w, r, c)
	if pr == nil || err != nil {
		return err
	}
	id, ctx, req, me := r.PathValue("id"), r.Context(), h.request(r, c), pr.Account.ID
	// refuse shows the organisation's page again with err (the error
	// alone to a non-member).
	refuse := func(err error) error {
		p, perr := h.orgDetailPage(r, c, pr, id)
		if perr != nil {
			return err
		}
		if action == "invite" {
			p.Form["email"], p.Form["role"] = r.PostForm.Get("email"), r.PostForm.Get("role")
		}
		h.renderError(w, r, "org", p, err)
		return nil
	}
	if !known {
		return refuse(ninsho.FieldError(ninsho.CodeActionUnknown, "action").WithParam("kind", "org"))
	}
	var target string
	if action == "role" || action == "remove" || action == "transfer" {
		if target, err = formValue(r, "account_id"); err != nil {
			return refuse(err)
		}
	}
	if sensitive {
		// The role first: nobody re-authenticates only to be refused.
		op := map[string]org.Op{"role": org.OpRole, "remove": org.OpRemove, "transfer": org.OpTransfer, "policy": org.OpPolicy}[action]
		if err := h.d.Orgs.MayChange(ctx, c.realm.ID, me, id, op, target, org.Role(r.PostForm.Get("role"))); err != nil {
			return refuse(err)
		}
	}
	if orgConfirmed[action] && r.PostForm.Get("confirm") != "1" {
		return refuse(ninsho.FieldError(ninsho.CodeFieldRequired, "confirm").WithParam("kind", "org_confirm"))
	}
	if sensitive {
		if err := h.d.Signin.RecentEnough(ctx, c.realm, pr); ninsho.IsCode(err, ninsho.CodeReauthRequired) {
			http.Redirect(w, r, ReauthPath+"?return_to="+url.QueryEscape(h.pageOf(r)), http.StatusSeeOther)
			return nil
		} else if err != nil {
			return err
		}
	}
	done := ""
	switch action {
	case "invite":
		var email string
		if email, err = formValue(r, "email"); err == nil {
			_, err = h.d.Orgs.Invite(ctx, c.realm, me, id, email, org.Role(r.PostForm.Get("role")), req)
		}
		done = "invited"
	case "revoke":
		err, done = h.d.Orgs.RevokeInvitation(ctx, c.realm.ID, me, id, r.PostForm.Get("invitation_id"), req), "revoked"
	case "role":
		_, err = h.d.Orgs.SetRole(ctx, c.realm.ID, me, id, target, org.Role(r.PostForm.Get("role")), req)
		done = "role"
	case "remove":
		err, done = h.d.Orgs.Remove(ctx, c.realm.ID, me, id, target, req), "removed"
	case "transfer":
		err, done = h.d.Orgs.Transfer(ctx, c.realm.ID, me, id, target, req), "transferred"
	case "leave":
		err, done = h.d.Orgs.Leave(ctx, c.realm.ID, me, id, req), "left"
	case "policy":
		// Every method ticked is "any" (the list empty), which also
		// allows methods added later.
		pol := org.Policy{RequireTwoStep: r.PostForm.Get("require_two_step") == "1", Methods: r.PostForm["methods"]}
		if len(pol.Methods) == len(org.Methods) && !slices.ContainsFunc(org.Methods, func(m string) bool { return !slices.Contains(pol.Methods, m) }) {
			pol.Methods = nil
		}
		_, err = h.d.Orgs.SetPolicy(ctx, c.realm.ID, me, id, pol, req)
		done = "policy"
	}
	if err != nil {
		return refuse(err)
	}
	if action == "leave" {
		http.Redirect(w, r, OrgsPath+"?done=left", http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, OrgsPath+"/"+url.PathEscape(id)+"?done="+done, http.StatusSeeOther)
	return nil
}

// invitationToken is the invitation page's token: the link's (query or
// form), else the one kept in the cookie.
func invitationToken(r *http.Request) string {
	if t := r.FormValue("token"); t != "" {
		return t
	}
	if ck, err := r.Cookie(orgInvitationCookie); err == nil {
		return ck.Value
	}
	return ""
}

// keepInvitation keeps the token in orgInvitationCookie for the way back
// from a sign-in or a sign-up.
func (h *Handler) keepInvitation(w http.ResponseWriter, r *http.Request, token string) {
	http.SetCookie(w, &http.Cookie{Name: orgInvitationCookie, Value: token, Path: OrgInvitationPath,
		MaxAge: int(orgInvitationFor / time.Second), HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: h.cookies.Secure || r.TLS != nil})
}

// forgetInvitation clears orgInvitationCookie.
func (h *Handler) forgetInvitation(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: orgInvitationCookie, Value: "", Path: OrgInvitationPath, MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: h.cookies.Secure || r.TLS != nil})
}

// optionalPrincipal returns the person signed in with the session cookie,
// or nil (no session, or one that ended).
func (h *Handler) optionalPrincipal(r *http.Request, c *call) (*signin.Principal, error) {
	token, _ := webreq.SessionToken(r)
	if token == "" {
		return nil, nil
	}
	pr, err := h.d.Signin.Authenticate(r.Context(), c.realm, token)
	if ninsho.IsCode(err, ninsho.CodeUnauthenticated) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if pr == nil || pr.Account == nil {
		return nil, nil
	}
	c.locale = c.realm.Language(webreq.ChosenLocale(r), pr.Account.Locale)
	return pr, nil
}

// invitationPage is the invitation page of the token for pr (nil: not
// signed in), or the spent page's error.
func (h *Handler) invitationPage(w http.ResponseWriter, r *http.Request, c *call, pr *signin.Principal, token string) (*page, error) {
	inv, err := h.d.Orgs.InvitationByToken(r.Context(), c.realm.ID, token)
	if err != nil {
		return nil, err
	}
	p := h.newPage(r, c.realm, c.locale, "page.org_invitation.title")
	row := orgRowOf(inv.Org, "")
	v := &orgsView{Org: &row, InvitedRole: string(inv.Invitation.Role), Inviter: inv.InviterName,
		InvitedTo: identifier.Mask(identifier.Normalized(inv.Invitation.Email), p.region)}
	loc, zone := realmZone(c.realm)
	v.Zone = zone
	v.Until, v.UntilISO = historyTime(c.locale, inv.Invitation.ExpiresAt.In(loc)), inv.Invitation.ExpiresAt.UTC().Format(time.RFC3339)
	if pr != nil {
		p.Account = pr.Account
		v.SignedIn = true
		// What the service will decide (org.Service.Accept), told
		// before the button: the invited address, verified.
		v.Mine = pr.Account.Email == inv.Invitation.Email && pr.Account.EmailVerifiedAt != nil
		v.Other = !v.Mine
	}
	if !v.Mine {
		h.keepInvitation(w, r, token)
	}
	p.Orgs = v
	p.Token = token
	// The language links carry no token: the cookie holds it.
	p.relink(OrgInvitationPath, nil)
	if v.Other {
		prepareError(w, r, p, ninsho.E(ninsho.CodeInvitationOtherAccount))
	}
	return p, nil
}

// invitationSpent tells that an invitation link cannot be used (404).
func (h *Handler) invitationSpent(w http.ResponseWriter, r *http.Request, c *call, err error) error {
	if !ninsho.IsCode(err, ninsho.CodeInvitationInvalid) {
		return err
	}
	h.forgetInvitation(w, r)
	p := h.newPage(r, c.realm, c.locale, "page.org_invitation.title")
	p.relink(OrgInvitationPath, nil)
	h.render(w, r, prepareError(w, r, p, err), "org_invitation", p)
	return nil
}

func (h *Handler) orgInvitationPage(w http.ResponseWriter, r *http.Request, c *call) error {
	pr, err := h.optionalPrincipal(r, c)
	if err != nil {
		return err
	}
	p, err := h.invitationPage(w, r, c, pr, invitationToken(r))
	if err != nil {
		return h.invitationSpent(w, r, c, err)
	}
	status := http.StatusOK
	if p.Error != nil {
		status = http.StatusForbidden
	}
	h.render(w, r, status, "org_invitation", p)
	return nil
}

// orgAccept joins the organisation of the posted token (Join).
func (h *Handler) orgAccept(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	token := invitationToken(r)
	pr, err := h.optionalPrincipal(r, c)
	if err != nil {
		return err
	}
	if pr == nil {
		h.keepInvitation(w, r, token)
		http.Redirect(w, r, withReturnTo("/signin", OrgInvitationPath), http.StatusSeeOther)
		return nil
	}
	af, err := h.d.Orgs.Accept(r.Context(), c.realm.ID, pr.Account, token, h.request(r, c))
	if err != nil {
		p, perr := h.invitationPage(w, r, c, pr, token)
		if perr != nil {
			return h.invitationSpent(w, r, c, perr)
		}
		h.renderError(w, r, "org_invitation", p, err)
		return nil
	}
	h.forgetInvitation(w, r)
	http.Redirect(w, r, OrgsPath+"/"+af.Org.ID+"?done=joined", http.StatusSeeOther)
	return nil
}

// approvalPage is the approval page of the token, or its error.
func (h *Handler) approvalPage(r *http.Request, c *call, token string) (*page, error) {
	o, err := h.d.Orgs.ApprovalByToken(r.Context(), c.realm.ID, token)
	if err != nil {
		return nil, err
	}
	p := h.newPage(r, c.realm, c.locale, "page.org_approval.title")
	row := orgRowOf(o, "")
	v := &orgsView{Org: &row}
	loc, zone := realmZone(c.realm)
	v.Zone = zone
	v.Asked, v.AskedISO = historyTime(c.locale, o.CreatedAt.In(loc)), o.CreatedAt.UTC().Format(time.RFC3339)
	if a, err := h.d.Orgs.Accounts.Account(r.Context(), o.CreatedBy); err == nil {
		v.AskedBy, v.AskedByEmail = a.Name, p.Shown(a.Email)
	}
	p.Orgs = v
	p.Token = token
	p.relink(OrgApprovalPath, url.Values{"token": {token}})
	return p, nil
}

// approvalSpent tells that an approval link was decided or has expired
// (404).
func (h *Handler) approvalSpent(w http.ResponseWriter, r *http.Request, c *call, err error) error {
	if !ninsho.IsCode(err, ninsho.CodeOrgApprovalInvalid) {
		return err
	}
	p := h.newPage(r, c.realm, c.locale, "page.org_approval.title")
	p.relink(OrgApprovalPath, nil)
	h.render(w, r, prepareError(w, r, p, err), "org_approval", p)
	return nil
}

func (h *Handler) orgApprovalPage(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := h.approvalPage(r, c, r.URL.Query().Get("token"))
	if err != nil {
		return h.approvalSpent(w, r, c, err)
	}
	h.render(w, r, http.StatusOK, "org_approval", p)
	return nil
}

// orgDecide approves or rejects (action) the organisation of the posted
// token and says so.
func (h *Handler) orgDecide(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	var approve bool
	switch r.PostForm.Get("action") {
	case "approve":
		approve = true
	case "reject":
	default:
		// The page again, so that the approver gets back to Approve and
		// Reject (a spent link: its own page).
		p, err := h.approvalPage(r, c, r.PostForm.Get("token"))
		if err != nil {
			return h.approvalSpent(w, r, c, err)
		}
		h.renderError(w, r, "org_approval", p, ninsho.FieldError(ninsho.CodeActionUnknown, "action").WithParam("kind", "org"))
		return nil
	}
	o, err := h.d.Orgs.DecideByToken(r.Context(), c.realm.ID, r.PostForm.Get("token"), approve, h.request(r, c))
	if err != nil {
		return h.approvalSpent(w, r, c, err)
	}
	p := h.newPage(r, c.realm, c.locale, "page.org_approval.title")
	row := orgRowOf(o, "")
	p.Orgs = &orgsView{Org: &row, Decided: "rejected"}
	if approve {
		p.Orgs.Decided = "approved"
	}
	p.relink(OrgApprovalPath, nil)
	h.render(w, r, http.StatusOK, "org_approval", p)
	return nil
}
