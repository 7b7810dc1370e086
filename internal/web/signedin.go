package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/web/webreq"
)

// ReauthPath is the page where a signed-in person proves who they are again
// before a sensitive change; ?return_to= names the page to go back to (a
// path of this server).
const ReauthPath = "/reauth"

// signedIn returns the person signed in with the session cookie and sets
// the page language to the one language rule in full (a language chosen in
// the request, else the account's own). Without a live session it clears
// the cookie, sends the browser to /signin and returns nil: the caller
// returns at once.
func (h *Handler) signedIn(w http.ResponseWriter, r *http.Request, c *call) (*signin.Principal, error) {
	token, _ := webreq.SessionToken(r)
	if token == "" {
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return nil, nil
	}
	pr, err := h.d.Signin.Authenticate(r.Context(), c.realm, token)
	if ninsho.IsCode(err, ninsho.CodeUnauthenticated) {
		h.cookies.ClearSession(w, r)
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if pr == nil || pr.Account == nil || pr.Session == nil {
		return nil, ninsho.Internal("web: authenticate returned no account")
	}
	c.locale = c.realm.Language(webreq.ChosenLocale(r), pr.Account.Locale)
	return pr, nil
}

// recentlySignedIn is signedIn for a page of sensitive changes: a session
// that has not proved who the person is within the realm's
// re-authentication window, with the second factor where the account has
// one (signin.Service.RecentEnough), is sent to ReauthPath, which returns
// to this page's path afterwards; nil is returned then too.
func (h *Handler) recentlySignedIn(w http.ResponseWriter, r *http.Request, c *call) (*signin.Principal, error) {
	pr, err := h.signedIn(w, r, c)
	if pr == nil || err != nil {
		return nil, err
	}
	if err := h.d.Signin.RecentEnough(r.Context(), c.realm, pr); ninsho.IsCode(err, ninsho.CodeReauthRequired) {
		http.Redirect(w, r, ReauthPath+"?return_to="+url.QueryEscape(h.pageOf(r)), http.StatusSeeOther)
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	return pr, nil
}

// pageOf is the page to come back to after a re-authentication that r
// needed: r's path when it is a page (GET), else the nearest page above
// it — a form's POST (/account/two-step/backup-codes) returns to its
// settings page (/account/two-step), never to a path that answers only
// POST. The form is sent again by the person, not replayed.
func (h *Handler) pageOf(r *http.Request) string {
	p := r.URL.Path
	// The ids a page works on (the number being replaced, the app being
	// added) come back with it; reauthReturn keeps only those.
	var q url.Values
	if r.Method == http.MethodGet {
		q = r.URL.Query()
	} else if err := r.ParseForm(); err == nil {
		q = r.PostForm
	}
	if kept := keptQuery(q); kept != "" {
		return h.pagePath(r, p) + "?" + kept
	}
	return h.pagePath(r, p)
}

// pagePath is p when it is a page (GET) of this server, else the nearest
// page above it, else /account.
func (h *Handler) pagePath(r *http.Request, p string) string {
	for p != "" && p != "/" {
		probe := &http.Request{Method: http.MethodGet, Host: r.Host, URL: &url.URL{Path: p}}
		if _, pattern := h.mux.Handler(probe); pattern != "" && pattern != "GET /{$}" {
			return p
		}
		p = p[:strings.LastIndexByte(p, '/')]
	}
	return "/account"
}
