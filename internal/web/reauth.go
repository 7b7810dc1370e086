package web

import (
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/web/webreq"
)

// Re-authentication: /reauth?return_to=/account/… asks a signed-in person
// whose session is not recent enough (recentlySignedIn) for the password
// again, then — for an account with two-step verification — the second
// factor on /two-step?flow=, and sends the browser back to return_to. The
// flow belongs to the browser (its cookie) and to the session (the session
// cookie); it issues no new session.

// reauthDefault is where re-authentication returns without a usable
// return_to.
const reauthDefault = "/account"

// reauthReturn returns raw when it is a local path of this server under
// /account (no scheme, host, query or "..", cleaned) or the OpenID Connect
// provider's login bridge (webreq.OIDCLogin), else /account: a
// re-authentication never sends the browser anywhere else.
func reauthReturn(raw string) string {
	if u, ok := webreq.OIDCLogin(raw); ok {
		return u
	}
	if raw == "" || !strings.HasPrefix(raw, "/") || strings.HasPrefix(raw, "//") || strings.ContainsAny(raw, "\\#") {
		return reauthDefault
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" || u.User != nil {
		return reauthDefault
	}
	p := path.Clean(u.Path)
	if p != reauthDefault && !strings.HasPrefix(p, reauthDefault+"/") {
		return reauthDefault
	}
	if q := keptQuery(u.Query()); q != "" {
		return p + "?" + q
	}
	return p
}

// reauthKept are the query parameters a page of sensitive changes keeps
// through a re-authentication (the number being replaced, the app being
// added), each an id; any other parameter, or a value that is no id, is
// dropped.
var reauthKept = []string{"replaces", "credential"}

// keptQuery is the part of q that reauthReturn keeps, encoded.
func keptQuery(q url.Values) string {
	kept := url.Values{}
	for _, k := range reauthKept {
		if v := q.Get(k); ninsho.ValidID(v) {
			kept.Set(k, v)
		}
	}
	return kept.Encode()
}

// reauthPage is the password page of a re-authentication of pr's session.
func (h *Handler) reauthPage(r *http.Request, c *call, pr *signin.Principal, returnTo, flowID string) *page {
	p := h.newPage(r, c.realm, c.locale, "page.reauth.title")
	p.Account = pr.Account
	p.FlowID = flowID
	p.RenderedAt = h.d.Now().UnixMilli()
	p.Form["identifier"] = p.Shown(pr.Account.Email)
	if pr.Account.Email == "" {
		p.Form["identifier"] = p.Shown(pr.Account.Phone)
	}
	p.Form["return_to"] = returnTo
	q := url.Values{}
	if flowID != "" {
		q.Set("flow", flowID)
	}
	p.relink(ReauthPath, q)
	for i := range p.Languages {
		u, _ := url.Parse(p.Languages[i].Href)
		v := u.Query()
		v.Set(returnToParam, returnTo)
		u.RawQuery = v.Encode()
		p.Languages[i].Href = u.String()
	}
	return p
}

// reauthForm shows the password form (GET /reauth).
func (h *Handler) reauthForm(w http.ResponseWriter, r *http.Request, c *call) error {
	pr, err := h.signedIn(w, r, c)
	if pr == nil || err != nil {
		return err
	}
	returnTo := reauthReturn(r.URL.Query().Get(returnToParam))
	id := r.URL.Query().Get("flow")
	if id != "" {
		ans, err := h.view(r, c, id)
		if err != nil {
			return err
		}
		if ans.Flow.Kind != flow.KindReauth || ans.Next == nil || ans.Next.Step != flow.StepPassword {
			return h.redirectFor(w, r, ans)
		}
		returnTo = reauthReturn(ans.Flow.ReturnTo)
	}
	h.render(w, r, http.StatusOK, "reauth", h.reauthPage(r, c, pr, returnTo, id))
	return nil
}

// reauth handles the password form (POST /reauth): the first password
// starts the flow, later ones act on it (the hidden flow field).
func (h *Handler) reauth(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	pr, err := h.signedIn(w, r, c)
	if pr == nil || err != nil {
		return err
	}
	returnTo := reauthReturn(r.PostForm.Get(returnToParam))
	id := r.PostForm.Get("flow")
	if id != "" && !ninsho.ValidID(id) {
		return ninsho.E(ninsho.CodeFlowNotFound)
	}
	again := func(flowID string, err error) error {
		h.renderError(w, r, "reauth", h.reauthPage(r, c, pr, returnTo, flowID), err)
		return nil
	}
	pw, err := formValue(r, "password")
	if err != nil {
		return again(id, err)
	}
	if pw == "" {
		return again(id, ninsho.FieldError(ninsho.CodeFieldRequired, "password"))
	}
	var ans *flow.Answer
	if id != "" {
		ans, err = h.act(r, c, id, flow.Action{Name: flow.ActionSubmitPassword, Password: pw})
	} else {
		req := h.request(r, c)
		req.ReturnTo = returnTo
		ans, err = h.d.Reauth.Start(r.Context(), c.realm, req, pr, pw)
	}
	if ans == nil || ans.Flow == nil {
		if err == nil {
			err = ninsho.Internal("web: re-authentication answered nothing")
		}
		if ninsho.IsCode(err, ninsho.CodeRateLimited) {
			return again(id, err) // too many starts of this session: the form says to wait
		}
		return err
	}
	h.remember(w, r, ans)
	if err != nil {
		if ninsho.IsCode(err, ninsho.CodeFlowExpired) || ninsho.IsCode(err, ninsho.CodeFlowCompleted) {
			return again("", err)
		}
		next := ans.Flow.ID
		if ans.Flow.Status == flow.StatusFailed {
			next = "" // out of attempts: the next password starts anew
		}
		return again(next, err)
	}
	return h.follow(w, r, ans)
}
