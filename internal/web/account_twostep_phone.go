package web

import (
	"net/http"
	"net/url"
	"time"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/twostep"
	"github.com/ninsho/ninsho/internal/web/webreq"
)

// The phone pages of the two-step settings: /account/two-step/phone asks
// for a number and how the code should come (text message or voice call;
// ?replaces=<credential> changes the number 2SV uses), sends the code and
// leads to /account/two-step/phone/{id}, which asks for it (and resends
// it); the right code goes back to /account/two-step. Both need a recent
// sign-in (recentlySignedIn) and work without JavaScript.

// routeTwoStepPhone registers the phone pages (only when the two-step
// service is wired).
func (h *Handler) routeTwoStepPhone() {
	if h.d.TwoStep == nil {
		return
	}
	h.mux.Handle("GET "+twoStepPhonePath, h.handle(h.twoStepPhoneForm))
	h.mux.Handle("POST "+twoStepPhonePath, h.handle(h.twoStepPhoneBegin))
	h.mux.Handle("GET "+twoStepPhonePath+"/{id}", h.handle(h.twoStepPhoneCodeForm))
	h.mux.Handle("POST "+twoStepPhonePath+"/{id}", h.handle(h.twoStepPhoneCode))
}

// twoStepPhonePage is the number page with the form's values.
func (h *Handler) twoStepPhonePage(r *http.Request, c *call, phone, method, replaces string) *page {
	p := h.newPage(r, c.realm, c.locale, "page.two_step_phone.title")
	if method != string(twostep.MethodVoice) {
		method = string(twostep.MethodSMS)
	}
	p.Form["phone"], p.Form["method"], p.Form["replaces"] = phone, method, replaces
	return p
}

func (h *Handler) twoStepPhoneForm(w http.ResponseWriter, r *http.Request, c *call) error {
	pr, err := h.recentlySignedIn(w, r, c)
	if pr == nil || err != nil {
		return err
	}
	replaces := r.URL.Query().Get("replaces")
	if !ninsho.ValidID(replaces) {
		replaces = ""
	}
	h.render(w, r, http.StatusOK, "two_step_phone", h.twoStepPhonePage(r, c, "", "", replaces))
	return nil
}

func (h *Handler) twoStepPhoneBegin(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	pr, err := h.recentlySignedIn(w, r, c)
	if pr == nil || err != nil {
		return err
	}
	phone, method, replaces := r.PostForm.Get("phone"), r.PostForm.Get("method"), r.PostForm.Get("replaces")
	p := h.twoStepPhonePage(r, c, phone, method, replaces)
	switch {
	case len([]rune(phone)) > 320:
		err = ninsho.FieldError(ninsho.CodeFieldTooLong, "phone").WithParam("max", 320)
	case len(method) > 32 || (replaces != "" && !ninsho.ValidID(replaces)):
		err = ninsho.E(ninsho.CodeRequestInvalid)
	}
	var en *twostep.PhoneEnrolment
	if err == nil {
		en, err = h.d.TwoStep.BeginPhone(r.Context(), c.realm, h.request(r, c), pr.Account, twostep.Method(method), phone, replaces)
	}
	if err != nil {
		h.renderError(w, r, "two_step_phone", p, err)
		return nil
	}
	http.Redirect(w, r, twoStepPhonePath+"/"+url.PathEscape(en.CredentialID), http.StatusSeeOther)
	return nil
}

// twoStepPhoneCodePage is the code page of the enrolment en.
func (h *Handler) twoStepPhoneCodePage(r *http.Request, c *call, en *twostep.PhoneEnrolment, m twostep.Method) *page {
	p := h.newPage(r, c.realm, c.locale, "page.two_step_phone_code.title")
	p.Form["credential"], p.Form["method"] = en.CredentialID, string(m)
	p.Next = &flow.Next{Destination: en.Destination, ResendAfterS: int((en.ResendAfter + time.Second - 1) / time.Second)}
	return p
}

func (h *Handler) twoStepPhoneCodeForm(w http.ResponseWriter, r *http.Request, c *call) error {
	pr, err := h.recentlySignedIn(w, r, c)
	if pr == nil || err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := webreq.CheckCredentialID(id); err != nil {
		return err
	}
	en, m, err := h.d.TwoStep.PendingPhone(r.Context(), c.realm, pr.Account, id)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "two_step_phone_code", h.twoStepPhoneCodePage(r, c, en, m))
	return nil
}

func (h *Handler) twoStepPhoneCode(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	pr, err := h.recentlySignedIn(w, r, c)
	if pr == nil || err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := webreq.CheckCredentialID(id); err != nil {
		return err
	}
	ctx, req := r.Context(), h.request(r, c)
	var stepErr error
	notice := ""
	switch r.PostForm.Get("action") {
	case "verify":
		typed, err := formValue(r, "code")
		if err == nil {
			var proved *twostep.Proved
			if proved, err = h.d.TwoStep.ProvePhone(ctx, c.realm, req, pr.Account, id, typed); err == nil {
				// The session has just shown this factor.
				err = h.d.Signin.Elevate(ctx, pr, proved.SessionMethod)
			}
		}
		if err == nil {
			http.Redirect(w, r, twoStepPath, http.StatusSeeOther)
			return nil
		}
		stepErr = err
	case "resend":
		if _, err := h.d.TwoStep.ResendPhone(ctx, c.realm, req, pr.Account, id); err != nil {
			stepErr = err
		} else {
			notice = "hint.code_resent"
		}
	default:
		stepErr = ninsho.FieldError(ninsho.CodeActionUnknown, "action")
	}
	en, m, err := h.d.TwoStep.PendingPhone(ctx, c.realm, pr.Account, id)
	if err != nil {
		if stepErr != nil && !ninsho.IsCode(err, ninsho.CodeNotFound) {
			return err
		}
		if stepErr != nil {
			return stepErr
		}
		return err
	}
	p := h.twoStepPhoneCodePage(r, c, en, m)
	p.Notice = notice
	if stepErr != nil {
		h.renderError(w, r, "two_step_phone_code", p, stepErr)
		return nil
	}
	h.render(w, r, http.StatusOK, "two_step_phone_code", p)
	return nil
}
