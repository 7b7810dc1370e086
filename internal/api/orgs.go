package api

import (
	"net/http"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/org"
	"github.com/ninsho/ninsho/internal/signin"
)

// routesOrgs registers organisations (internal/org) under /api/v1/orgs,
// for the signed-in person (the session bearer, as /api/v1/me): the
// service holds every rule, these handlers only translate. Changes that
// reach other members' standing or sign-in — a role change, removing a
// member, transferring ownership, the policy — need a recent sign-in
// (orgChanger: 403 reauth_required, after a role that can never make the
// change is refused with forbidden). The approval routes take the
// approval link's token instead of a session: the link is what an
// approver holds. Without Deps.Orgs they answer 404.
func (h *Handler) routesOrgs() {
	if h.d.Orgs == nil {
		return
	}
	h.mux.Handle("GET /api/v1/orgs", h.handle(h.listOrgs))
	h.mux.Handle("POST /api/v1/orgs", h.handle(h.createOrg))
	h.mux.Handle("GET /api/v1/orgs/{id}", h.handle(h.getOrg))
	h.mux.Handle("POST /api/v1/orgs/{id}/invitations", h.handle(h.inviteOrg))
	h.mux.Handle("DELETE /api/v1/orgs/{id}/invitations/{invitation}", h.handle(h.revokeOrgInvitation))
	h.mux.Handle("POST /api/v1/orgs/invitations/accept", h.handle(h.acceptOrgInvitation))
	h.mux.Handle("PATCH /api/v1/orgs/{id}/members/{account}", h.handle(h.setOrgRole))
	h.mux.Handle("DELETE /api/v1/orgs/{id}/members/{account}", h.handle(h.removeOrgMember))
	h.mux.Handle("POST /api/v1/orgs/{id}/leave", h.handle(h.leaveOrg))
	h.mux.Handle("POST /api/v1/orgs/{id}/transfer", h.handle(h.transferOrg))
	h.mux.Handle("PUT /api/v1/orgs/{id}/policy", h.handle(h.setOrgPolicy))
	h.mux.Handle("POST /api/v1/orgs/approval/lookup", h.handle(h.lookupOrgApproval))
	h.mux.Handle("POST /api/v1/orgs/approval", h.handle(h.decideOrgApproval))
}

// orgSummaryJSON is an organisation in a list (GET /api/v1/orgs, GET
// /api/v1/me's organisations, the OIDC claim).
type orgSummaryJSON struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Status string `json:"status"`
	Role   string `json:"role,omitempty"`
}

func orgSummaries(affs []org.Affiliation) []orgSummaryJSON {
	out := make([]orgSummaryJSON, 0, len(affs))
	for _, af := range affs {
		out = append(out, orgSummaryJSON{ID: af.Org.ID, Name: af.Org.Name, Kind: string(af.Org.Kind),
			Status: string(af.Org.Status), Role: string(af.Role)})
	}
	return out
}

type policyJSON struct {
	RequireTwoStep bool     `json:"require_two_step"`
	Methods        []string `json:"methods"`
}

type memberJSON struct {
	AccountID string `json:"account_id"`
	Name      string `json:"name"`
	Email     string `json:"email,omitempty"`
	Role      string `json:"role"`
	JoinedAt  string `json:"joined_at"`
}

type invitationJSON struct {
	ID        string `json:"id"`
	Email     string `json:"email"`
	Role      string `json:"role"`
	InvitedBy string `json:"invited_by"`
	CreatedAt string `json:"created_at"`
	ExpiresAt string `json:"expires_at"`
}

func invitationJSONOf(inv *org.Invitation) invitationJSON {
	return invitationJSON{ID: inv.ID, Email: inv.Email, Role: string(inv.Role), InvitedBy: inv.InvitedBy,
		CreatedAt: timeText(inv.CreatedAt), ExpiresAt: timeText(inv.ExpiresAt)}
}

// orgJSON is one organisation as a member sees it (GET
// /api/v1/orgs/{id}).
type orgJSON struct {
	orgSummaryJSON
	CreatedAt string       `json:"created_at"`
	Policy    policyJSON   `json:"policy"`
	Members   []memberJSON `json:"members"`
	// Invitations: the pending ones, for owners and admins only.
	Invitations *[]invitationJSON `json:"invitations,omitempty"`
}

func orgJSONOf(v *org.View) *orgJSON {
	o := v.Org
	methods := o.Policy.Methods
	if methods == nil {
		methods = []string{}
	}
	out := &orgJSON{
		orgSummaryJSON: orgSummaryJSON{ID: o.ID, Name: o.Name, Kind: string(o.Kind), Status: string(o.Status), Role: string(v.Role)},
		CreatedAt:      timeText(o.CreatedAt),
		Policy:         policyJSON{RequireTwoStep: o.Policy.RequireTwoStep, Methods: methods},
		Members:        []memberJSON{},
	}
	for _, m := range v.Members {
		out.Members = append(out.Members, memberJSON{AccountID: m.Account, Name: m.Name, Email: m.Email, Role: string(m.Role), JoinedAt: timeText(m.JoinedAt)})
	}
	if v.Role.Manages() {
		list := []invitationJSON{}
		for _, inv := range v.Invitations {
			list = append(list, invitationJSONOf(inv))
		}
		out.Invitations = &list
	}
	return out
}

// orgView answers the organisation as p sees it now.
func (h *Handler) orgView(w http.ResponseWriter, r *http.Request, c *call, p *signin.Principal, id string, status int) error {
	v, err := h.d.Orgs.Get(r.Context(), c.realm.ID, p.Account.ID, id)
	if err != nil {
		return err
	}
	return writeJSON(w, status, orgJSONOf(v))
}

// meOrgs returns the organisations field of GET /api/v1/me: nil (absent)
// without Deps.Orgs.
func (h *Handler) meOrgs(r *http.Request, c *call, accountID string) (*[]orgSummaryJSON, error) {
	if h.d.Orgs == nil {
		return nil, nil
	}
	affs, err := h.d.Orgs.Mine(r.Context(), c.realm.ID, accountID)
	if err != nil {
		return nil, err
	}
	list := orgSummaries(affs)
	return &list, nil
}

func (h *Handler) listOrgs(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := h.signedIn(r, c)
	if err != nil {
		return err
	}
	affs, err := h.d.Orgs.Mine(r.Context(), c.realm.ID, p.Account.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, struct {
		Organisations []orgSummaryJSON `json:"organisations"`
	}{orgSummaries(affs)})
}

// createOrgBody is the body of POST /api/v1/orgs.
type createOrgBody struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
}

func (b *createOrgBody) check() error {
	return checkLengths("kind", b.Kind, "name", b.Name)
}

func (h *Handler) createOrg(w http.ResponseWriter, r *http.Request, c *call) error {
	var b createOrgBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	p, err := h.signedIn(r, c)
	if err != nil {
		return err
	}
	o, err := h.d.Orgs.Create(r.Context(), c.realm, p.Account.ID, org.CreateInput{Kind: org.Kind(b.Kind), Name: b.Name}, h.request(r, c, ""))
	if err != nil {
		return err
	}
	return h.orgView(w, r, c, p, o.ID, http.StatusCreated)
}

func (h *Handler) getOrg(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := h.signedIn(r, c)
	if err != nil {
		return err
	}
	return h.orgView(w, r, c, p, r.PathValue("id"), http.StatusOK)
}

// inviteBody is the body of POST /api/v1/orgs/{id}/invitations.
type inviteBody struct {
	Email string `json:"email"`
	Role  string `json:"role"`
}

func (b *inviteBody) check() error {
	return checkLengths("email", b.Email, "role", b.Role)
}

func (h *Handler) inviteOrg(w http.ResponseWriter, r *http.Request, c *call) error {
	var b inviteBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	if b.Role == "" {
		b.Role = string(org.RoleMember)
	}
	p, err := h.signedIn(r, c)
	if err != nil {
		return err
	}
	inv, err := h.d.Orgs.Invite(r.Context(), c.realm, p.Account.ID, r.PathValue("id"), b.Email, org.Role(b.Role), h.request(r, c, ""))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, invitationJSONOf(inv))
}

func (h *Handler) revokeOrgInvitation(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := checkNoBody(r); err != nil {
		return err
	}
	p, err := h.signedIn(r, c)
	if err != nil {
		return err
	}
	if !ninsho.ValidID(r.PathValue("invitation")) {
		return ninsho.E(ninsho.CodeNotFound)
	}
	if err := h.d.Orgs.RevokeInvitation(r.Context(), c.realm.ID, p.Account.ID, r.PathValue("id"), r.PathValue("invitation"), h.request(r, c, "")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// tokenBody is the body of the routes that take a link's token.
type tokenBody struct {
	Token string `json:"token"`
}

func (b *tokenBody) check() error { return checkToken(b.Token) }

// checkToken bounds a link's token (field token).
func checkToken(t string) error {
	if t == "" {
		return ninsho.FieldError(ninsho.CodeFieldRequired, "token")
	}
	if len(t) > 100 {
		return ninsho.FieldError(ninsho.CodeFieldTooLong, "token").WithParam("max", 100)
	}
	return nil
}

func (h *Handler) acceptOrgInvitation(w http.ResponseWriter, r *http.Request, c *call) error {
	var b tokenBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	p, err := h.signedIn(r, c)
	if err != nil {
		return err
	}
	af, err := h.d.Orgs.Accept(r.Context(), c.realm.ID, p.Account, b.Token, h.request(r, c, ""))
	if err != nil {
		return err
	}
	return h.orgView(w, r, c, p, af.Org.ID, http.StatusOK)
}

// roleBody is the body of PATCH /api/v1/orgs/{id}/members/{account}.
type roleBody struct {
	Role string `json:"role"`
}

func (b *roleBody) check() error { return checkLengths("role", b.Role) }

func (h *Handler) setOrgRole(w http.ResponseWriter, r *http.Request, c *call) error {
	var b roleBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	p, err := h.orgChanger(r, c, org.OpRole, r.PathValue("account"), org.Role(b.Role))
	if err != nil {
		return err
	}
	if _, err := h.d.Orgs.SetRole(r.Context(), c.realm.ID, p.Account.ID, r.PathValue("id"), r.PathValue("account"), org.Role(b.Role), h.request(r, c, "")); err != nil {
		return err
	}
	return h.orgView(w, r, c, p, r.PathValue("id"), http.StatusOK)
}

func (h *Handler) removeOrgMember(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := checkNoBody(r); err != nil {
		return err
	}
	p, err := h.orgChanger(r, c, org.OpRemove, r.PathValue("account"), "")
	if err != nil {
		return err
	}
	if err := h.d.Orgs.Remove(r.Context(), c.realm.ID, p.Account.ID, r.PathValue("id"), r.PathValue("account"), h.request(r, c, "")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) leaveOrg(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := checkNoBody(r); err != nil {
		return err
	}
	p, err := h.signedIn(r, c)
	if err != nil {
		return err
	}
	if err := h.d.Orgs.Leave(r.Context(), c.realm.ID, p.Account.ID, r.PathValue("id"), h.request(r, c, "")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// transferBody is the body of POST /api/v1/orgs/{id}/transfer.
type transferBody struct {
	AccountID string `json:"account_id"`
}

func (b *transferBody) check() error {
	if b.AccountID == "" {
		return ninsho.FieldError(ninsho.CodeFieldRequired, "account_id")
	}
	return checkLengths("account_id", b.AccountID)
}

func (h *Handler) transferOrg(w http.ResponseWriter, r *http.Request, c *call) error {
	var b transferBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	p, err := h.orgChanger(r, c, org.OpTransfer, b.AccountID, "")
	if err != nil {
		return err
	}
	if err := h.d.Orgs.Transfer(r.Context(), c.realm.ID, p.Account.ID, r.PathValue("id"), b.AccountID, h.request(r, c, "")); err != nil {
		return err
	}
	return h.orgView(w, r, c, p, r.PathValue("id"), http.StatusOK)
}

// policyBody is the body of PUT /api/v1/orgs/{id}/policy.
type policyBody struct {
	RequireTwoStep bool     `json:"require_two_step"`
	Methods        []string `json:"methods"`
}

func (b *policyBody) check() error {
	if len(b.Methods) > len(org.Methods) {
		return ninsho.FieldError(ninsho.CodeRequestInvalid, "methods")
	}
	return nil
}

func (h *Handler) setOrgPolicy(w http.ResponseWriter, r *http.Request, c *call) error {
	var b policyBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	p, err := h.orgChanger(r, c, org.OpPolicy, "", "")
	if err != nil {
		return err
	}
	if _, err := h.d.Orgs.SetPolicy(r.Context(), c.realm.ID, p.Account.ID, r.PathValue("id"),
		org.Policy{RequireTwoStep: b.RequireTwoStep, Methods: b.Methods}, h.request(r, c, "")); err != nil {
		return err
	}
	return h.orgView(w, r, c, p, r.PathValue("id"), http.StatusOK)
}

// orgChanger is recentlySignedIn for a sensitive change of the
// organisation {id}: a role that can never make the change is refused
// (forbidden, org.Service.MayChange) before a recent sign-in is asked for,
// so that nobody re-authenticates only to be refused.
func (h *Handler) orgChanger(r *http.Request, c *call, op org.Op, target string, role org.Role) (*signin.Principal, error) {
	p, err := h.signedIn(r, c)
	if err != nil {
		return nil, err
	}
	if err := h.d.Orgs.MayChange(r.Context(), c.realm.ID, p.Account.ID, r.PathValue("id"), op, target, role); err != nil {
		return nil, err
	}
	if err := h.d.Signin.RecentEnough(r.Context(), c.realm, p); err != nil {
		return nil, err
	}
	return p, nil
}

// approvalJSON is the organisation an approval link is for.
type approvalJSON struct {
	orgSummaryJSON
	CreatedAt string `json:"created_at"`
	// ExpiresAt: when the link stops working (lookup only).
	ExpiresAt string `json:"expires_at,omitempty"`
}

func approvalJSONOf(o *org.Organisation, expires bool) approvalJSON {
	out := approvalJSON{orgSummaryJSON: orgSummaryJSON{ID: o.ID, Name: o.Name, Kind: string(o.Kind), Status: string(o.Status)},
		CreatedAt: timeText(o.CreatedAt)}
	if expires {
		out.ExpiresAt = timeText(o.ApprovalExpiresAt)
	}
	return out
}

func (h *Handler) lookupOrgApproval(w http.ResponseWriter, r *http.Request, c *call) error {
	var b tokenBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	o, err := h.d.Orgs.ApprovalByToken(r.Context(), c.realm.ID, b.Token)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, approvalJSONOf(o, true))
}

// decisionBody is the body of POST /api/v1/orgs/approval.
type decisionBody struct {
	Token    string `json:"token"`
	Decision string `json:"decision"`
}

func (b *decisionBody) check() error {
	if err := checkToken(b.Token); err != nil {
		return err
	}
	if b.Decision != "approve" && b.Decision != "reject" {
		return ninsho.FieldError(ninsho.CodeRequestInvalid, "decision")
	}
	return nil
}

func (h *Handler) decideOrgApproval(w http.ResponseWriter, r *http.Request, c *call) error {
	var b decisionBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	o, err := h.d.Orgs.DecideByToken(r.Context(), c.realm.ID, b.Token, b.Decision == "approve", h.request(r, c, ""))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, approvalJSONOf(o, false))
}
