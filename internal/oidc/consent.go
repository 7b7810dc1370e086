package oidc

import (
	"context"
	"net/http"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/web/webreq"
)

// Consent: a third-party client (oauthclient.Client.FirstParty false)
// needs the person's consent to the scopes it asks for. The bridge sends
// the browser to the consent page (webreq.OIDCConsentPath, served by web
// with the hosted pages' look and CSRF protection) when no remembered
// consent covers the request's scopes, or with prompt=consent when the
// person has not allowed the client since the request was made. The page
// calls the three methods below: Request to show it, Allow (then back to
// the bridge, which finishes), Deny (access_denied to the client).

// Request describes the sealed authorization request id of realm rl for
// the consent page: the client and the scopes. An unreadable or expired
// id, or a client deleted meanwhile, is flow_expired.
func (h *Handler) Request(ctx context.Context, rl *realm.Realm, id string) (*webreq.OIDCRequest, error) {
	a := openRequest(h.Box, rl.ID, id, h.Now())
	if a == nil {
		return nil, ninsho.E(ninsho.CodeFlowExpired)
	}
	c, err := h.storage.clientsFor(ctx).Get(ctx, rl.ID, a.ClientID)
	if err != nil {
		return nil, ninsho.E(ninsho.CodeFlowExpired)
	}
	return &webreq.OIDCRequest{ID: id, ClientID: c.ID, ClientName: c.Name, Scopes: a.Scopes}, nil
}

// Allow remembers that the account allowed the client of request id its
// scopes (consent.Service.Grant: oidc.consent_granted).
func (h *Handler) Allow(ctx context.Context, rl *realm.Realm, req ninsho.Request, accountID, id string) error {
	if h.Consents == nil {
		return ninsho.E(ninsho.CodeNotFound)
	}
	a := openRequest(h.Box, rl.ID, id, h.Now())
	if a == nil {
		return ninsho.E(ninsho.CodeFlowExpired)
	}
	if _, err := h.storage.clientsFor(ctx).Get(ctx, rl.ID, a.ClientID); err != nil {
		return ninsho.E(ninsho.CodeFlowExpired)
	}
	_, err := h.Consents.Grant(ctx, rl.ID, accountID, a.ClientID, a.Scopes, req)
	return err
}

// Deny answers the client of request id access_denied at its redirect URI
// (the person said no); an unreadable or expired id shows flow_expired.
func (h *Handler) Deny(w http.ResponseWriter, r *http.Request, id string) {
	rc := h.reqContext(r)
	r = r.WithContext(withReq(r.Context(), rc))
	a := openRequest(h.Box, rc.realm.ID, id, h.Now())
	if a == nil {
		h.writeError(w, r, ninsho.E(ninsho.CodeFlowExpired))
		return
	}
	h.fail(w, r, a, zoidc.ErrAccessDenied().WithDescription("the person did not allow the application"))
}
