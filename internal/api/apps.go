package api

import (
	"net/http"

	"github.com/ninsho/ninsho/internal/ninsho"
)

// The third-party OpenID Connect clients the signed-in person allowed
// (internal/consent), as on /account/apps: GET lists them, DELETE revokes
// one — the consent and every token the client holds for the person. No
// recent sign-in is needed: revoking only takes access away.
func (h *Handler) appsRoutes() {
	h.mux.Handle("GET /api/v1/me/apps", h.handle(h.listApps))
	h.mux.Handle("DELETE /api/v1/me/apps/{client_id}", h.handle(h.revokeApp))
}

// appJSON is one allowed client.
type appJSON struct {
	ClientID  string   `json:"client_id"`
	Name      string   `json:"name"`
	Scopes    []string `json:"scopes"`
	GrantedAt string   `json:"granted_at"`
}

// listApps answers the clients the account allowed, most recently
// allowed first.
func (h *Handler) listApps(w http.ResponseWriter, r *http.Request, c *call) error {
	if h.d.Consents == nil {
		return ninsho.E(ninsho.CodeNotFound)
	}
	p, err := h.signedIn(r, c)
	if err != nil {
		return err
	}
	list, err := h.d.Consents.List(r.Context(), c.realm.ID, p.Account.ID)
	if err != nil {
		return err
	}
	out := struct {
		Apps []appJSON `json:"apps"`
	}{Apps: []appJSON{}}
	for _, cs := range list {
		scopes := cs.Scopes
		if scopes == nil {
			scopes = []string{}
		}
		out.Apps = append(out.Apps, appJSON{ClientID: cs.ClientID, Name: cs.ClientName, Scopes: scopes, GrantedAt: timeText(cs.GrantedAt)})
	}
	return writeJSON(w, http.StatusOK, out)
}

// revokeApp revokes the account's consent to the client and the client's
// tokens of the account: 204, or 404 not_found for a client the account
// did not allow.
func (h *Handler) revokeApp(w http.ResponseWriter, r *http.Request, c *call) error {
	if h.d.Consents == nil {
		return ninsho.E(ninsho.CodeNotFound)
	}
	if err := checkNoBody(r); err != nil {
		return err
	}
	p, err := h.signedIn(r, c)
	if err != nil {
		return err
	}
	if err := h.d.Consents.Revoke(r.Context(), c.realm.ID, p.Account.ID, r.PathValue("client_id"), h.request(r, c, "")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
