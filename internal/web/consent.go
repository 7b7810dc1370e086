package web

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/web/webreq"
)

// The OpenID Connect provider's pages (issue 14). The provider's login
// bridge (internal/oidc) sends a signed-in person here when a third-party
// client asks for scopes the person has not allowed it (the consent page,
// webreq.OIDCConsentPath?id=<sealed request>): the client's name, the
// scopes in words, Allow and Deny. Allow remembers the consent and goes
// back to the bridge, which finishes; Deny answers the client
// access_denied. /account/apps lists the clients the person allowed, each
// with Revoke, which forgets the consent and revokes the client's tokens.
// /account/two-step?return_to=<bridge URL> (a client asked for two factors
// of an account without two-step verification) keeps that URL in a cookie
// through the enrolment pages and shows "Continue to <app>" once two-step
// verification is on and the session is two factors.

// AppsPath is the page of the clients the signed-in person allowed.
const AppsPath = "/account/apps"

// oidcReturnCookie keeps the bridge URL given to /account/two-step through
// the enrolment pages (path /account, HttpOnly, SameSite=Lax, as long as a
// request can be finished; the bridge clears it when it finishes).
const oidcReturnCookie = webreq.OIDCReturnCookie

// oidcReturnFor is the cookie's lifetime: an authorization request's.
const oidcReturnFor = 30 * time.Minute

// OIDCRequests is what the pages need of the OpenID Connect provider
// (*oidc.Handler).
type OIDCRequests interface {
	// Request describes the sealed authorization request id (client and
	// scopes); flow_expired when it cannot be finished any more.
	Request(ctx context.Context, rl *realm.Realm, id string) (*webreq.OIDCRequest, error)
	// Allow remembers that the account allowed the request's client its
	// scopes.
	Allow(ctx context.Context, rl *realm.Realm, req ninsho.Request, accountID, id string) error
	// Deny answers the request's client access_denied (a redirect).
	Deny(w http.ResponseWriter, r *http.Request, id string)
}

// oidcView is the OpenID Connect part of a page.
type oidcView struct {
	// Request is the request on the consent page, or the one the
	// "Continue to" link finishes.
	Request *webreq.OIDCRequest
	// Scopes are the catalogue keys of the request's scopes in words.
	Scopes []string
	// Continue is the bridge URL of the "Continue to" link.
	Continue string
	// Asked is set on the two-step page while an application's request
	// waits for two-step verification to be turned on (no Continue yet).
	Asked bool
	// Apps are the rows of /account/apps; Zone the catalogue key of the
	// zone of their times.
	Apps []appRow
	Zone string
}

// appRow is one allowed client on /account/apps.
type appRow struct {
	ClientID, Name string
	Scopes         []string // catalogue keys
	When, WhenISO  string
}

// scopeWords are the catalogue keys of the scopes in words, in the order
// the pages list them.
var scopeWords = []string{"openid", "profile", "email", "phone", "organisations", "offline_access"}

// scopeKeys returns the catalogue keys of scopes, in scopeWords' order.
func scopeKeys(scopes []string) []string {
	out := []string{}
	for _, w := range scopeWords {
		for _, s := range scopes {
			if s == w {
				out = append(out, "consent.scope."+w)
				break
			}
		}
	}
	return out
}

func (h *Handler) routesOIDC() {
	h.mux.Handle("GET "+webreq.OIDCConsentPath, h.handle(h.consentForm))
	h.mux.Handle("POST "+webreq.OIDCConsentPath, h.handle(h.consentDecide))
	h.mux.Handle("GET "+AppsPath, h.handle(h.apps))
	h.mux.Handle("POST "+AppsPath, h.handle(h.revokeApp))
}

// consentForm shows the consent page of the request ?id=.
func (h *Handler) consentForm(w http.ResponseWriter, r *http.Request, c *call) error {
	if h.d.OIDC == nil {
		return ninsho.E(ninsho.CodeNotFound)
	}
	id := r.URL.Query().Get("id")
	pr, err := h.signedIn(w, r, c)
	if pr == nil || err != nil {
		return err
	}
	req, err := h.d.OIDC.Request(r.Context(), c.realm, id)
	if err != nil {
		return err
	}
	p := h.newPage(r, c.realm, c.locale, "page.consent.title")
	p.Account = pr.Account
	p.OIDC = &oidcView{Request: req, Scopes: scopeKeys(req.Scopes)}
	p.relink(r.URL.Path, url.Values{"id": {id}})
	h.render(w, r, http.StatusOK, "consent", p)
	return nil
}

// consentDecide takes the consent page's answer: action allow (remember,
// then back to the bridge) or deny (access_denied to the client).
func (h *Handler) consentDecide(w http.ResponseWriter, r *http.Request, c *call) error {
	if h.d.OIDC == nil {
		return ninsho.E(ninsho.CodeNotFound)
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	id := r.PostForm.Get("id")
	pr, err := h.signedIn(w, r, c)
	if pr == nil || err != nil {
		return err
	}
	switch r.PostForm.Get("action") {
	case "allow":
		if err := h.d.OIDC.Allow(r.Context(), c.realm, h.request(r, c), pr.Account.ID, id); err != nil {
			return err
		}
		http.Redirect(w, r, webreq.OIDCLoginPath+"?id="+url.QueryEscape(id), http.StatusSeeOther)
	case "deny":
		if _, err := h.d.OIDC.Request(r.Context(), c.realm, id); err != nil {
			return err
		}
		h.d.OIDC.Deny(w, r, id)
	default:
		return ninsho.E(ninsho.CodeRequestInvalid)
	}
	return nil
}

// apps lists the clients the person allowed (no re-authentication: it
// shows nothing secret, and revoking only takes access away).
func (h *Handler) apps(w http.ResponseWriter, r *http.Request, c *call) error {
	if h.d.Consents == nil {
		return ninsho.E(ninsho.CodeNotFound)
	}
	pr, err := h.signedIn(w, r, c)
	if pr == nil || err != nil {
		return err
	}
	list, err := h.d.Consents.List(r.Context(), c.realm.ID, pr.Account.ID)
	if err != nil {
		return err
	}
	p := h.newPage(r, c.realm, c.locale, "page.apps.title")
	p.Account = pr.Account
	loc, zone := realmZone(c.realm)
	v := &oidcView{Apps: []appRow{}, Zone: zone}
	for _, cs := range list {
		v.Apps = append(v.Apps, appRow{ClientID: cs.ClientID, Name: cs.ClientName, Scopes: scopeKeys(cs.Scopes),
			When: historyTime(c.locale, cs.GrantedAt.In(loc)), WhenISO: cs.GrantedAt.UTC().Format(time.RFC3339)})
	}
	p.OIDC = v
	if r.URL.Query().Get("done") == "revoked" {
		p.Notice = "apps.notice.revoked"
	}
	h.render(w, r, http.StatusOK, "apps", p)
	return nil
}

// revokeApp revokes the consent of the posted client_id (and the client's
// tokens of the person); a client the person did not allow is not_found.
func (h *Handler) revokeApp(w http.ResponseWriter, r *http.Request, c *call) error {
	if h.d.Consents == nil {
		return ninsho.E(ninsho.CodeNotFound)
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	pr, err := h.signedIn(w, r, c)
	if pr == nil || err != nil {
		return err
	}
	if err := h.d.Consents.Revoke(r.Context(), c.realm.ID, pr.Account.ID, r.PostForm.Get("client_id"), h.request(r, c)); err != nil {
		return err
	}
	http.Redirect(w, r, AppsPath+"?done=revoked", http.StatusSeeOther)
	return nil
}

// keepOIDCReturn keeps a bridge URL given to /account/two-step as
// return_to in the oidcReturnCookie, so that the enrolment pages and a
// re-authentication in between do not lose it.
func (h *Handler) keepOIDCReturn(w http.ResponseWriter, r *http.Request) {
	if h.d.OIDC == nil {
		return
	}
	u, ok := webreq.OIDCLogin(r.URL.Query().Get(returnToParam))
	if !ok {
		return
	}
	http.SetCookie(w, &http.Cookie{Name: oidcReturnCookie, Value: url.QueryEscape(u), Path: "/account",
		MaxAge: int(oidcReturnFor / time.Second), HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: h.cookies.Secure || r.TLS != nil})
}

// oidcContinue puts on the two-step settings page p the "Continue to
// <app>" link of the kept bridge URL, when two-step verification is on,
// the session is two factors and the request can still be finished.
func (h *Handler) oidcContinue(r *http.Request, c *call, p *page, aal int) {
	if h.d.OIDC == nil || p.TwoStep == nil {
		return
	}
	ready := p.TwoStep.Enabled && aal >= 2
	raw := r.URL.Query().Get(returnToParam)
	if ck, err := r.Cookie(oidcReturnCookie); raw == "" && err == nil {
		raw, _ = url.QueryUnescape(ck.Value)
	}
	id := webreq.OIDCLoginID(raw)
	if id == "" {
		return
	}
	req, err := h.d.OIDC.Request(r.Context(), c.realm, id)
	if err != nil {
		return
	}
	if !ready { // say why the person is here
		p.OIDC = &oidcView{Request: req, Asked: true}
		return
	}
	p.OIDC = &oidcView{Request: req, Continue: webreq.OIDCLoginPath + "?id=" + id}
}
