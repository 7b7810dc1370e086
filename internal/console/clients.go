package console

import (
	"net/http"
	"strings"

	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/oauthclient"
	"github.com/ninsho/ninsho/internal/staff"
)

// The OAuth / OpenID Connect clients page (/console/clients, admins only):
// the realms' clients, the registration form of `ninsho clients create`,
// the secret shown once, and deletion with a written reason. The rules and
// the permission check live in internal/oauthclient.

func (h *Handler) clientRoutes(m *http.ServeMux) {
	if h.d.Clients == nil {
		return
	}
	m.HandleFunc("GET "+Path+"/clients", h.open(h.clientList))
	m.HandleFunc("POST "+Path+"/clients", h.open(h.clientCreate))
	m.HandleFunc("GET "+Path+"/clients/{realm}/{id}", h.open(h.clientShow))
	m.HandleFunc("POST "+Path+"/clients/{realm}/{id}/delete", h.open(h.clientDelete))
}

// clientKinds, clientAuthMethods and clientWithoutTwoStep are the form's
// choices, in the order shown.
var (
	clientKinds          = []string{oauthclient.Confidential, oauthclient.Public}
	clientAuthMethods    = []string{oauthclient.AuthSecretBasic, oauthclient.AuthSecretPost, oauthclient.AuthPrivateKeyJWT, oauthclient.AuthNone}
	clientWithoutTwoStep = []string{oauthclient.Enrol, oauthclient.Refuse}
)

// clientsView is the clients page's data.
type clientsView struct {
	Realm   string   // the filter; "" every realm
	Realms  []string // every realm, for the filter and the form
	Clients []oauthclient.Client
	// The form's choices.
	Kinds, AuthMethods, WithoutTwoStep []string
	// Invalid are the refused fields of the form, each with its messages.
	Invalid map[string][]string
}

// clientView is a client's page (its fields and the delete form) and the
// page shown once after it was registered (with its secret).
type clientView struct {
	Client *oauthclient.Client
	// Secret is the client secret just made: shown on this page only.
	Secret  string
	Created bool
	Invalid map[string][]string
}

func (h *Handler) clientList(w http.ResponseWriter, r *http.Request, c *call) error {
	return h.showClients(w, r, c, http.StatusOK, nil)
}

// showClients renders the list and the form; with refusal, the form again
// with what was typed and every refused field's message.
func (h *Handler) showClients(w http.ResponseWriter, r *http.Request, c *call, status int, refusal error) error {
	if err := c.who.Require(staff.PermManageClients); err != nil {
		return err
	}
	all := h.realmIDs()
	filter := r.URL.Query().Get("realm")
	realms := all
	if filter != "" {
		realms = nil
		if contains(all, filter) {
			realms = []string{filter}
		}
	}
	list, err := h.d.Clients.ListAs(r.Context(), c.who, realms...)
	if err != nil {
		return err
	}
	p := h.newPage(r, c, "console.clients.title")
	v := clientsView{Realm: filter, Realms: all, Clients: list, Kinds: clientKinds, AuthMethods: clientAuthMethods,
		WithoutTwoStep: clientWithoutTwoStep}
	if r.URL.Query().Get("done") == "deleted" && refusal == nil {
		p.Notice = "console.clients.deleted"
	}
	if refusal != nil {
		status, v.Invalid = showRefusal(p, r, refusal)
	}
	p.Data = v
	h.render(w, status, "clients", p)
	return nil
}

// clientLines reads a textarea of URIs: one a line, each trimmed, empty
// lines left out.
func clientLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func (h *Handler) clientCreate(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := c.who.Require(staff.PermManageClients); err != nil {
		return err
	}
	if err := form(w, r); err != nil {
		return err
	}
	f := r.PostForm
	n := oauthclient.New{
		Realm: f.Get("realm"), Name: f.Get("name"), Kind: f.Get("kind"), AuthMethod: f.Get("auth_method"),
		RedirectURIs: clientLines(f.Get("redirect_uris")), PostLogoutRedirectURIs: clientLines(f.Get("post_logout_redirect_uris")),
		FirstParty:           f.Get("first_party") != "",
		BackchannelLogoutURI: strings.TrimSpace(f.Get("backchannel_logout_uri")), FrontchannelLogoutURI: strings.TrimSpace(f.Get("frontchannel_logout_uri")),
		WithoutTwoStep: f.Get("without_two_step"),
	}
	if jwks := strings.TrimSpace(f.Get("jwks")); jwks != "" {
		n.JWKS = []byte(jwks)
	}
	cl, plain, err := h.d.Clients.CreateAs(r.Context(), c.who, c.req, n)
	if err != nil {
		if ninsho.ErrorOf(err).Field == "" {
			return err
		}
		return h.showClients(w, r, c, 0, err)
	}
	p := h.newPage(r, c, "console.clients.created.title")
	p.Data = clientView{Client: cl, Secret: plain, Created: true}
	h.render(w, http.StatusOK, "client", p)
	return nil
}

func (h *Handler) clientShow(w http.ResponseWriter, r *http.Request, c *call) error {
	return h.showClient(w, r, c, http.StatusOK, nil)
}

func (h *Handler) showClient(w http.ResponseWriter, r *http.Request, c *call, status int, refusal error) error {
	if err := c.who.Require(staff.PermManageClients); err != nil {
		return err
	}
	cl, err := h.d.Clients.GetAs(r.Context(), c.who, r.PathValue("realm"), r.PathValue("id"))
	if err != nil {
		return err
	}
	p := h.newPage(r, c, "console.clients.client.title")
	v := clientView{Client: cl}
	if refusal != nil {
		status, v.Invalid = showRefusal(p, r, refusal)
	}
	p.Data = v
	h.render(w, status, "client", p)
	return nil
}

func (h *Handler) clientDelete(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := c.who.Require(staff.PermManageClients); err != nil {
		return err
	}
	if err := form(w, r); err != nil {
		return err
	}
	realmID, id := r.PathValue("realm"), r.PathValue("id")
	var refused []error
	if r.PostForm.Get("confirm") == "" {
		refused = append(refused, ninsho.FieldError(ninsho.CodeFieldRequired, "confirm"))
	}
	if _, err := oauthclient.Reason(r.PostForm.Get("reason")); err != nil {
		refused = append(refused, err)
	}
	err := ninsho.Fields(refused...)
	if err == nil {
		err = h.d.Clients.DeleteAs(r.Context(), c.who, c.req, realmID, id, r.PostForm.Get("reason"))
	}
	switch {
	case err == nil:
		http.Redirect(w, r, Path+"/clients?done=deleted", http.StatusSeeOther)
		return nil
	case ninsho.ErrorOf(err).Field == "":
		return err
	}
	return h.showClient(w, r, c, 0, err)
}

// showRefusal puts a refused client form back on p — the summary, each
// field's messages, what was typed — and returns the status and the
// refused fields.
func showRefusal(p *page, r *http.Request, refusal error) (int, map[string][]string) {
	status := p.withError(r, refusal)
	clientMessages(p, refusal)
	p.Form = r.PostForm
	return status, invalidFields(p)
}

// clientMessages rewrites the page's refusals in the console's words for
// clients: the catalogue's general texts speak to customers ("your
// name"), and a request_invalid's reason says what is wrong with the
// field ("console.clients.reason.<reason>", with the refused value).
func clientMessages(p *page, err error) {
	all := ninsho.ErrorOf(err).All()
	if p.Error == nil || len(all) != len(p.Error.Items) {
		return
	}
	for i, x := range all {
		if msg := clientMessage(p.Locale, x); msg != "" {
			p.Error.Items[i].Message = msg
		}
	}
}

// clientMessage is the console's text for one refusal of a client's
// registration or deletion, or "" to keep the catalogue's.
func clientMessage(locale string, x *ninsho.Error) string {
	var key string
	switch x.Code {
	case ninsho.CodeRequestInvalid:
		reason, _ := x.Params["reason"].(string)
		key = "console.clients.reason." + reason
	case ninsho.CodeFieldRequired:
		key = "console.clients.required." + x.Field
	case ninsho.CodeFieldTooLong:
		key = "console.clients.too_long"
	default:
		return ""
	}
	if i18n.Message(locale, key, nil) == key {
		return "" // no text of its own
	}
	return i18n.Message(locale, key, x.Params)
}

// invalidFields are the page's refusals by field, for the messages shown
// at each field.
func invalidFields(p *page) map[string][]string {
	out := map[string][]string{}
	if p.Error == nil {
		return out
	}
	for _, it := range p.Error.Items {
		if it.Field != "" {
			out[it.Field] = append(out[it.Field], it.Message)
		}
	}
	return out
}
