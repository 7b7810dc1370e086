package api

import (
	"net/http"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/web/webreq"
)

// signedIn returns the person signed in with the request's session (the
// Authorization bearer token or the session cookie), or unauthenticated.
// A request that changes something (any method but GET and HEAD) and
// carries the session only as the cookie must come from the same site
// (csrf_rejected otherwise): the browser sends the cookie by itself.
func (h *Handler) signedIn(r *http.Request, c *call) (*signin.Principal, error) {
	token, fromCookie := webreq.SessionToken(r)
	if token == "" {
		return nil, ninsho.E(ninsho.CodeUnauthenticated)
	}
	if fromCookie && r.Method != http.MethodGet && r.Method != http.MethodHead {
		if err := h.cop.Check(r); err != nil {
			return nil, ninsho.E(ninsho.CodeCSRF).Wrap(err)
		}
	}
	p, err := h.d.Signin.Authenticate(r.Context(), c.realm, token)
	if err != nil {
		return nil, err
	}
	if p == nil || p.Account == nil || p.Session == nil {
		return nil, ninsho.Internal("api: authenticate returned no account")
	}
	return p, nil
}

// recentlySignedIn is signedIn for a sensitive change: the session must
// have proved who the person is within the realm's re-authentication
// window, with the second factor where the account has one
// (signin.Service.RecentEnough), otherwise reauth_required (403) — the
// client starts a re-authentication and tries again.
func (h *Handler) recentlySignedIn(r *http.Request, c *call) (*signin.Principal, error) {
	p, err := h.signedIn(r, c)
	if err != nil {
		return nil, err
	}
	if err := h.d.Signin.RecentEnough(r.Context(), c.realm, p); err != nil {
		return nil, err
	}
	return p, nil
}
