package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/signin"
)

// Closing the account on the pages (no JavaScript): /account/close names
// what will be lost and the purge date and asks for a ticked confirmation
// (a recent sign-in first: ReauthPath); the sign-in's offer to reopen a
// closed account is /signin/reopen.

// Paths of the closure pages.
const (
	AccountClosePath = "/account/close"
	ReopenPath       = "/signin/reopen"
)

// closeView is what the closure pages show.
type closeView struct {
	Email, Phone, Name string
	Methods, Passkeys  int
	BackupCodes        int
	TrustedDevices     int
	Sessions, History  int
	// PurgeDate is the purge date in words (the realm's zone), PurgeISO
	// the same in RFC 3339; ClosedDate and ClosedISO when it was closed.
	PurgeDate, PurgeISO   string
	ClosedDate, ClosedISO string
	// Done: the account was just closed.
	Done bool
	// AfterKey says which identifiers can sign up again after the purge,
	// DoneKey where the closing notice went: only what the account has.
	AfterKey, DoneKey string
}

// afterKey is the catalogue key of the sentence that says which of a's
// identifiers become free after the purge.
func afterKey(email, phone bool) string {
	switch {
	case email && phone:
		return "account_close.after"
	case phone:
		return "account_close.after.phone"
	default:
		return "account_close.after.email"
	}
}

// doneKey is the key of the closed page's sentence that says where the
// notice went: the verified e-mail address and phone number (closure's
// alert goes to every verified channel).
func doneKey(a *account.Account) string {
	email := a.Email != "" && a.EmailVerifiedAt != nil
	phone := a.Phone != "" && a.PhoneVerifiedAt != nil
	switch {
	case email && phone:
		return "account_closed.done"
	case email:
		return "account_closed.done.email"
	case phone:
		return "account_closed.done.phone"
	default:
		return "account_closed.done.none"
	}
}

// routesClosure adds the closure pages; without the service they answer
// 404.
func (h *Handler) routesClosure() {
	if h.d.Closure == nil {
		return
	}
	h.mux.Handle("GET "+AccountClosePath, h.handle(h.accountCloseForm))
	h.mux.Handle("POST "+AccountClosePath, h.handle(h.accountClose))
	h.mux.Handle("GET "+ReopenPath, h.handleFlow(h.stepForm(atReopen, "reopen", h.reopenPage)))
	h.mux.Handle("POST "+ReopenPath, h.handleFlow(h.reopen))
}

// dateText is t in the realm's zone, in words and in RFC 3339.
func (h *Handler) dateText(c *call, t time.Time) (string, string) {
	loc, _ := realmZone(c.realm)
	return historyTime(c.locale, t.In(loc)), t.UTC().Format(time.RFC3339)
}

// closePage is the confirmation page of pr's account.
func (h *Handler) closePage(r *http.Request, c *call, pr *signin.Principal) (*page, error) {
	loss, err := h.d.Closure.Summary(r.Context(), c.realm, pr)
	if err != nil {
		return nil, err
	}
	p := h.newPage(r, c.realm, c.locale, "page.account_close.title")
	p.Account = pr.Account
	n := loss.Counts
	v := &closeView{Name: pr.Account.Name, Methods: n.TwoStepMethods, Passkeys: n.Passkeys, BackupCodes: n.BackupCodes,
		TrustedDevices: n.TrustedDevices, Sessions: n.Sessions, History: n.HistoryEvents}
	if pr.Account.Email != "" {
		v.Email = p.Shown(pr.Account.Email)
	}
	if pr.Account.Phone != "" {
		v.Phone = p.Shown(pr.Account.Phone)
	}
	v.AfterKey = afterKey(v.Email != "", v.Phone != "")
	v.PurgeDate, v.PurgeISO = h.dateText(c, loss.PurgeAt)
	p.Closure = v
	return p, nil
}

// accountCloseForm shows what closing will lose (a recent sign-in first,
// so that the form it shows can be sent).
func (h *Handler) accountCloseForm(w http.ResponseWriter, r *http.Request, c *call) error {
	pr, err := h.recentlySignedIn(w, r, c)
	if pr == nil || err != nil {
		return err
	}
	p, err := h.closePage(r, c, pr)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "account_close", p)
	return nil
}

// accountClose closes the account when the confirmation is ticked
// (confirm=1), ends the browser's session and says until when signing in
// reopens it; without the tick the page is shown again with the refusal.
func (h *Handler) accountClose(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	pr, err := h.recentlySignedIn(w, r, c)
	if pr == nil || err != nil {
		return err
	}
	confirm, _ := strconv.ParseBool(r.PostForm.Get("confirm"))
	out, err := h.d.Closure.Close(r.Context(), c.realm, h.request(r, c), pr, confirm)
	if err != nil {
		if ninsho.CodeOf(err) == ninsho.CodeInternal {
			return err
		}
		p, perr := h.closePage(r, c, pr)
		if perr != nil {
			return perr
		}
		h.renderError(w, r, "account_close", p, err)
		return nil
	}
	h.cookies.ClearSession(w, r)
	p := h.newPage(r, c.realm, c.locale, "page.account_closed.title")
	v := &closeView{Done: true, DoneKey: doneKey(pr.Account)}
	v.PurgeDate, v.PurgeISO = h.dateText(c, out.PurgeAt)
	p.Closure = v
	h.render(w, r, http.StatusOK, "account_close", p)
	return nil
}

// atReopen reports whether ans is a sign-in at the offer to reopen.
func atReopen(ans *flow.Answer) bool {
	return ans.Flow.Kind == flow.KindSignin && ans.Flow.Status == flow.StatusOpen && ans.Next != nil && ans.Next.Step == flow.StepReopenAccount
}

// reopenPage is the offer to reopen the closed account of a sign-in.
func (h *Handler) reopenPage(r *http.Request, c *call, ans *flow.Answer) *page {
	p := h.newPage(r, c.realm, c.locale, "page.reopen.title")
	p.FlowID, p.Next = ans.Flow.ID, ans.Next
	p.flowReturnTo(ans.Flow)
	v := &closeView{}
	if ans.Next.ClosedAt != nil {
		v.ClosedDate, v.ClosedISO = h.dateText(c, *ans.Next.ClosedAt)
	}
	if ans.Next.PurgeAt != nil {
		v.PurgeDate, v.PurgeISO = h.dateText(c, *ans.Next.PurgeAt)
	}
	p.Closure = v
	return p
}

// reopen answers the offer: action reopen signs in (the sign-in goes on as
// any other), action cancel leaves the account closed and goes back to the
// sign-in page.
func (h *Handler) reopen(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := postedFlow(w, r)
	if err != nil {
		return err
	}
	action := r.PostForm.Get("action")
	if action != flow.ActionReopen && action != flow.ActionCancel {
		action = "unknown"
	}
	ans, err := h.act(r, c, id, flow.Action{Name: action})
	if err == nil && action == flow.ActionCancel && ans != nil && ans.Flow != nil {
		h.remember(w, r, ans)
		http.Redirect(w, r, withReturnTo("/signin", ans.Flow.ReturnTo), http.StatusSeeOther)
		return nil
	}
	return h.answered(w, r, c, id, ans, err, func(w http.ResponseWriter, r *http.Request, c *call, id string, ans *flow.Answer, err error) error {
		return h.stepAgain(w, r, c, id, ans, err, atReopen, "reopen", h.reopenPage)
	})
}
