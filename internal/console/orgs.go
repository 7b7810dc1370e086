package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/identifier"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/org"
	"github.com/ninsho/ninsho/internal/staff"
)

// The organisations pages (issue 15): /console/orgs lists a realm's
// organisations (the newest first, filtered by status, "pending approval"
// among them), /console/orgs/{realm}/{id} shows one — members, status,
// policy, its events — with Approve and Reject and a written reason for
// staff with the org_approvals permission while it is pending
// (org.Service.DecideByStaff holds the rule and the permission check).
// Reading needs the timeline permission, as an account's page does.

// OrgReader is what the console reads of organisations (store.DB).
type OrgReader interface {
	// ListOrgs lists the realm's organisations with the status ("" every
	// status), the newest first, at most limit.
	ListOrgs(ctx context.Context, realm string, status org.Status, limit int) ([]*org.Organisation, error)
	// Org returns the realm's organisation (not_found otherwise).
	Org(ctx context.Context, realm, id string) (*org.Organisation, error)
	// Members lists its members with their name and address.
	Members(ctx context.Context, realm, orgID string) ([]*org.Membership, error)
	// OrgEvents lists its org.* events, newest first, at most limit.
	OrgEvents(ctx context.Context, realm, orgID string, limit int) ([]*event.Event, error)
}

// orgListLimit and orgEventsLimit bound the pages' lists.
const (
	orgListLimit   = 200
	orgEventsLimit = 100
)

// orgStatuses are the list's filter, in the order shown ("" every status).
var orgStatuses = []string{string(org.StatusPending), string(org.StatusActive), string(org.StatusRejected)}

func (h *Handler) orgRoutes(m *http.ServeMux) {
	if h.d.Orgs == nil || h.d.OrgReader == nil {
		return
	}
	m.HandleFunc("GET "+Path+"/orgs", h.open(h.orgList))
	m.HandleFunc("GET "+Path+"/orgs/{realm}/{id}", h.open(h.orgShow))
	m.HandleFunc("POST "+Path+"/orgs/{realm}/{id}/{decision}", h.open(h.orgDecide))
}

// orgsView is the list's data.
type orgsView struct {
	Realm, Status string
	Realms        []string
	Statuses      []string
	Orgs          []*org.Organisation
}

// orgView is an organisation's page.
type orgView struct {
	Org       *org.Organisation
	Members   []orgMemberRow
	Events    []orgEventRow
	CanDecide bool
	// Decisions are the decision forms ("approve", "reject").
	Decisions []string
	// Failed is the decision just refused ("approve", "reject").
	Failed string
}

type orgMemberRow struct {
	Account, Name, Email, Role string
	Joined                     time.Time
}

type orgEventRow struct {
	At                time.Time
	Type, Actor, Data string
}

func (h *Handler) orgList(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := c.who.Require(staff.PermTimeline); err != nil {
		return err
	}
	realms := h.realmIDs()
	q := r.URL.Query()
	v := orgsView{Realm: q.Get("realm"), Status: q.Get("status"), Realms: realms, Statuses: orgStatuses}
	if v.Realm == "" && len(realms) > 0 {
		v.Realm = realms[0]
	}
	if !contains(realms, v.Realm) {
		return ninsho.E(ninsho.CodeNotFound)
	}
	if v.Status != "" && !contains(orgStatuses, v.Status) {
		v.Status = ""
	}
	list, err := h.d.OrgReader.ListOrgs(r.Context(), v.Realm, org.Status(v.Status), orgListLimit)
	if err != nil {
		return err
	}
	v.Orgs = list
	p := h.newPage(r, c, "console.orgs.title")
	p.Data = v
	h.render(w, http.StatusOK, "orgs", p)
	return nil
}

func (h *Handler) orgShow(w http.ResponseWriter, r *http.Request, c *call) error {
	return h.showOrg(w, r, c, http.StatusOK, nil)
}

func (h *Handler) showOrg(w http.ResponseWriter, r *http.Request, c *call, status int, refusal error) error {
	if err := c.who.Require(staff.PermTimeline); err != nil {
		return err
	}
	ctx, realmID, id := r.Context(), r.PathValue("realm"), r.PathValue("id")
	rl := h.d.Realms.ByID(realmID)
	if rl == nil || !ninsho.ValidID(id) {
		return ninsho.E(ninsho.CodeNotFound)
	}
	o, err := h.d.OrgReader.Org(ctx, realmID, id)
	if err != nil {
		return err
	}
	members, err := h.d.OrgReader.Members(ctx, realmID, id)
	if err != nil {
		return err
	}
	evs, err := h.d.OrgReader.OrgEvents(ctx, realmID, id, orgEventsLimit)
	if err != nil {
		return err
	}
	v := orgView{Org: o, CanDecide: o.Status == org.StatusPending && c.who.Can(staff.PermOrgApprovals),
		Decisions: decisions}
	for _, m := range members {
		row := orgMemberRow{Account: m.Account, Name: m.Name, Role: string(m.Role), Joined: m.JoinedAt}
		if m.Email != "" {
			row.Email = identifier.Mask(identifier.Normalized(m.Email), rl.PhoneRegion)
		}
		v.Members = append(v.Members, row)
	}
	for _, e := range evs {
		v.Events = append(v.Events, orgEventRow{At: e.At, Type: e.Type, Actor: e.Actor, Data: eventData(e)})
	}
	p := h.newPage(r, c, "console.orgs.org.title")
	status, v.Failed = p.decided(r, status, refusal, decisions, "console.orgs.done.")
	p.Data = v
	h.render(w, status, "org", p)
	return nil
}

// eventData writes an organisation event's data for staff: the keys the
// org service records (ids, roles, kinds, counts, the reason), in a fixed
// order, "key=value" separated by spaces.
func eventData(e *event.Event) string {
	var parts []string
	for _, k := range []string{"kind", "status", "member", "from", "to", "role", "to_was", "invitation", "replaced", "by_role",
		"approvers", "require_two_step", "methods", "reason"} {
		switch v := e.Data[k].(type) {
		case nil:
		case []any:
			var items []string
			for _, it := range v {
				items = append(items, fmt.Sprint(it))
			}
			parts = append(parts, k+"="+strings.Join(items, ","))
		default:
			parts = append(parts, k+"="+fmt.Sprint(v))
		}
	}
	return strings.Join(parts, " ")
}

func (h *Handler) orgDecide(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := form(w, r); err != nil {
		return err
	}
	decision := r.PathValue("decision")
	if !contains(decisions, decision) {
		return ninsho.E(ninsho.CodeNotFound)
	}
	realmID, id := r.PathValue("realm"), r.PathValue("id")
	if h.d.Realms.ByID(realmID) == nil {
		return ninsho.E(ninsho.CodeNotFound)
	}
	_, err := h.d.Orgs.DecideByStaff(r.Context(), c.who.Staff, realmID, id, decision == "approve", r.PostForm.Get("reason"), c.req)
	switch {
	case err == nil:
		http.Redirect(w, r, Path+"/orgs/"+url.PathEscape(realmID)+"/"+url.PathEscape(id)+"?done="+decision, http.StatusSeeOther)
		return nil
	case ninsho.IsCode(err, ninsho.CodeForbidden), ninsho.IsCode(err, ninsho.CodeNotFound):
		return err
	}
	return h.showOrg(w, r, c, 0, err)
}
