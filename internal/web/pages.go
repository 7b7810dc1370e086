package web

import (
	"net/http"
	"net/url"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/signup"
	"github.com/ninsho/ninsho/internal/web/webreq"
)

func (h *Handler) signupForm(w http.ResponseWriter, r *http.Request, c *call) error {
	h.render(w, r, http.StatusOK, "signup", h.newPage(r, c.realm, c.locale, "page.signup.title"))
	return nil
}

func (h *Handler) signup(w http.ResponseWriter, r *http.Request, c *call) error {
	p := h.newPage(r, c.realm, c.locale, "page.signup.title")
	in, err := signupInput(w, r)
	p.Form["identifier"], p.Form["name"] = in.Identifier, in.Name
	if err != nil {
		h.renderError(w, r, "signup", p, err)
		return nil
	}
	in.Locale = c.locale
	ans, err := h.d.Signup.Start(r.Context(), c.realm, h.request(r, c), in)
	if ans != nil {
		h.cookies.SetDevice(w, r, ans.DeviceToken)
	}
	if err != nil {
		h.renderError(w, r, "signup", p, err)
		return nil
	}
	return h.follow(w, r, ans)
}

func signupInput(w http.ResponseWriter, r *http.Request) (signup.Input, error) {
	in := signup.Input{ConfirmPassword: true}
	if err := parseForm(w, r); err != nil {
		return in, err
	}
	var err error
	if in.Identifier, err = formValue(r, "identifier"); err != nil {
		return in, err
	}
	if in.Name, err = formValue(r, "name"); err != nil {
		return in, err
	}
	if in.Password, err = formValue(r, "password"); err != nil {
		return in, err
	}
	if in.PasswordConfirmation, err = formValue(r, "password_confirmation"); err != nil {
		return in, err
	}
	return in, nil
}

func (h *Handler) signinForm(w http.ResponseWriter, r *http.Request, c *call) error {
	p := h.newPage(r, c.realm, c.locale, "page.signin.title")
	if id := r.URL.Query().Get("flow"); id != "" {
		ans, err := h.d.Flows.View(r.Context(), c.realm.ID, id)
		if err != nil {
			return err
		}
		if ans.Flow.Kind != flow.KindSignin || ans.Next == nil || ans.Next.Step != flow.StepPassword {
			return h.redirectFor(w, r, ans)
		}
		p.FlowID, p.Form["identifier"] = ans.Flow.ID, ans.Flow.Identifier
	}
	h.render(w, r, http.StatusOK, "signin", p)
	return nil
}

func (h *Handler) signin(w http.ResponseWriter, r *http.Request, c *call) error {
	p := h.newPage(r, c.realm, c.locale, "page.signin.title")
	if err := parseForm(w, r); err != nil {
		h.renderError(w, r, "signin", p, err)
		return nil
	}
	identifier, err := formValue(r, "identifier")
	p.Form["identifier"] = identifier
	if err != nil {
		h.renderError(w, r, "signin", p, err)
		return nil
	}
	password, err := formValue(r, "password")
	if err != nil {
		h.renderError(w, r, "signin", p, err)
		return nil
	}
	var ans *flow.Answer
	if id := r.PostForm.Get("flow"); id != "" {
		p.FlowID = id
		ans, err = h.d.Flows.Act(r.Context(), c.realm.ID, id, h.request(r, c), flow.Action{Name: flow.ActionSubmitPassword, Password: password})
		if ans == nil || ans.Flow == nil {
			if err == nil {
				err = ninsho.Internal("web: flow answered nothing")
			}
			return err // the flow is gone: the error page says so
		}
	} else {
		ans, err = h.d.Signin.Start(r.Context(), c.realm, h.request(r, c), signin.Input{Identifier: identifier, Password: password})
	}
	if ans != nil {
		h.cookies.SetDevice(w, r, ans.DeviceToken)
	}
	if err != nil {
		h.renderError(w, r, "signin", p, err)
		return nil
	}
	return h.follow(w, r, ans)
}

func (h *Handler) verifyForm(w http.ResponseWriter, r *http.Request, c *call) error {
	ans, err := h.d.Flows.View(r.Context(), c.realm.ID, r.URL.Query().Get("flow"))
	if err != nil {
		return err
	}
	if ans.Flow.Status == flow.StatusComplete || ans.Next == nil || ans.Next.Step != flow.StepVerificationCode {
		return h.redirectFor(w, r, ans)
	}
	h.render(w, r, http.StatusOK, "verify", h.verifyPage(r, c, ans))
	return nil
}

func (h *Handler) verifyPage(r *http.Request, c *call, ans *flow.Answer) *page {
	p := h.newPage(r, c.realm, c.locale, "page.verify.title")
	p.FlowID, p.Next = ans.Flow.ID, ans.Next
	p.RestartURL = "/signin"
	if ans.Flow.Kind == flow.KindSignup {
		p.RestartURL = "/signup"
	}
	if r.URL.Query().Get("sent") == "1" {
		p.Notice = "hint.code_resent"
	}
	return p
}

func (h *Handler) verify(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.URL.Query().Get("flow")
	if !ninsho.ValidID(id) {
		return ninsho.E(ninsho.CodeFlowNotFound)
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	a := flow.Action{Name: r.PostForm.Get("action")}
	var err error
	if a.Code, err = formValue(r, "code"); err != nil {
		return h.verifyAgain(w, r, c, id, err)
	}
	if a.Channel, err = formValue(r, "channel"); err != nil {
		return h.verifyAgain(w, r, c, id, err)
	}
	if len(a.Name) > webreq.MaxAction {
		return h.verifyAgain(w, r, c, id, ninsho.FieldError(ninsho.CodeActionUnknown, "action"))
	}
	ans, err := h.d.Flows.Act(r.Context(), c.realm.ID, id, h.request(r, c), a)
	if ans == nil || ans.Flow == nil {
		if err == nil {
			err = ninsho.Internal("web: flow answered nothing")
		}
		return err
	}
	h.cookies.SetDevice(w, r, ans.DeviceToken)
	if err != nil {
		if ninsho.IsCode(err, ninsho.CodeFlowExpired) || ninsho.IsCode(err, ninsho.CodeFlowCompleted) {
			return err
		}
		if ans.Next == nil {
			if v, vErr := h.d.Flows.View(r.Context(), c.realm.ID, id); vErr == nil {
				ans.Next = v.Next
			}
		}
		h.renderError(w, r, "verify", h.verifyPage(r, c, ans), err)
		return nil
	}
	if a.Name == flow.ActionResendCode && ans.Next != nil && ans.Next.Step == flow.StepVerificationCode {
		http.Redirect(w, r, "/verify?"+url.Values{"flow": {id}, "sent": {"1"}}.Encode(), http.StatusSeeOther)
		return nil
	}
	return h.follow(w, r, ans)
}

// verifyAgain redisplays the verification page of flow id with err.
func (h *Handler) verifyAgain(w http.ResponseWriter, r *http.Request, c *call, id string, err error) error {
	ans, vErr := h.d.Flows.View(r.Context(), c.realm.ID, id)
	if vErr != nil {
		return vErr
	}
	h.renderError(w, r, "verify", h.verifyPage(r, c, ans), err)
	return nil
}

func (h *Handler) account(w http.ResponseWriter, r *http.Request, c *call) error {
	token, _ := webreq.SessionToken(r)
	if token == "" {
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return nil
	}
	pr, err := h.d.Signin.Authenticate(r.Context(), c.realm, token)
	if ninsho.IsCode(err, ninsho.CodeUnauthenticated) {
		h.cookies.ClearSession(w, r)
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return nil
	}
	if err != nil {
		return err
	}
	if pr == nil || pr.Account == nil {
		return ninsho.Internal("web: authenticate returned no account")
	}
	p := h.newPage(r, c.realm, c.locale, "page.account.title")
	p.Account = pr.Account
	h.render(w, r, http.StatusOK, "account", p)
	return nil
}

func (h *Handler) signout(w http.ResponseWriter, r *http.Request, c *call) error {
	if token, _ := webreq.SessionToken(r); token != "" {
		err := h.d.Signin.Signout(r.Context(), c.realm, h.request(r, c), token)
		if err != nil && !ninsho.IsCode(err, ninsho.CodeUnauthenticated) {
			return err
		}
	}
	h.cookies.ClearSession(w, r)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
	return nil
}

// follow takes the browser where a successful answer leads, setting the
// session cookie when the flow handed out a session.
func (h *Handler) follow(w http.ResponseWriter, r *http.Request, ans *flow.Answer) error {
	if ans == nil || ans.Flow == nil {
		return ninsho.Internal("web: flow answered nothing")
	}
	h.cookies.SetDevice(w, r, ans.DeviceToken)
	if ans.Session != nil {
		h.cookies.SetSession(w, r, ans.Session, h.d.Now())
	}
	return h.redirectFor(w, r, ans)
}

// redirectFor redirects to the page that shows the answer's next step.
func (h *Handler) redirectFor(w http.ResponseWriter, r *http.Request, ans *flow.Answer) error {
	target := ""
	switch {
	case ans.Session != nil:
		target = "/account"
	case ans.Flow.Status == flow.StatusComplete:
		target = "/signin"
		if ans.Flow.Kind == flow.KindSignin {
			target = "/account"
		}
	case ans.Next == nil:
	case ans.Next.Step == flow.StepVerificationCode:
		target = "/verify?" + url.Values{"flow": {ans.Flow.ID}}.Encode()
	case ans.Next.Step == flow.StepPassword:
		target = "/signin?" + url.Values{"flow": {ans.Flow.ID}}.Encode()
	}
	if target == "" {
		step := flow.Step("")
		if ans.Next != nil {
			step = ans.Next.Step
		}
		return ninsho.Internal("web: no page for flow %s status %s step %q", ans.Flow.Kind, ans.Flow.Status, step)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
	return nil
}
