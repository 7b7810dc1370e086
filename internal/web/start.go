package web

import (
	"net/http"
	"net/url"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// The pages that start a flow anyone may begin without signing in —
// /signup, /unlock and /password-assistant — meet the start gate alike: when
// starts repeat (or the client looks automated) the service answers
// captcha_required with the new flow held at step captcha, and nothing is
// sent yet. The page then shows the challenge (image, audio, "another image")
// with the flow's identifier, and its forms post the flow's id with
// submit_captcha or new_captcha back to the same route. A right answer sends
// the code and leads to /verify. The flow keeps what the start was given, so
// sign-up does not ask for the password again. GET of the route with
// ?flow= shows the same step, so that the language switch keeps the flow.

// startPage is one page that starts a flow the start gate may hold.
type startPage struct {
	path     string // the route; the CAPTCHA's forms post to it
	template string
	title    string // catalogue key of the title
}

// startPages are the start pages by the kind of flow they start.
var startPages = map[flow.Kind]startPage{
	flow.KindSignup: {path: "/signup", template: "signup", title: "page.signup.title"},
	flow.KindUnlock: {path: "/unlock", template: "unlock", title: "page.unlock.title"},
	flow.KindReset:  {path: "/password-assistant", template: "reset", title: "page.password_assistant.title"},
	// Document recovery is held by sign-in's protection, not by the start
	// gate, and serves its CAPTCHA itself (recovery.go).
	flow.KindRecovery: {path: "/recovery", template: "recovery", title: "page.recovery.title"},
}

// heldAtCaptcha reports whether ans is an unfinished flow with a start page
// that waits at the start gate's CAPTCHA.
func heldAtCaptcha(ans *flow.Answer) bool {
	if ans == nil || ans.Flow == nil || ans.Next == nil || ans.Next.Step != flow.StepCaptcha || ans.Next.Captcha == nil {
		return false
	}
	_, ok := startPages[ans.Flow.Kind]
	return ok && ans.Flow.Status != flow.StatusComplete && ans.Flow.Status != flow.StatusFailed
}

// startForm serves GET of the start page of kind: the empty form, or with
// ?flow= the CAPTCHA that holds that flow back. A flow at another step is
// sent to the page of its step.
func (h *Handler) startForm(w http.ResponseWriter, r *http.Request, c *call, kind flow.Kind) error {
	sp := startPages[kind]
	p := h.newPage(r, c.realm, c.locale, sp.title)
	if id := r.URL.Query().Get("flow"); id != "" {
		ans, err := h.view(r, c, id)
		if err != nil {
			return err
		}
		if !heldAtCaptcha(ans) || ans.Flow.Kind != kind {
			return h.redirectFor(w, r, ans)
		}
		showCaptcha(p, sp, ans)
	}
	h.render(w, r, http.StatusOK, sp.template, p)
	return nil
}

// startOrSolve serves POST of the start page of kind. A post with a flow id
// and submit_captcha or new_captcha acts on that flow; any other post calls
// start, which reads the form (keeping what may be shown again in p.Form)
// and starts the flow. A flow held at the CAPTCHA shows the challenge (with
// a wrong answer's error); any other refusal shows the form again; anything
// else leads to the page of the answer's next step.
func (h *Handler) startOrSolve(w http.ResponseWriter, r *http.Request, c *call, kind flow.Kind, start func(p *page) (*flow.Answer, error)) error {
	sp := startPages[kind]
	p := h.newPage(r, c.realm, c.locale, sp.title)
	if err := parseForm(w, r); err != nil {
		h.renderError(w, r, sp.template, p, err)
		return nil
	}
	p.takeReturnTo(c.realm, r)
	var ans *flow.Answer
	var err error
	if id, action := r.PostForm.Get("flow"), r.PostForm.Get("action"); id != "" && (action == flow.ActionSubmitCaptcha || action == flow.ActionNewCaptcha) {
		ans, err = h.solve(r, c, p, id, action)
	} else {
		ans, err = start(p)
	}
	if heldAtCaptcha(ans) && ans.Flow.Kind == kind {
		h.remember(w, r, ans)
		showCaptcha(p, sp, ans)
		if err != nil && !ninsho.IsCode(err, ninsho.CodeCaptchaRequired) {
			h.renderError(w, r, sp.template, p, err)
			return nil
		}
		h.render(w, r, http.StatusOK, sp.template, p)
		return nil
	}
	if err != nil {
		h.remember(w, r, ans)
		h.renderError(w, r, sp.template, p, err)
		return nil
	}
	return h.follow(w, r, ans)
}

// solve applies submit_captcha (with the posted answer) or new_captcha to
// the flow with the id. The identifier posted with the answer is kept for
// the form, which is shown again when the flow is gone.
func (h *Handler) solve(r *http.Request, c *call, p *page, id, action string) (*flow.Answer, error) {
	if !ninsho.ValidID(id) {
		return nil, ninsho.E(ninsho.CodeFlowNotFound)
	}
	if identifier, err := formValue(r, "identifier"); err == nil {
		p.Form["identifier"] = identifier
	}
	answer, err := formValue(r, "answer")
	if err != nil {
		// Refused before the flow sees it: show its CAPTCHA again.
		ans, vErr := h.view(r, c, id)
		if vErr != nil {
			return ans, vErr
		}
		return ans, err
	}
	return h.act(r, c, id, flow.Action{Name: action, Answer: answer})
}

// showCaptcha puts the CAPTCHA of the held flow of ans on p, with the flow's
// identifier, and points the language switch at the GET page of that step.
func showCaptcha(p *page, sp startPage, ans *flow.Answer) {
	p.FlowID, p.Form["identifier"] = ans.Flow.ID, p.Shown(ans.Flow.Identifier)
	p.flowReturnTo(ans.Flow)
	p.Captcha = newCaptchaView(ans.Next.Captcha, p.Locale, sp.path)
	p.relink(sp.path, url.Values{"flow": {ans.Flow.ID}})
}
