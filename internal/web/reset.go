package web

import (
	"net/http"
	"slices"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// The password assistant's pages: /password-assistant asks for the
// identifier and sends a code (the sign-in page's "forgot your password?"
// link leads there); /verify takes the code; /password-assistant/choose then
// asks "how do you want to sign in?" — once with the code, when the realm
// allows it, or with a new password typed twice — and the completed flow
// signs the person in. An unfinished sign-up's code completes it on /verify.

func (h *Handler) resetForm(w http.ResponseWriter, r *http.Request, c *call) error {
	h.render(w, r, http.StatusOK, "reset", h.newPage(r, c.realm, c.locale, "page.password_assistant.title"))
	return nil
}

func (h *Handler) resetStart(w http.ResponseWriter, r *http.Request, c *call) error {
	p := h.newPage(r, c.realm, c.locale, "page.password_assistant.title")
	if err := parseForm(w, r); err != nil {
		h.renderError(w, r, "reset", p, err)
		return nil
	}
	identifier, err := formValue(r, "identifier")
	p.Form["identifier"] = identifier
	if err != nil {
		h.renderError(w, r, "reset", p, err)
		return nil
	}
	var ans *flow.Answer
	id, action := r.PostForm.Get("flow"), r.PostForm.Get("action")
	if id != "" && (action == flow.ActionSubmitCaptcha || action == flow.ActionNewCaptcha) {
		// The CAPTCHA that holds the code back (repeated or automated starts).
		if !ninsho.ValidID(id) {
			return ninsho.E(ninsho.CodeFlowNotFound)
		}
		answer, ferr := formValue(r, "answer")
		if ferr != nil {
			h.renderError(w, r, "reset", p, ferr)
			return nil
		}
		ans, err = h.act(r, c, id, flow.Action{Name: action, Answer: answer})
	} else {
		ans, err = h.d.Reset.Start(r.Context(), c.realm, h.request(r, c), identifier)
	}
	if ans != nil {
		h.remember(w, r, ans)
	}
	if ans != nil && ans.Flow != nil && ans.Next != nil && ans.Next.Step == flow.StepCaptcha {
		p.FlowID = ans.Flow.ID
		p.Captcha = newCaptchaView(ans.Next.Captcha, c.locale)
		if err != nil && !ninsho.IsCode(err, ninsho.CodeCaptchaRequired) {
			h.renderError(w, r, "reset", p, err)
			return nil
		}
		h.render(w, r, http.StatusOK, "reset", p)
		return nil
	}
	if err != nil {
		h.renderError(w, r, "reset", p, err)
		return nil
	}
	return h.follow(w, r, ans)
}

// atResetChoose reports whether ans is a password-assistant flow waiting for
// the choice after its code.
func atResetChoose(ans *flow.Answer) bool {
	return ans.Flow.Kind == flow.KindReset && ans.Flow.Status != flow.StatusComplete && ans.Next != nil &&
		ans.Next.Step == flow.StepChoose
}

// resetChoosePage is the choice page of a password-assistant flow at step
// choose.
func (h *Handler) resetChoosePage(r *http.Request, c *call, ans *flow.Answer) *page {
	p := h.newPage(r, c.realm, c.locale, "page.password_assistant_choose.title")
	p.RenderedAt = h.d.Now().UnixMilli()
	p.FlowID, p.Next, p.Form["identifier"] = ans.Flow.ID, ans.Next, ans.Flow.Identifier
	p.CodeSignIn = slices.Contains(ans.Next.Options, flow.ActionSignInWithCode)
	return p
}

func (h *Handler) resetChooseForm(w http.ResponseWriter, r *http.Request, c *call) error {
	ans, err := h.view(r, c, r.URL.Query().Get("flow"))
	if err != nil {
		return err
	}
	if !atResetChoose(ans) {
		return h.redirectFor(w, r, ans)
	}
	h.render(w, r, http.StatusOK, "reset_choose", h.resetChoosePage(r, c, ans))
	return nil
}

func (h *Handler) resetChoose(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.URL.Query().Get("flow")
	if !ninsho.ValidID(id) {
		return ninsho.E(ninsho.CodeFlowNotFound)
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	a := flow.Action{Name: r.PostForm.Get("action")}
	switch a.Name {
	case flow.ActionSignInWithCode:
	case flow.ActionSetNewPassword:
		var err error
		if a.Password, err = formValue(r, "password"); err != nil {
			return h.resetChooseAgain(w, r, c, id, nil, err)
		}
		if a.PasswordConfirmation, err = formValue(r, "password_confirmation"); err != nil {
			return h.resetChooseAgain(w, r, c, id, nil, err)
		}
		a.FormElapsedMS = formElapsed(r, h.d.Now()).Milliseconds()
	default:
		return h.resetChooseAgain(w, r, c, id, nil, ninsho.FieldError(ninsho.CodeActionUnknown, "action"))
	}
	return h.actOnStep(w, r, c, id, a, h.resetChooseAgain)
}

// resetChooseAgain shows the choice page of flow id again with err.
func (h *Handler) resetChooseAgain(w http.ResponseWriter, r *http.Request, c *call, id string, ans *flow.Answer, err error) error {
	return h.stepAgain(w, r, c, id, ans, err, atResetChoose, "reset_choose", h.resetChoosePage)
}
