package web

import (
	"net/http"
	"net/url"

	"github.com/ninsho/ninsho/internal/contact"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// Contact change pages (internal/contact), without JavaScript:
// /account/email and /account/phone ask for the new address (a recent
// sign-in: recentlySignedIn) and send its code; /account/contact/code?flow=
// asks for the code (and resends it), and the right code shows the done
// page with the way back to /account. The flow belongs to this browser (its
// flow cookie) and to the session. The alert's undo link,
// /account/contact-undo?token= (or /c/<token> in a text message), shows a
// page that changes nothing (mail scanners follow links); its button
// (POST) undoes the change, signs out everywhere and locks the account,
// and the page tells how to get back in (the unlock code page).

const (
	contactEmailPath = "/account/email"
	contactPhonePath = "/account/phone"
	contactCodePath  = "/account/contact/code"
)

// routeContact registers the contact pages (only when the service is
// wired).
func (h *Handler) routeContact() {
	if h.d.Contact == nil {
		return
	}
	h.mux.Handle("GET "+contactEmailPath, h.handle(h.contactForm(contact.KindEmail)))
	h.mux.Handle("POST "+contactEmailPath, h.handle(h.contactStart(contact.KindEmail)))
	h.mux.Handle("GET "+contactPhonePath, h.handle(h.contactForm(contact.KindPhone)))
	h.mux.Handle("POST "+contactPhonePath, h.handle(h.contactStart(contact.KindPhone)))
	h.mux.Handle("GET "+contactCodePath, h.handle(h.contactCodeForm))
	h.mux.Handle("POST "+contactCodePath, h.handle(h.contactCode))
	h.mux.Handle("GET "+contact.UndoPath, h.handle(h.contactUndoForm))
	h.mux.Handle("GET "+contact.ShortUndoPath+"{token}", h.handle(h.contactUndoForm))
	h.mux.Handle("POST "+contact.UndoPath, h.handle(h.contactUndo))
}

// contactPage is the address page of kind for pr's account.
func (h *Handler) contactPage(r *http.Request, c *call, kind contact.Kind, current, typed string) *page {
	title := "page.contact_" + string(kind) + ".title"
	if current == "" {
		title = "page.contact_" + string(kind) + "_add.title"
	}
	p := h.newPage(r, c.realm, c.locale, title)
	p.Form["kind"], p.Form[string(kind)] = string(kind), typed
	if current != "" {
		p.Form["current"] = p.Shown(current)
	}
	return p
}

func currentOf(kind contact.Kind, email, phone string) string {
	if kind == contact.KindPhone {
		return phone
	}
	return email
}

func (h *Handler) contactForm(kind contact.Kind) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		pr, err := h.recentlySignedIn(w, r, c)
		if pr == nil || err != nil {
			return err
		}
		p := h.contactPage(r, c, kind, currentOf(kind, pr.Account.Email, pr.Account.Phone), "")
		h.render(w, r, http.StatusOK, "contact", p)
		return nil
	}
}

func (h *Handler) contactStart(kind contact.Kind) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		if err := parseForm(w, r); err != nil {
			return err
		}
		pr, err := h.recentlySignedIn(w, r, c)
		if pr == nil || err != nil {
			return err
		}
		typed, err := formValue(r, string(kind))
		p := h.contactPage(r, c, kind, currentOf(kind, pr.Account.Email, pr.Account.Phone), typed)
		if err != nil {
			h.renderError(w, r, "contact", p, err)
			return nil
		}
		ans, err := h.d.Contact.Start(r.Context(), c.realm, h.request(r, c), pr, kind, typed)
		if err != nil {
			h.renderError(w, r, "contact", p, err)
			return nil
		}
		h.remember(w, r, ans)
		http.Redirect(w, r, contactCodePath+"?flow="+url.QueryEscape(ans.Flow.ID), http.StatusSeeOther)
		return nil
	}
}

// contactCodePage is the code page of the flow of ans.
func (h *Handler) contactCodePage(r *http.Request, c *call, ans *flow.Answer) *page {
	p := h.newPage(r, c.realm, c.locale, "page.contact_code.title")
	p.FlowID = ans.Flow.ID
	p.Next = ans.Next
	p.Form["kind"] = string(contact.KindOf(ans.Flow))
	p.relink(contactCodePath, url.Values{"flow": {ans.Flow.ID}})
	return p
}

// contactFlow returns the flow id of r (query or form), checked.
func contactFlow(id string) error {
	if !ninsho.ValidID(id) {
		return ninsho.E(ninsho.CodeFlowNotFound)
	}
	return nil
}

func (h *Handler) contactCodeForm(w http.ResponseWriter, r *http.Request, c *call) error {
	pr, err := h.signedIn(w, r, c)
	if pr == nil || err != nil {
		return err
	}
	id := r.URL.Query().Get("flow")
	if err := contactFlow(id); err != nil {
		return err
	}
	ans, err := h.view(r, c, id)
	if err != nil {
		return err
	}
	if ans.Flow.Kind != flow.KindContact || ans.Next == nil {
		return ninsho.E(ninsho.CodeFlowNotFound)
	}
	h.d.Flows.Describe(r.Context(), ans)
	h.render(w, r, http.StatusOK, "contact_code", h.contactCodePage(r, c, ans))
	return nil
}

func (h *Handler) contactCode(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	pr, err := h.signedIn(w, r, c)
	if pr == nil || err != nil {
		return err
	}
	id := r.PostForm.Get("flow")
	if err := contactFlow(id); err != nil {
		return err
	}
	act := flow.Action{Name: flow.ActionSubmitCode}
	notice := ""
	switch r.PostForm.Get("action") {
	case "resend":
		act.Name, notice = flow.ActionResendCode, "hint.code_resent"
	default:
		if act.Code, err = formValue(r, "code"); err != nil {
			return err
		}
	}
	ans, err := h.act(r, c, id, act)
	if ans == nil || ans.Flow == nil {
		if err == nil {
			err = ninsho.Internal("web: contact change answered nothing")
		}
		return err
	}
	h.remember(w, r, ans)
	if err == nil && ans.Flow.Status == flow.StatusComplete && ans.Contact != nil {
		kind := contact.KindOf(ans.Flow)
		p := h.newPage(r, c.realm, c.locale, "page.contact_done.title")
		p.Form["kind"] = string(kind)
		p.Form["value"] = p.Shown(currentOf(kind, ans.Contact.Email, ans.Contact.Phone))
		p.relink("/account", nil)
		h.render(w, r, http.StatusOK, "contact_done", p)
		return nil
	}
	if ans.Next == nil {
		// Failed (out of attempts, or the address was taken meanwhile):
		// the address page, with the reason.
		kind := contact.KindOf(ans.Flow)
		p := h.contactPage(r, c, kind, currentOf(kind, pr.Account.Email, pr.Account.Phone), "")
		if err == nil {
			err = ninsho.E(ninsho.CodeFlowExpired)
		}
		h.renderError(w, r, "contact", p, err)
		return nil
	}
	h.d.Flows.Describe(r.Context(), ans)
	p := h.contactCodePage(r, c, ans)
	if err != nil {
		h.renderError(w, r, "contact_code", p, err)
		return nil
	}
	p.Notice = notice
	h.render(w, r, http.StatusOK, "contact_code", p)
	return nil
}

// contactUndoForm shows the undo page of the link (GET changes nothing), or
// that the link cannot be used.
func (h *Handler) contactUndoForm(w http.ResponseWriter, r *http.Request, c *call) error {
	token := r.URL.Query().Get("token")
	if t := r.PathValue("token"); t != "" {
		token = t
	}
	if token == "" || checkToken(token) != nil {
		return h.contactUndoSpent(w, r, c)
	}
	ok, err := h.d.Contact.UndoUsable(r.Context(), c.realm, token)
	if err != nil {
		return err
	}
	if !ok {
		return h.contactUndoSpent(w, r, c)
	}
	p := h.newPage(r, c.realm, c.locale, "page.contact_undo.title")
	p.Token = token
	h.render(w, r, http.StatusOK, "contact_undo", p)
	return nil
}

// contactUndoSpent tells that an undo link was already used or has expired
// (404); unknown, used, expired and mangled links read alike.
func (h *Handler) contactUndoSpent(w http.ResponseWriter, r *http.Request, c *call) error {
	p := h.newPage(r, c.realm, c.locale, "page.contact_undo.title")
	status := prepareError(w, r, p, ninsho.E(ninsho.CodeNotFound))
	p.Error.Message = i18n.Message(p.Locale, "contact.undo_spent", nil)
	h.render(w, r, status, "contact_undo", p)
	return nil
}

// contactUndo undoes the change (POST): the session cookie is cleared
// (every session has ended), the unlock flow's cookie set, and the page
// says what happened and leads to the unlock code.
func (h *Handler) contactUndo(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	token := r.PostForm.Get("token")
	if token == "" || checkToken(token) != nil {
		return h.contactUndoSpent(w, r, c)
	}
	ans, err := h.d.Contact.Undo(r.Context(), c.realm, h.request(r, c), token)
	if ninsho.IsCode(err, ninsho.CodeNotFound) {
		return h.contactUndoSpent(w, r, c)
	}
	if err != nil {
		return err
	}
	h.cookies.ClearSession(w, r)
	h.remember(w, r, ans)
	p := h.newPage(r, c.realm, c.locale, "page.contact_undone.title")
	p.FlowID = ans.Flow.ID
	p.Form["restored"] = "0"
	if ans.Contact != nil && ans.Contact.Restored != nil && *ans.Contact.Restored {
		p.Form["restored"] = "1"
	}
	p.relink("/signin", nil)
	h.render(w, r, http.StatusOK, "contact_undone", p)
	return nil
}
