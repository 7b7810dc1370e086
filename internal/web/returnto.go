package web

import (
	"net/http"
	"net/url"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/web/webreq"
)

// Returning to the shop. Every page that starts a flow (/signin, /signup,
// /unlock, /password-assistant) accepts return_to, in its query (GET) or as
// a form field (POST). It is checked against the realm's allow-list
// (realm.Realm.ReturnURL) when it arrives; a value that does not match is
// dropped without a word. Before a flow exists the page carries the checked
// value itself: a hidden field in its forms, and the return_to parameter of
// its language links and of the links between the start pages. The flow
// that the page starts keeps it (flow.Flow.ReturnTo), so CAPTCHA steps, code
// steps, refused inputs and language switches on the flow's pages need
// nothing more. A flow that completes with a session sends the browser there
// (303) instead of /account. Messages never carry it.

// returnToParam is the query parameter and form field.
const returnToParam = "return_to"

// checkReturnTo returns the normalised raw when the realm allows it, else "".
// Besides the realm's allow-list, two paths of this server are allowed:
// the OpenID Connect bridge's (webreq.OIDCLogin) and, exactly, the
// invitation page (OrgInvitationPath, no query: its token waits in a
// cookie), so that an invited person comes back to it after signing in or
// creating an account.
func checkReturnTo(rl *realm.Realm, raw string) string {
	if raw == "" {
		return ""
	}
	if u, ok := webreq.OIDCLogin(raw); ok {
		return u
	}
	if raw == OrgInvitationPath {
		return raw
	}
	u, _ := rl.ReturnURL(raw)
	return u
}

// takeReturnTo keeps the posted return_to on p when the realm allows it (a
// form page read from its query may already hold one).
func (p *page) takeReturnTo(rl *realm.Realm, r *http.Request) {
	if u := checkReturnTo(rl, r.PostForm.Get(returnToParam)); u != "" {
		p.ReturnTo = u
	}
}

// flowReturnTo shows on p where the flow f returns to, so that the page's
// links to the start pages keep it.
func (p *page) flowReturnTo(f *flow.Flow) {
	if f != nil && f.ReturnTo != "" {
		p.ReturnTo = f.ReturnTo
	}
}

// WithReturnTo is path with the page's return_to added to its query (the
// templates' links to the start pages).
func (p *page) WithReturnTo(path string) string { return withReturnTo(path, p.ReturnTo) }

// withReturnTo adds return_to to a link's query when it is set.
func withReturnTo(link, returnTo string) string {
	if returnTo == "" {
		return link
	}
	u, err := url.Parse(link)
	if err != nil {
		return link
	}
	q := u.Query()
	q.Set(returnToParam, returnTo)
	u.RawQuery = q.Encode()
	return u.String()
}

// linkReturnTo adds the page's return_to to its language links that lead to
// a start page without a flow (a flow keeps its own).
func (p *page) linkReturnTo() {
	if p.ReturnTo == "" {
		return
	}
	for i, l := range p.Languages {
		u, err := url.Parse(l.Href)
		if err != nil || u.Query().Has("flow") {
			continue
		}
		p.Languages[i].Href = withReturnTo(l.Href, p.ReturnTo)
	}
}

// startRequest describes r to a service that starts a flow, with the
// checked return_to that the new flow keeps.
func (h *Handler) startRequest(r *http.Request, c *call, p *page) ninsho.Request {
	req := h.request(r, c)
	req.ReturnTo = p.ReturnTo
	return req
}

// doneURL is where the completed flow f sends the browser: its return_to
// while the realm still allows it, otherwise the account page.
func (h *Handler) doneURL(f *flow.Flow) string {
	if u := checkReturnTo(h.d.Realms.ByID(f.Realm), f.ReturnTo); u != "" {
		return u
	}
	return "/account"
}

// signedInReturn sends a browser that already has a live session straight
// to the allowed return_to of a sign-in page, and reports whether it did.
func (h *Handler) signedInReturn(w http.ResponseWriter, r *http.Request, c *call, returnTo string) (bool, error) {
	token, _ := webreq.SessionToken(r)
	if returnTo == "" || token == "" {
		return false, nil
	}
	pr, err := h.d.Signin.Authenticate(r.Context(), c.realm, token)
	if ninsho.IsCode(err, ninsho.CodeUnauthenticated) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if pr == nil || pr.Account == nil {
		return false, nil
	}
	http.Redirect(w, r, returnTo, http.StatusSeeOther)
	return true, nil
}
