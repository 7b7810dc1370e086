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
// Repeated starts meet a CAPTCHA first, as on every start page (start.go).

func (h *Handler) resetForm(w http.ResponseWriter, r *http.Request, c *call) error {
	return h.startForm(w, r, c, flow.KindReset)
}

// resetStart starts the password assistant, or answers the CAPTCHA that
// holds it back.
func (h *Handler) resetStart(w http.ResponseWriter, r *http.Request, c *call) error {
	return h.startOrSolve(w, r, c, flow.KindReset, func(p *page) (*flow.Answer, error) {
		identifier, err := formValue(r, "identifier")
		p.Form["identifier"] = identifier
		if err != nil {
			return nil, err
		}
		return h.d.Reset.Start(r.Context(), c.realm, h.startRequest(r, c, p), identifier)
	})
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
	p.FlowID, p.Next, p.Form["identifier"] = ans.Flow.ID, ans.Next, p.Shown(ans.Flow.Identifier)
	p.flowReturnTo(ans.Flow)
	p.CodeSignIn = slices.Contains(ans.Next.Options, flow.ActionSignInWithCode)
	return p
}

func (h *Handler) resetChoose(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := postedFlow(w, r)
	if err != nil {
		return err
	}
	a := flow.Action{Name: r.PostForm.Get("action")}
	switch a.Name {
	case flow.ActionSignInWithCode:
	case flow.ActionSetNewPassword:
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
