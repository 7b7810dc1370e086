package web

import (
	"net/http"
	"net/url"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/web/webreq"
)

// The unlock pages: /unlock asks for the identifier and sends a code (the
// sign-in page's unlock button posts it there directly, so the identifier
// never travels in a URL); /verify takes the code; /unlock/password then
// asks for the current password (a lock for unfamiliar devices) or a new one
// twice (a suspicious lock), and the completed flow signs the person in.
// /signin/not-me (and its short form /n/<token> in text messages) is the
// "this wasn't me" link of sign-in alerts: its GET only
// asks for confirmation, because mail scanners follow links; the POST secures
// the account and starts the unlock. Repeated starts of /unlock meet a
// CAPTCHA first, as on every start page (start.go).

func (h *Handler) unlockForm(w http.ResponseWriter, r *http.Request, c *call) error {
	return h.startForm(w, r, c, flow.KindUnlock)
}

// unlockStart starts an unlock, or answers the CAPTCHA that holds one back.
func (h *Handler) unlockStart(w http.ResponseWriter, r *http.Request, c *call) error {
	return h.startOrSolve(w, r, c, flow.KindUnlock, func(p *page) (*flow.Answer, error) {
		identifier, err := formValue(r, "identifier")
		p.Form["identifier"] = identifier
		if err != nil {
			return nil, err
		}
		return h.d.Unlock.Start(r.Context(), c.realm, h.startRequest(r, c, p), identifier)
	})
}

// unlockPage is the password page of an unlock flow at step password or
// new_password.
func (h *Handler) unlockPage(r *http.Request, c *call, ans *flow.Answer) *page {
	p := h.newPage(r, c.realm, c.locale, "page.unlock.title")
	p.RenderedAt = h.d.Now().UnixMilli()
	p.FlowID, p.Form["identifier"] = ans.Flow.ID, p.Shown(ans.Flow.Identifier)
	p.flowReturnTo(ans.Flow)
	p.NewPassword = ans.Next != nil && ans.Next.Step == flow.StepNewPassword
	if p.NewPassword {
		p.Title = "page.unlock_new_password.title"
	}
	return p
}

// atUnlockPassword reports whether ans is an unlock flow waiting for a
// password.
func atUnlockPassword(ans *flow.Answer) bool {
	return ans.Flow.Kind == flow.KindUnlock && ans.Flow.Status != flow.StatusComplete && ans.Next != nil &&
		(ans.Next.Step == flow.StepPassword || ans.Next.Step == flow.StepNewPassword)
}

func (h *Handler) unlockPassword(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := postedFlow(w, r)
	if err != nil {
		return err
	}
	a := flow.Action{Name: r.PostForm.Get("action")}
	if a.Name != flow.ActionSubmitPassword && a.Name != flow.ActionSetNewPassword {
		return h.unlockPasswordAgain(w, r, c, id, nil, ninsho.FieldError(ninsho.CodeActionUnknown, "action"))
	}
	if a.Password, err = formValue(r, "password"); err != nil {
		return h.unlockPasswordAgain(w, r, c, id, nil, err)
	}
	if a.PasswordConfirmation, err = formValue(r, "password_confirmation"); err != nil {
		return h.unlockPasswordAgain(w, r, c, id, nil, err)
	}
	a.FormElapsedMS = formElapsed(r, h.d.Now()).Milliseconds()
	return h.actOnStep(w, r, c, id, a, h.unlockPasswordAgain)
}

// unlockPasswordAgain shows the password page of flow id again with err.
func (h *Handler) unlockPasswordAgain(w http.ResponseWriter, r *http.Request, c *call, id string, ans *flow.Answer, err error) error {
	return h.stepAgain(w, r, c, id, ans, err, atUnlockPassword, "unlock_password", h.unlockPage)
}

// postedFlow returns the flow id of a step page's POST (its ?flow=) after
// reading the posted form; an id that cannot be one is flow_not_found.
func postedFlow(w http.ResponseWriter, r *http.Request) (string, error) {
	id := r.URL.Query().Get("flow")
	if !ninsho.ValidID(id) {
		return "", ninsho.E(ninsho.CodeFlowNotFound)
	}
	return id, parseForm(w, r)
}

// actOnStep applies a to flow id and follows the answer to its next page; a
// refused input shows the step's page again through again. An expired or
// finished flow gets the error page.
func (h *Handler) actOnStep(w http.ResponseWriter, r *http.Request, c *call, id string, a flow.Action,
	again func(http.ResponseWriter, *http.Request, *call, string, *flow.Answer, error) error) error {
	ans, err := h.act(r, c, id, a)
	return h.answered(w, r, c, id, ans, err, again)
}

// answered is the second half of actOnStep: the browser follows the answer
// of an action already taken, or sees the step again with its refusal.
func (h *Handler) answered(w http.ResponseWriter, r *http.Request, c *call, id string, ans *flow.Answer, err error,
	again func(http.ResponseWriter, *http.Request, *call, string, *flow.Answer, error) error) error {
	if ans == nil || ans.Flow == nil {
		if err == nil {
			err = ninsho.Internal("web: flow answered nothing")
		}
		return err
	}
	h.remember(w, r, ans)
	if err != nil {
		if ninsho.IsCode(err, ninsho.CodeFlowExpired) || ninsho.IsCode(err, ninsho.CodeFlowCompleted) {
			return err
		}
		return again(w, r, c, id, ans, err)
	}
	return h.follow(w, r, ans)
}

// stepForm is the GET handler of a flow step's page: it shows the page that
// page builds when the flow is at the step (at), and otherwise sends the
// browser to the page of wherever the flow is.
func (h *Handler) stepForm(at func(*flow.Answer) bool, template string, page func(*http.Request, *call, *flow.Answer) *page) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		ans, err := h.view(r, c, r.URL.Query().Get("flow"))
		if err != nil {
			return err
		}
		if !at(ans) {
			return h.redirectFor(w, r, ans)
		}
		h.render(w, r, http.StatusOK, template, page(r, c, ans))
		return nil
	}
}

// stepAgain shows the page of flow id's step again with err, at the step of
// ans (read from the flow when ans says none). When the flow is no longer at
// that step (it moved on or failed), the error page says what happened.
func (h *Handler) stepAgain(w http.ResponseWriter, r *http.Request, c *call, id string, ans *flow.Answer, err error,
	at func(*flow.Answer) bool, template string, page func(*http.Request, *call, *flow.Answer) *page) error {
	if ans == nil || ans.Next == nil {
		v, vErr := h.view(r, c, id)
		if vErr != nil {
			return vErr
		}
		ans = v
	}
	if !at(ans) {
		return err
	}
	h.renderError(w, r, template, page(r, c, ans), err)
	return nil
}

func (h *Handler) notMeForm(w http.ResponseWriter, r *http.Request, c *call) error {
	token := r.URL.Query().Get("token")
	if t := r.PathValue("token"); t != "" {
		token = t // /n/<token>, the short form a text message carries
	}
	if token == "" || checkToken(token) != nil {
		// A link cut short or mangled by a mail program: it cannot work,
		// and the page says what to do instead.
		return h.notMeSpent(w, r, c)
	}
	ok, err := h.d.Unlock.NotMeUsable(r.Context(), c.realm, token)
	if err != nil {
		return err
	}
	if !ok {
		return h.notMeSpent(w, r, c)
	}
	p := h.newPage(r, c.realm, c.locale, "page.not_me.title")
	p.Token = token
	h.render(w, r, http.StatusOK, "notme", p)
	return nil
}

// notMeSpent tells that a "this wasn't me" link was already used or has
// expired (404), and what to do instead — sign in and check the sign-in
// history, set a new password with the password assistant, customer service — with no button that cannot
// work. A stranger learns nothing more than that the link cannot be used:
// unknown, used, expired and mangled links read alike.
func (h *Handler) notMeSpent(w http.ResponseWriter, r *http.Request, c *call) error {
	p := h.newPage(r, c.realm, c.locale, "page.not_me_spent.title")
	if c.realm != nil {
		p.SupportURL, p.SupportContact = c.realm.Brand.SupportURL, c.realm.Brand.SupportContact
	}
	status := prepareError(w, r, p, ninsho.E(ninsho.CodeNotFound))
	p.Error.Message = i18n.Message(p.Locale, "not_me.link_spent", nil)
	h.render(w, r, status, "notme", p)
	return nil
}

func (h *Handler) notMe(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	token := r.PostForm.Get("token")
	if token == "" || checkToken(token) != nil {
		return h.notMeSpent(w, r, c)
	}
	ans, err := h.d.Unlock.NotMe(r.Context(), c.realm, h.request(r, c), token)
	if ans == nil || ans.Flow == nil {
		if err == nil {
			err = ninsho.Internal("web: not-me answered nothing")
		}
		if ninsho.IsCode(err, ninsho.CodeNotFound) {
			return h.notMeSpent(w, r, c) // an unknown, used or expired link
		}
		return err
	}
	// Every session of the account has ended, this browser's too.
	h.cookies.ClearSession(w, r)
	h.remember(w, r, ans)
	if err != nil {
		// The account is secured and the unlock flow exists, but its code
		// could not go out: the code page says so and offers a resend.
		if ans.Next == nil || ans.Next.Step != flow.StepVerificationCode {
			return err
		}
		p := h.verifyPage(r, c, ans)
		p.relink("/verify", url.Values{"flow": {ans.Flow.ID}})
		h.renderError(w, r, "verify", p, err)
		return nil
	}
	return h.redirectFor(w, r, ans)
}

// checkToken bounds a link token.
func checkToken(token string) error { return webreq.CheckLength("token", token) }
