package web

import (
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// The enrolment page: /two-step/enrol?flow= leads an account that must have
// two-step verification and has none (realms[].two_step.required_for)
// through adding an authenticator app before any session: a button begins
// it (begin_totp), then the page shows the QR code (an inline PNG), the
// secret in groups of four and the otpauth URL for people who type them,
// and a code field; the right code (submit_second_factor) turns 2SV on and
// follows the flow where it leads. Every flow kind reaches it the same way,
// bound to the browser by the flow's cookie.

// enrolPath is the enrolment page.
const enrolPath = "/two-step/enrol"

// enrolView is the authenticator app being added, as the page shows it.
type enrolView struct {
	QR      template.URL // data:image/png;base64,…
	Grouped string
	URL     template.URL // otpauth://, drawn by the server
}

// atEnrol reports whether ans is a flow waiting for enrolment.
func atEnrol(ans *flow.Answer) bool {
	return ans.Flow.Status == flow.StatusChallenge && ans.Next != nil && ans.Next.Step == flow.StepEnrolSecondFactor
}

// enrolPage is the enrolment page of the flow of ans, with the app being
// added when one was begun.
func (h *Handler) enrolPage(r *http.Request, c *call, ans *flow.Answer) (*page, error) {
	p := h.newPage(r, c.realm, c.locale, "page.two_step_enrol.title")
	p.FlowID, p.Next = ans.Flow.ID, ans.Next
	p.restartFor(ans.Flow)
	en, err := h.d.Signin.Kit.SecondFactor().EnrolmentOf(r.Context(), c.realm, ans.Flow)
	if err != nil {
		return nil, err
	}
	if en != nil {
		p.Enrolment = &enrolView{
			QR:      template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(en.QRPNG)),
			Grouped: en.SecretGrouped,
			URL:     template.URL(en.OTPAuthURL),
		}
	}
	return p, nil
}

// renderEnrol renders p with err (nil: 200) and the CSP that lets the QR
// code show.
func (h *Handler) renderEnrol(w http.ResponseWriter, r *http.Request, p *page, err error) {
	w.Header().Set("Content-Security-Policy", withDataImages(h.csp(r, h.d.Realms.ForHost(r.Host))))
	if err != nil {
		h.renderError(w, r, "two_step_enrol", p, err)
		return
	}
	h.render(w, r, http.StatusOK, "two_step_enrol", p)
}

func (h *Handler) enrolForm(w http.ResponseWriter, r *http.Request, c *call) error {
	ans, err := h.view(r, c, r.URL.Query().Get("flow"))
	if err != nil {
		return err
	}
	if !atEnrol(ans) {
		return h.redirectFor(w, r, ans)
	}
	p, err := h.enrolPage(r, c, ans)
	if err != nil {
		return err
	}
	h.renderEnrol(w, r, p, nil)
	return nil
}

func (h *Handler) enrol(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := postedFlow(w, r)
	if err != nil {
		return err
	}
	a := flow.Action{Name: r.PostForm.Get("action")}
	switch a.Name {
	case flow.ActionBeginTOTP:
	case flow.ActionSubmitSecondFactor:
		a.Code, err = formValue(r, "code")
	default:
		err = ninsho.FieldError(ninsho.CodeActionUnknown, "action")
	}
	if err != nil {
		return h.enrolAgain(w, r, c, id, nil, err)
	}
	if a.Name == flow.ActionBeginTOTP {
		ans, err := h.act(r, c, id, a)
		if err != nil {
			if ans == nil || ans.Flow == nil {
				return err
			}
			return h.enrolAgain(w, r, c, id, ans, err)
		}
		h.remember(w, r, ans)
		// The secret is shown by the page's GET (read again from the store).
		http.Redirect(w, r, enrolPath+"?"+url.Values{"flow": {id}}.Encode(), http.StatusSeeOther)
		return nil
	}
	ans, err := h.act(r, c, id, a)
	if err == nil && ans != nil && ans.Flow != nil && ans.Session != nil && ans.Flow.ReturnTo == "" {
		// Enrolled because the realm requires it: the settings page comes
		// next, which strongly offers backup codes or a second method
		// before the person goes on (a fresh sign-in is recent).
		h.remember(w, r, ans)
		h.cookies.SetSession(w, r, ans.Session, h.d.Now())
		http.Redirect(w, r, twoStepPath+"?done=on", http.StatusSeeOther)
		return nil
	}
	return h.answered(w, r, c, id, ans, err, h.enrolAgain)
}

// enrolAgain shows the enrolment page of flow id again with err; a flow
// that failed gets the page that says why and offers only the way to start
// again.
func (h *Handler) enrolAgain(w http.ResponseWriter, r *http.Request, c *call, id string, ans *flow.Answer, err error) error {
	if ans == nil || (ans.Next == nil && ans.Flow.Status != flow.StatusFailed) {
		v, vErr := h.view(r, c, id)
		if vErr != nil {
			return vErr
		}
		ans = v
	}
	if ans.Flow.Status == flow.StatusFailed {
		p := h.newPage(r, c.realm, c.locale, "page.two_step_enrol.title")
		p.FlowID = ans.Flow.ID
		p.restartFor(ans.Flow)
		p.Ended = true
		h.renderEnrol(w, r, p, err)
		return nil
	}
	if !atEnrol(ans) {
		return err
	}
	p, pErr := h.enrolPage(r, c, ans)
	if pErr != nil {
		return pErr
	}
	h.renderEnrol(w, r, p, err)
	return nil
}
