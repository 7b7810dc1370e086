package console

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/ninsho/ninsho/internal/config"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realmset"
	"github.com/ninsho/ninsho/internal/staff"
)

// The realms page (/console/realms, admins only): every realm's stored
// settings, each shown and edited as its JSON document (a realms[] entry of
// the configuration file), and a realm created at run time — what `ninsho
// realms` does on the command line, with the same checks (realmset).

func (h *Handler) realmRoutes(m *http.ServeMux) {
	if h.d.RealmSettings == nil {
		return
	}
	m.HandleFunc("GET "+Path+"/realms", h.open(h.realmList))
	m.HandleFunc("POST "+Path+"/realms", h.open(h.realmCreate))
	m.HandleFunc("GET "+Path+"/realms/{id}", h.open(h.realmShow))
	m.HandleFunc("POST "+Path+"/realms/{id}", h.open(h.realmSave))
}

// realmRow is one line of the realms list.
type realmRow struct {
	realmset.Setting
	Name  string
	Hosts []string
}

// realmsView is the realms page's data.
type realmsView struct {
	Realms []realmRow
	// Problems are the refused document's problems, one a line.
	Problems []string
}

// realmView is one realm's page: its document in the form.
type realmView struct {
	ID       string
	Doc      string
	Revision int64
	Row      *realmset.Setting
	Problems []string
}

func (h *Handler) realmList(w http.ResponseWriter, r *http.Request, c *call) error {
	return h.showRealms(w, r, c, http.StatusOK, nil)
}

func (h *Handler) showRealms(w http.ResponseWriter, r *http.Request, c *call, status int, refusal error) error {
	if err := c.who.Require(staff.PermManageRealms); err != nil {
		return err
	}
	ctx := r.Context()
	rows, err := h.d.RealmSettings.List(ctx)
	if err != nil {
		return err
	}
	realms, _, err := h.d.RealmSettings.Realms(ctx)
	if err != nil {
		return err
	}
	byID := map[string]config.Realm{}
	for _, rc := range realms {
		byID[rc.ID] = rc
	}
	v := realmsView{}
	for _, row := range rows {
		v.Realms = append(v.Realms, realmRow{Setting: row, Name: byID[row.ID].Name, Hosts: byID[row.ID].Hosts})
	}
	p := h.newPage(r, c, "console.realms.title")
	if refusal != nil {
		status, v.Problems = realmRefusal(p, r, refusal)
		p.Form = r.PostForm
	}
	p.Data = v
	h.render(w, status, "realms", p)
	return nil
}

func (h *Handler) realmCreate(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := c.who.Require(staff.PermManageRealms); err != nil {
		return err
	}
	if err := form(w, r); err != nil {
		return err
	}
	id := strings.TrimSpace(r.PostForm.Get("id"))
	ch := realmset.Change{Merge: []byte(r.PostForm.Get("settings"))}
	if strings.TrimSpace(string(ch.Merge)) == "" {
		ch.Merge = nil
	}
	_, err := h.d.RealmSettings.Create(r.Context(), realmset.Who{Staff: c.who.Staff, Req: c.req}, id, ch)
	if err != nil {
		if !realmRefused(err) {
			return err
		}
		return h.showRealms(w, r, c, 0, err)
	}
	h.realmsChanged(r)
	http.Redirect(w, r, Path+"/realms/"+id+"?done=created", http.StatusSeeOther)
	return nil
}

func (h *Handler) realmShow(w http.ResponseWriter, r *http.Request, c *call) error {
	return h.showRealm(w, r, c, http.StatusOK, nil)
}

func (h *Handler) showRealm(w http.ResponseWriter, r *http.Request, c *call, status int, refusal error) error {
	if err := c.who.Require(staff.PermManageRealms); err != nil {
		return err
	}
	rc, row, err := h.d.RealmSettings.Show(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	doc, _ := json.MarshalIndent(rc, "", "  ")
	v := realmView{ID: rc.ID, Doc: string(doc), Revision: row.Revision, Row: row}
	p := h.newPage(r, c, "console.realms.realm.title")
	switch r.URL.Query().Get("done") {
	case "created":
		p.Notice = "console.realms.created"
	case "saved":
		p.Notice = "console.realms.saved"
	case "unchanged":
		p.Notice = "console.realms.unchanged"
	}
	if refusal != nil {
		status, v.Problems = realmRefusal(p, r, refusal)
		v.Doc = r.PostForm.Get("settings") // what was typed, to fix
		p.Notice = ""
	}
	p.Data = v
	h.render(w, status, "realm", p)
	return nil
}

func (h *Handler) realmSave(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := c.who.Require(staff.PermManageRealms); err != nil {
		return err
	}
	if err := form(w, r); err != nil {
		return err
	}
	id := r.PathValue("id")
	rev, _ := strconv.ParseInt(r.PostForm.Get("revision"), 10, 64)
	ch := realmset.Change{Replace: []byte(r.PostForm.Get("settings")), Revision: rev}
	if len(strings.TrimSpace(string(ch.Replace))) == 0 {
		ch.Replace = []byte("null") // refused: not an object
	}
	keys, err := h.d.RealmSettings.Set(r.Context(), realmset.Who{Staff: c.who.Staff, Req: c.req}, id, ch)
	if err != nil {
		if !realmRefused(err) {
			return err
		}
		return h.showRealm(w, r, c, 0, err)
	}
	done := "unchanged"
	if len(keys) > 0 {
		done = "saved"
		h.realmsChanged(r)
	}
	http.Redirect(w, r, Path+"/realms/"+id+"?done="+done, http.StatusSeeOther)
	return nil
}

// realmsChanged lets this instance serve a change at once (the others
// within realm_refresh).
func (h *Handler) realmsChanged(r *http.Request) {
	if h.d.RealmsChanged != nil {
		h.d.RealmsChanged(r.Context())
	}
}

// realmRefused reports whether err refuses what was typed (shown on the
// form again) rather than the request.
func realmRefused(err error) bool {
	switch ninsho.CodeOf(err) {
	case ninsho.CodeRealmSettingsInvalid, ninsho.CodeRealmSettingFixed, ninsho.CodeRealmExists, ninsho.CodeConflict:
		return true
	}
	return false
}

// realmRefusal puts a refused document on p: the catalogue's message,
// linked to the settings field, and the problems one a line (they name
// the settings as the configuration file does).
func realmRefusal(p *page, r *http.Request, err error) (int, []string) {
	status := p.withError(r, err)
	if ninsho.CodeOf(err) == ninsho.CodeConflict {
		p.Error.Items = []errorItem{{Message: translate(p.Locale, "console.realms.conflict")}}
	}
	for i := range p.Error.Items {
		p.Error.Items[i].Field = "settings"
	}
	var problems []string
	if s, ok := ninsho.ErrorOf(err).Params["problems"].(string); ok {
		problems = strings.Split(s, "\n")
	}
	return status, problems
}
