package web

import (
	"net/http"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// The second-factor page: /two-step?flow= asks an account with two-step
// verification for the code of the method the flow asks for (the
// authenticator app's six digits, or a backup code), offers the account's
// other methods (switch_method), and then follows the flow where it leads —
// the account page or the return_to of a completed sign-in, the password
// assistant's choice, the unlock's password page. Every flow kind reaches it
// the same way, bound to the browser by the flow's cookie.

// atSecondFactor reports whether ans is a flow waiting for its second
// factor.
func atSecondFactor(ans *flow.Answer) bool {
	return ans.Flow.Status != flow.StatusComplete && ans.Flow.Status != flow.StatusFailed &&
		ans.Next != nil && ans.Next.Step == flow.StepSecondFactor
}

// twoStepPage is the second-factor page of the flow of ans.
func (h *Handler) twoStepPage(r *http.Request, c *call, ans *flow.Answer) *page {
	p := h.newPage(r, c.realm, c.locale, "page.two_step.title")
	p.FlowID, p.Next = ans.Flow.ID, ans.Next
	p.restartFor(ans.Flow)
	h.offerTrust(r, c, p, ans.Flow)
	passkeyAssert(p, ans)
	return p
}

func (h *Handler) twoStep(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := postedFlow(w, r)
	if err != nil {
		return err
	}
	a := flow.Action{Name: r.PostForm.Get("action")}
	switch a.Name {
	case flow.ActionSubmitSecondFactor:
		if a.Credential, err = postedCredential(r); a.Credential == nil && err == nil {
			a.Code, err = formValue(r, "code")
		}
		a.TrustDevice = trustRequested(r)
	case flow.ActionSwitchMethod:
		a.Method, err = formValue(r, "method")
	case flow.ActionResendCode: // SMS and voice call
	default:
		err = ninsho.FieldError(ninsho.CodeActionUnknown, "action")
	}
	if err != nil {
		return h.twoStepAgain(w, r, c, id, nil, err)
	}
	return h.actOnStep(w, r, c, id, a, h.twoStepAgain)
}

// twoStepAgain shows the second-factor page of flow id again with err.
// A flow that failed (out of attempts) gets the page that says why and
// offers only the way to start again.
func (h *Handler) twoStepAgain(w http.ResponseWriter, r *http.Request, c *call, id string, ans *flow.Answer, err error) error {
	if ans != nil && ans.Flow.Status == flow.StatusFailed {
		p := h.twoStepPage(r, c, ans)
		p.Ended = true
		h.renderError(w, r, "two_step", p, err)
		return nil
	}
	return h.stepAgain(w, r, c, id, ans, err, atSecondFactor, "two_step", h.twoStepPage)
}
