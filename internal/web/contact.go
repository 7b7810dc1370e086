package web

import (
	"net/http"
	"net/url"

	"github.com/ninsho/ninsho/internal/contact"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/identifier"
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

// contactPage is the address page of kind for an account with the e-mail
// address email and the phone number phone ("" for none).
func (h *Handler) contactPage(r *http.Request, c *call, kind contact.Kind, email, phone, typed string) *page {
	current := currentOf(kind, email, phone)
	title := "page.contact_" + string(kind) + ".title"
	if current == "" {
		title = "page.contact_" + string(kind) + "_add.title"
	}
	p := h.newPage(r, c.realm, c.locale, title)
	p.Form["kind"], p.Form[string(kind)] = string(kind), typed
	p.Form["why"] = contactWhy(kind, email, phone)
	if current != "" {
		p.Form["current"] = p.Shown(current)
	}
	return p
}

// contactWhy is the catalogue key of the address page's explanation: who
// will be told of a change or an addition of kind (the alerts of
// internal/contact: a changed e-mail address at the old one; a changed
// number at the e-mail address, if any, and the old number; an added one at
// the other identifier).
func contactWhy(kind contact.Kind, email, phone string) string {
	switch {
	case kind == contact.KindEmail && email == "":
		return "contact.email_add_why"
	case kind == contact.KindEmail:
		return "contact.email_why"
	case phone == "":
		return "contact.phone_add_why"
	case email == "":
		return "contact.phone_why_no_email"
	}
	return "contact.phone_why"
}

// contactDone is the catalogue key of the result page's two texts: what
// was done (kind changed or added) and who was told.
func contactDone(kind contact.Kind, added bool, email string) (done, told string) {
	switch {
	case added && kind == contact.KindEmail:
		return "contact.done_email_added", "contact.done_told_email_added"
	case added:
		return "contact.done_phone_added", "contact.done_told_phone_added"
	case kind == contact.KindEmail:
		return "contact.done_email", "contact.done_told_email"
	case email == "":
		return "contact.done_phone", "contact.done_told_phone_no_email"
	}
	return "contact.done_phone", "contact.done_told_phone"
}

func (h *Handler) contactForm(kind contact.Kind) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		pr, err := h.recentlySignedIn(w, r, c)
		if pr == nil || err != nil {
			return err
		}
		p := h.contactPage(r, c, kind, pr.Account.Email, pr.Account.Phone, "")
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
		p := h.contactPage(r, c, kind, pr.Account.Email, pr.Account.Phone, typed)
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
		// pr was read before the change: without an identifier of kind
		// then, this one was added.
		kind := contact.KindOf(ans.Flow)
		p := h.newPage(r, c.realm, c.locale, "page.contact_done.title")
		p.Form["kind"] = string(kind)
		p.Form["value"] = p.Shown(currentOf(kind, ans.Contact.Email, ans.Contact.Phone))
		p.Form["done"], p.Form["told"] = contactDone(kind, currentOf(kind, pr.Account.Email, pr.Account.Phone) == "", ans.Contact.Email)
		p.relink("/account", nil)
		h.render(w, r, http.StatusOK, "contact_done", p)
		return nil
	}
	if ans.Next == nil {
		// Failed (out of attempts, or the address was taken meanwhile):
		// the address page, with the reason.
		kind := contact.KindOf(ans.Flow)
		p := h.contactPage(r, c, kind, pr.Account.Email, pr.Account.Phone, "")
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
	chain, err := h.d.Contact.UndoChain(r.Context(), c.realm, token)
	if err != nil {
		return err
	}
	if len(chain) == 0 {
		return h.contactUndoSpent(w, r, c)
	}
	p := h.newPage(r, c.realm, c.locale, "page.contact_undo.title")
	p.Token = token
	h.describeChain(c, p, chain)
	h.render(w, r, http.StatusOK, "contact_undo", p)
	return nil
}

// describeChain puts on p what the link's change (chain[0]) did, for the
// undo pages: its kind ("email_changed", "phone_added", "email_removed",
// …), the addresses involved masked (the page is for whoever holds the
// link) and when it was made; and, in p.Also, a sentence for each later
// change the undo rolls back with it.
func (h *Handler) describeChain(c *call, p *page, chain []*contact.Change) {
	ch := chain[0]
	p.Form["change"] = changeKind(ch)
	p.Form["old"] = maskedOf(p, ch.OldValue)
	p.Form["new"] = maskedOf(p, ch.NewValue)
	p.Form["when"], _ = h.dateText(c, ch.CreatedAt)
	for _, later := range chain[1:] {
		when, _ := h.dateText(c, later.CreatedAt)
		p.Also = append(p.Also, i18n.Message(p.Locale, "contact.undo_what."+changeKind(later), map[string]any{
			"old": maskedOf(p, later.OldValue), "new": maskedOf(p, later.NewValue), "when": when,
		}))
	}
}

// changeKind names what ch did: <kind>_changed, <kind>_added or
// <kind>_removed.
func changeKind(ch *contact.Change) string {
	switch {
	case ch.Added():
		return string(ch.Kind) + "_added"
	case ch.Removed():
		return string(ch.Kind) + "_removed"
	}
	return string(ch.Kind) + "_changed"
}

// maskedOf is the stored identifier v masked as the realm shows it ("" for
// none).
func maskedOf(p *page, v string) string {
	if v == "" {
		return ""
	}
	return identifier.Mask(identifier.Normalized(v), p.region)
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
	// What the link undoes, read before it is used, for the page to name it.
	chain, err := h.d.Contact.UndoChain(r.Context(), c.realm, token)
	if err != nil {
		return err
	}
	ans, err := h.d.Contact.Undo(r.Context(), c.realm, h.request(r, c), token)
	if ninsho.IsCode(err, ninsho.CodeNotFound) {
		return h.contactUndoSpent(w, r, c)
	}
	if ninsho.IsCode(err, ninsho.CodeAccountLocked) {
		// Done, but no verified channel is left for a code: every session
		// has ended; the error page says to contact customer service.
		h.cookies.ClearSession(w, r)
	}
	if err != nil {
		return err
	}
	h.cookies.ClearSession(w, r)
	h.remember(w, r, ans)
	p := h.newPage(r, c.realm, c.locale, "page.contact_undone.title")
	p.FlowID = ans.Flow.ID
	if len(chain) > 0 {
		h.describeChain(c, p, chain)
	}
	p.Form["restored"] = "0"
	if ans.Contact != nil && ans.Contact.Restored != nil && *ans.Contact.Restored {
		p.Form["restored"] = "1"
	}
	p.relink("/signin", nil)
	h.render(w, r, http.StatusOK, "contact_undone", p)
	return nil
}

// currentOf is the identifier of kind among email and phone.
func currentOf(kind contact.Kind, email, phone string) string {
	if kind == contact.KindPhone {
		return phone
	}
	return email
}
