package web

import (
	"net/http"
	"net/url"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/signup"
	"github.com/ninsho/ninsho/internal/unlock"
	"github.com/ninsho/ninsho/internal/web/webreq"
)

func (h *Handler) signupForm(w http.ResponseWriter, r *http.Request, c *call) error {
	return h.startForm(w, r, c, flow.KindSignup)
}

// signup starts a sign-up, or answers the CAPTCHA that holds one back: the
// flow keeps the name and password, which are not asked again.
func (h *Handler) signup(w http.ResponseWriter, r *http.Request, c *call) error {
	return h.startOrSolve(w, r, c, flow.KindSignup, func(p *page) (*flow.Answer, error) {
		in, err := signupInput(r)
		p.Form["identifier"], p.Form["name"] = in.Identifier, in.Name
		if err != nil {
			return nil, err
		}
		return h.d.Signup.Start(r.Context(), c.realm, h.startRequest(r, c, p), in)
	})
}

// signupInput reads the sign-up form (already parsed). A field over its
// length limit is refused with every other one that is.
func signupInput(r *http.Request) (signup.Input, error) {
	in := signup.Input{ConfirmPassword: true}
	var errs [4]error
	in.Identifier, errs[0] = formValue(r, "identifier")
	in.Name, errs[1] = formValue(r, "name")
	in.Password, errs[2] = formValue(r, "password")
	in.PasswordConfirmation, errs[3] = formValue(r, "password_confirmation")
	return in, ninsho.Fields(errs[:]...)
}

// maxLoginHint is the longest login_hint the sign-in page fills in.
const maxLoginHint = 256

func (h *Handler) signinForm(w http.ResponseWriter, r *http.Request, c *call) error {
	p := h.newPage(r, c.realm, c.locale, "page.signin.title")
	p.RenderedAt = h.d.Now().UnixMilli()
	if r.URL.Query().Get("flow") == "" {
		if done, err := h.signedInReturn(w, r, c, p.ReturnTo); done || err != nil {
			return err
		}
		// An application's login_hint (OpenID Connect) fills in the
		// identifier; the person can change it.
		if hint := r.URL.Query().Get("login_hint"); hint != "" && len(hint) <= maxLoginHint {
			p.Form["identifier"] = hint
		}
	}
	if id := r.URL.Query().Get("flow"); id != "" {
		ans, err := h.view(r, c, id)
		if err != nil {
			return err
		}
		if ans.Flow.Kind != flow.KindSignin || ans.Next == nil || (ans.Next.Step != flow.StepPassword && ans.Next.Step != flow.StepCaptcha) {
			return h.redirectFor(w, r, ans)
		}
		signinStep(p, ans)
		if ans.Next.Step == flow.StepPassword && r.URL.Query().Get("captcha") == "passed" {
			p.Notice = "hint.captcha_passed"
		}
	}
	h.render(w, r, http.StatusOK, "signin", p)
	return nil
}

// signinStep shows the step of the sign-in flow of ans on p: the password
// again for the flow's identifier, or its CAPTCHA.
func signinStep(p *page, ans *flow.Answer) {
	p.FlowID, p.Form["identifier"] = ans.Flow.ID, p.Shown(ans.Flow.Identifier)
	p.flowReturnTo(ans.Flow)
	p.Captcha = nil
	if ans.Next != nil && ans.Next.Step == flow.StepCaptcha && ans.Next.Captcha != nil {
		p.Captcha = newCaptchaView(ans.Next.Captcha, p.Locale, "/signin")
	}
}

// signin handles the sign-in form: without a flow it starts a sign-in;
// with one it sends the password again (after a CAPTCHA, or identifier
// first) or acts on the CAPTCHA (submit_captcha, new_captcha).
func (h *Handler) signin(w http.ResponseWriter, r *http.Request, c *call) error {
	p := h.newPage(r, c.realm, c.locale, "page.signin.title")
	p.RenderedAt = h.d.Now().UnixMilli()
	if err := parseForm(w, r); err != nil {
		h.renderError(w, r, "signin", p, err)
		return nil
	}
	p.takeReturnTo(c.realm, r)
	id, action := r.PostForm.Get("flow"), r.PostForm.Get("action")
	if id != "" {
		if !ninsho.ValidID(id) {
			return ninsho.E(ninsho.CodeFlowNotFound)
		}
		p.FlowID = id
		p.relink("/signin", url.Values{"flow": {id}})
	}
	identifier, err := formValue(r, "identifier")
	p.Form["identifier"] = identifier
	if err != nil {
		return h.signinAgain(w, r, c, p, err)
	}
	var ans *flow.Answer
	switch {
	case id != "" && (action == flow.ActionSubmitCaptcha || action == flow.ActionNewCaptcha):
		answer, err := formValue(r, "answer")
		if err != nil {
			return h.signinAgain(w, r, c, p, err)
		}
		ans, err = h.act(r, c, id, flow.Action{Name: action, Answer: answer})
		if err != nil || ans == nil {
			return h.signinFailed(w, r, c, p, ans, err)
		}
		if action == flow.ActionSubmitCaptcha && ans.Next != nil && ans.Next.Step == flow.StepPassword {
			// Solved: the password was not kept, so the person types it again.
			http.Redirect(w, r, "/signin?"+url.Values{"flow": {id}, "captcha": {"passed"}}.Encode(), http.StatusSeeOther)
			return nil
		}
	case action != "" && action != flow.ActionSubmitPassword:
		return h.signinAgain(w, r, c, p, ninsho.FieldError(ninsho.CodeActionUnknown, "action"))
	default:
		password, err := formValue(r, "password")
		if err != nil {
			return h.signinAgain(w, r, c, p, err)
		}
		elapsed := formElapsed(r, h.d.Now())
		if id != "" {
			ans, err = h.act(r, c, id, flow.Action{
				Name: flow.ActionSubmitPassword, Password: password, FormElapsedMS: elapsed.Milliseconds(),
			})
		} else {
			ans, err = h.d.Signin.Start(r.Context(), c.realm, h.startRequest(r, c, p), signin.Input{
				Identifier: identifier, Password: password, FormElapsed: elapsed, PasswordAsked: true,
			})
		}
		if err != nil || ans == nil {
			return h.signinFailed(w, r, c, p, ans, err)
		}
	}
	return h.follow(w, r, ans)
}

// signinFailed shows the sign-in page again after the service refused the
// input: at the flow's CAPTCHA when it asks for one, with the lock explained
// and the unlock offered, or with the minutes to wait.
func (h *Handler) signinFailed(w http.ResponseWriter, r *http.Request, c *call, p *page, ans *flow.Answer, err error) error {
	if err == nil {
		err = ninsho.Internal("web: sign-in answered nothing")
	}
	if ans == nil || ans.Flow == nil {
		if p.FlowID != "" {
			return err // the flow is gone: the error page says so
		}
		status := prepareError(w, r, p, err)
		h.explainRefusal(c, p, err)
		h.render(w, r, status, "signin", p)
		return nil
	}
	h.remember(w, r, ans)
	switch {
	case ninsho.IsCode(err, ninsho.CodeFlowExpired) || ninsho.IsCode(err, ninsho.CodeFlowCompleted):
		// Start again on a fresh form, the identifier kept.
		p.FlowID = ""
		p.relink("/signin", url.Values{})
	case ans.Next != nil && ans.Next.Step == flow.StepCaptcha:
		signinStep(p, ans)
		p.relink("/signin", url.Values{"flow": {ans.Flow.ID}})
	}
	status := prepareError(w, r, p, err)
	h.explainRefusal(c, p, err)
	h.render(w, r, status, "signin", p)
	return nil
}

// explainRefusal words a sign-in refusal on p (already prepared by
// prepareError), whether or not a flow was started: a lock is explained and
// its unlock offered, a wait counted in minutes, and a suspension quoted by
// its own reference number alone (the help request link carries it, with
// the step "suspended" chosen), not by the request's.
func (h *Handler) explainRefusal(c *call, p *page, err error) {
	e := ninsho.ErrorOf(err)
	switch e.Code {
	case ninsho.CodeAccountLocked:
		p.Lock = h.lockView(c, e, p.Form["identifier"])
		if msg := lockMessage(p.Locale, c.realm, e, h.d.Now()); msg != "" {
			p.Error.Message = msg
		}
	case ninsho.CodeRateLimited:
		p.Error.Message = waitMessage(p.Locale, e)
	case ninsho.CodeAccountSuspended:
		p.SuspendedRef, _ = e.Params["reference"].(string)
		if p.SuspendedRef != "" {
			p.Error.RequestID = ""
		}
	}
}

// signinAgain shows the sign-in page again with an error found before the
// service was asked; a flow's page is shown at the flow's step.
func (h *Handler) signinAgain(w http.ResponseWriter, r *http.Request, c *call, p *page, err error) error {
	if p.FlowID != "" {
		ans, vErr := h.view(r, c, p.FlowID)
		if vErr != nil {
			return vErr
		}
		signinStep(p, ans)
	}
	h.renderError(w, r, "signin", p, err)
	return nil
}

// restartFor points the page's "start again" at the start page of f's kind
// (with f's return_to), says whether the person typed f's identifier, and
// keeps f's return_to for the page's other links.
func (p *page) restartFor(f *flow.Flow) {
	p.RestartURL = "/signin"
	switch f.Kind {
	case flow.KindSignup:
		p.RestartURL = "/signup"
	case flow.KindUnlock:
		p.RestartURL = "/unlock"
		p.Untyped = unlock.FromLink(f)
	case flow.KindReset:
		p.RestartURL = "/password-assistant"
	case flow.KindReauth:
		p.RestartURL = ReauthPath
	case flow.KindHelp:
		p.RestartURL = HelpRequestPath
	}
	p.flowReturnTo(f)
	p.RestartURL = p.WithReturnTo(p.RestartURL)
}

// atVerificationCode reports whether ans is a flow waiting for a
// verification code.
func atVerificationCode(ans *flow.Answer) bool {
	return ans.Flow.Status != flow.StatusComplete && ans.Next != nil && ans.Next.Step == flow.StepVerificationCode
}

func (h *Handler) verifyPage(r *http.Request, c *call, ans *flow.Answer) *page {
	p := h.newPage(r, c.realm, c.locale, "page.verify.title")
	p.FlowID, p.Next = ans.Flow.ID, ans.Next
	p.restartFor(ans.Flow)
	switch ans.Flow.Kind {
	case flow.KindUnlock:
		p.Why = "verify.why.unlock"
	case flow.KindReset:
		p.Why = "verify.why.password_assistant"
	case flow.KindSignin:
		p.Why = signinCodeWhy(ans.Flow)
	case flow.KindHelp:
		p.Why = "verify.why.help"
	}
	if r.URL.Query().Get("sent") == "1" {
		p.Notice = "hint.code_resent"
	}
	if r.URL.Query().Get("secured") == "1" && ans.Flow.Kind == flow.KindUnlock {
		p.Notice = "sessions.notice.secured" // "this wasn't me" from the history
	}
	return p
}

func (h *Handler) verify(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := postedFlow(w, r)
	if err != nil {
		return err
	}
	a := flow.Action{Name: r.PostForm.Get("action")}
	if a.Code, err = formValue(r, "code"); err != nil {
		return h.verifyAgain(w, r, c, id, err)
	}
	if a.Channel, err = formValue(r, "channel"); err != nil {
		return h.verifyAgain(w, r, c, id, err)
	}
	if len(a.Name) > webreq.MaxAction {
		return h.verifyAgain(w, r, c, id, ninsho.FieldError(ninsho.CodeActionUnknown, "action"))
	}
	ans, err := h.act(r, c, id, a)
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
		if ans.Flow.Status == flow.StatusFailed {
			// Out of attempts, or another sign-up won: nothing more can be
			// typed here. Say why and offer only the way to start again.
			p := h.verifyPage(r, c, ans)
			p.Ended = true
			h.renderError(w, r, "verify", p, err)
			return nil
		}
		if ans.Next == nil {
			if v, vErr := h.view(r, c, id); vErr == nil {
				ans.Next = v.Next
			}
		}
		p := h.verifyPage(r, c, ans)
		if a.Name == flow.ActionSwitchChannel {
			p.refused = a.Channel
		}
		h.renderError(w, r, "verify", p, err)
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
	ans, vErr := h.view(r, c, id)
	if vErr != nil {
		return vErr
	}
	h.renderError(w, r, "verify", h.verifyPage(r, c, ans), err)
	return nil
}

func (h *Handler) account(w http.ResponseWriter, r *http.Request, c *call) error {
	pr, err := h.signedIn(w, r, c)
	if pr == nil || err != nil {
		return err
	}
	evs, err := h.d.Signin.History(r.Context(), pr, historyLimit)
	if err != nil {
		return err
	}
	p := h.newPage(r, c.realm, c.locale, "page.account.title")
	p.Account = pr.Account
	p.History, p.HistoryZone = historyRows(c.locale, c.realm, evs)
	if h.d.Profile != nil {
		p.Profile, p.Notice = &profileView{}, profileNotices[r.URL.Query().Get("done")]
	}
	h.markNotMe(p.History, evs, pr)
	p.AppsLink = h.d.Consents != nil
	p.OrgsLink = h.d.Orgs != nil
	p.Contact = h.d.Contact != nil
	if p.Contact && !c.realm.EmailOnly {
		p.Form["contact_phone"] = "1" // a realm that sends text messages takes phone numbers
	}
	if h.d.TwoStep != nil {
		if p.TwoStep, err = h.twoStepSummary(r, c, pr.Account); err != nil {
			return err
		}
	}
	h.render(w, r, http.StatusOK, "account", p)
	return nil
}

func (h *Handler) signout(w http.ResponseWriter, r *http.Request, c *call) error {
	sid := ""
	if token, _ := webreq.SessionToken(r); token != "" {
		if h.d.FrontchannelPage != nil {
			if pr, err := h.d.Signin.Authenticate(r.Context(), c.realm, token); err == nil && pr != nil && pr.Session != nil {
				sid = pr.Session.ID
			}
		}
		err := h.d.Signin.Signout(r.Context(), c.realm, h.request(r, c), token)
		if err != nil && !ninsho.IsCode(err, ninsho.CodeUnauthenticated) {
			return err
		}
	}
	h.cookies.ClearSession(w, r)
	// A posted return_to (checked) goes on to the sign-in page: the
	// invitation page's "sign in with another account".
	next := "/signin"
	if r.Method == http.MethodPost && parseForm(w, r) == nil {
		next = withReturnTo(next, checkReturnTo(c.realm, r.PostForm.Get(returnToParam)))
	}
	// Applications signed in under this session with a front-channel
	// logout URI are told by the page the browser lands on.
	if sid != "" && h.d.FrontchannelPage(w, r, c.realm, sid, next, c.locale) {
		return nil
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// follow takes the browser where a successful answer leads, setting the
// session cookie when the flow handed out a session.
func (h *Handler) follow(w http.ResponseWriter, r *http.Request, ans *flow.Answer) error {
	if ans == nil || ans.Flow == nil {
		return ninsho.Internal("web: flow answered nothing")
	}
	h.remember(w, r, ans)
	if ans.Session != nil {
		h.cookies.SetSession(w, r, ans.Session, h.d.Now())
		// After a password sign-in, once per device: the passkey offer
		// (passkey_offer.go), which goes on to where the sign-in was going.
		if offer, err := h.passkeyOfferFor(r, ans); offer != "" || err != nil {
			if err == nil {
				http.Redirect(w, r, offer, http.StatusSeeOther)
			}
			return err
		}
	}
	return h.redirectFor(w, r, ans)
}

// redirectFor redirects to the page that shows the answer's next step.
func (h *Handler) redirectFor(w http.ResponseWriter, r *http.Request, ans *flow.Answer) error {
	target := ""
	switch {
	case ans.Session == nil && ans.Flow.Status == flow.StatusFailed:
		// Out of attempts: nothing more can happen on this flow.
		return ninsho.E(ninsho.CodeFlowCompleted)
	case ans.Session != nil:
		target = h.doneURL(ans.Flow)
	case ans.Flow.Status == flow.StatusComplete && ans.Flow.Kind == flow.KindHelp:
		target = helpDoneURL(ans)
	case ans.Flow.Status == flow.StatusComplete && ans.Flow.Kind == flow.KindReauth:
		target = reauthReturn(ans.Flow.ReturnTo)
	case ans.Flow.Status == flow.StatusComplete:
		target = withReturnTo("/signin", ans.Flow.ReturnTo)
		if ans.Flow.Kind == flow.KindSignin {
			target = h.doneURL(ans.Flow)
		}
	case ans.Next == nil:
	case heldAtCaptcha(ans):
		target = startPages[ans.Flow.Kind].path + "?" + url.Values{"flow": {ans.Flow.ID}}.Encode()
	case ans.Next.Step == flow.StepSecondFactor:
		target = "/two-step?" + url.Values{"flow": {ans.Flow.ID}}.Encode()
	case ans.Next.Step == flow.StepEnrolSecondFactor:
		target = enrolPath + "?" + url.Values{"flow": {ans.Flow.ID}}.Encode()
	case ans.Next.Step == flow.StepReopenAccount:
		target = ReopenPath + "?" + url.Values{"flow": {ans.Flow.ID}}.Encode()
	case ans.Next.Step == flow.StepVerificationCode:
		target = "/verify?" + url.Values{"flow": {ans.Flow.ID}}.Encode()
	case ans.Flow.Kind == flow.KindUnlock && (ans.Next.Step == flow.StepPassword || ans.Next.Step == flow.StepNewPassword):
		target = "/unlock/password?" + url.Values{"flow": {ans.Flow.ID}}.Encode()
	case ans.Flow.Kind == flow.KindReset && ans.Next.Step == flow.StepChoose:
		target = "/password-assistant/choose?" + url.Values{"flow": {ans.Flow.ID}}.Encode()
	case ans.Flow.Kind == flow.KindSignin && (ans.Next.Step == flow.StepPassword || ans.Next.Step == flow.StepCaptcha):
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
