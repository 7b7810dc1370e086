package web

import (
	"net/http"
	"strings"

	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/profile"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/web/webreq"
)

// The owner's settings that need no code (internal/profile): the password,
// the name and language, and removing the e-mail address or phone number.
// Every page needs a recent sign-in (recentlySignedIn sends the browser to
// /reauth and back) and works without JavaScript; forms post to the same
// origin only (the handler's CrossOriginProtection).
const (
	accountPasswordPath = "/account/password"
	accountProfilePath  = "/account/profile"
	removeEmailPath     = "/account/email/remove"
	removePhonePath     = "/account/phone/remove"
)

// profileNotices are the notices /account shows after a change (?done=).
var profileNotices = map[string]string{
	"password":        "notice.profile.password",
	"password_others": "notice.profile.password_others",
	"profile":         "notice.profile.saved",
	"email_removed":   "notice.profile.email_removed",
	"phone_removed":   "notice.profile.phone_removed",
}

// profileView is what the settings pages and /account show of them.
type profileView struct {
	// Kind is the identifier the removal page is about ("email", "phone")
	// and Identifier how people read it.
	Kind, Identifier string
	// TwoStepAlso says the two-step methods on the phone number go with it.
	TwoStepAlso bool
	// Blocked says the removal is refused (the page shows why, no button).
	Blocked bool
	// SignOutOthers ticks "sign out everywhere else".
	SignOutOthers bool
}

// profilePageRoutes registers the pages; without Deps.Profile none.
func (h *Handler) profilePageRoutes() {
	if h.d.Profile == nil {
		return
	}
	h.mux.Handle("GET "+accountPasswordPath, h.handle(h.passwordForm))
	h.mux.Handle("POST "+accountPasswordPath, h.handle(h.passwordChange))
	h.mux.Handle("GET "+accountProfilePath, h.handle(h.profileForm))
	h.mux.Handle("POST "+accountProfilePath, h.handle(h.profileSave))
	for path, kind := range map[string]profile.Kind{removeEmailPath: profile.KindEmail, removePhonePath: profile.KindPhone} {
		h.mux.Handle("GET "+path, h.handle(h.removeConfirm(kind)))
		h.mux.Handle("POST "+path, h.handle(h.removeIdentifier(kind, path)))
	}
}

// profilePage is a settings page for pr, its language links to path.
func (h *Handler) profilePage(r *http.Request, c *call, pr *signin.Principal, title, path string) *page {
	p := h.newPage(r, c.realm, c.locale, title)
	p.Account = pr.Account
	p.Profile = &profileView{}
	p.relink(path, nil)
	return p
}

func (h *Handler) passwordForm(w http.ResponseWriter, r *http.Request, c *call) error {
	pr, err := h.recentlySignedIn(w, r, c)
	if pr == nil || err != nil {
		return err
	}
	p := h.profilePage(r, c, pr, "page.account_password.title", accountPasswordPath)
	p.Profile.SignOutOthers = true
	h.render(w, r, http.StatusOK, "account_password", p)
	return nil
}

func (h *Handler) passwordChange(w http.ResponseWriter, r *http.Request, c *call) error {
	pr, err := h.recentlySignedIn(w, r, c)
	if pr == nil || err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	in := profile.PasswordInput{
		Current: f.Get("current_password"), Password: f.Get("password"), PasswordConfirmation: f.Get("password_confirmation"),
		SignOutOthers: f.Get("sign_out_others") != "",
	}
	err = webreq.CheckLength("password", in.Current)
	if err != nil {
		ninsho.ErrorOf(err).Field = "current_password"
	} else {
		err = ninsho.Fields(webreq.CheckLength("password", in.Password), webreq.CheckLength("password_confirmation", in.PasswordConfirmation))
	}
	var out *profile.PasswordChanged
	if err == nil {
		out, err = h.d.Profile.ChangePassword(r.Context(), c.realm, h.request(r, c), pr, in)
	}
	if err != nil {
		if ninsho.CodeOf(err) == ninsho.CodeInternal || ninsho.IsCode(err, ninsho.CodeReauthRequired) {
			return err
		}
		p := h.profilePage(r, c, pr, "page.account_password.title", accountPasswordPath)
		p.Profile.SignOutOthers = in.SignOutOthers
		h.renderError(w, r, "account_password", p, err)
		return nil
	}
	done := "password"
	if out.SignedOutOthers > 0 {
		done = "password_others"
	}
	http.Redirect(w, r, "/account?done="+done, http.StatusSeeOther)
	return nil
}

func (h *Handler) profileForm(w http.ResponseWriter, r *http.Request, c *call) error {
	pr, err := h.recentlySignedIn(w, r, c)
	if pr == nil || err != nil {
		return err
	}
	p := h.profilePage(r, c, pr, "page.account_profile.title", accountProfilePath)
	p.Form["name"], p.Form["locale"] = pr.Account.Name, pr.Account.Locale
	h.render(w, r, http.StatusOK, "account_profile", p)
	return nil
}

func (h *Handler) profileSave(w http.ResponseWriter, r *http.Request, c *call) error {
	pr, err := h.recentlySignedIn(w, r, c)
	if pr == nil || err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	name, locale := r.PostForm.Get("name"), r.PostForm.Get("locale")
	err = ninsho.Fields(webreq.CheckLength("name", name), webreq.CheckLength("locale", locale))
	if err == nil {
		_, err = h.d.Profile.UpdateProfile(r.Context(), c.realm, h.request(r, c), pr, profile.Update{Name: &name, Locale: &locale})
	}
	if err != nil {
		if ninsho.CodeOf(err) == ninsho.CodeInternal || ninsho.IsCode(err, ninsho.CodeReauthRequired) {
			return err
		}
		p := h.profilePage(r, c, pr, "page.account_profile.title", accountProfilePath)
		p.Form["name"], p.Form["locale"] = name, locale
		h.renderError(w, r, "account_profile", p, err)
		return nil
	}
	// This browser follows the language just chosen (the language cookie,
	// as the language links set it), whatever it asked for before.
	h.cookies.SetLang(w, r, i18n.Canonical(locale))
	http.Redirect(w, r, "/account?done=profile", http.StatusSeeOther)
	return nil
}

// removeConfirm shows the confirmation page of removing the identifier of
// kind: what goes, and why it cannot go when it cannot (no button then).
func (h *Handler) removeConfirm(kind profile.Kind) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		pr, err := h.recentlySignedIn(w, r, c)
		if pr == nil || err != nil {
			return err
		}
		return h.showRemove(w, r, c, pr, kind, nil)
	}
}

// showRemove renders the removal page of kind for pr, with err (a refusal)
// if any; CanRemove's own refusal is shown too.
func (h *Handler) showRemove(w http.ResponseWriter, r *http.Request, c *call, pr *signin.Principal, kind profile.Kind, err error) error {
	path := removeEmailPath
	value := pr.Account.Email
	if kind == profile.KindPhone {
		path, value = removePhonePath, pr.Account.Phone
	}
	if value == "" {
		return ninsho.E(ninsho.CodeNotFound)
	}
	p := h.profilePage(r, c, pr, "page.account_remove.title", path)
	p.Profile.Kind, p.Profile.Identifier = string(kind), p.Shown(value)
	on, cerr := h.d.Profile.CanRemove(r.Context(), c.realm, pr.Account, kind)
	if ninsho.CodeOf(cerr) == ninsho.CodeInternal {
		return cerr
	}
	p.Profile.TwoStepAlso = len(on) > 0
	if err == nil {
		err = cerr
	}
	if err != nil {
		p.Profile.Blocked = cerr != nil
		h.renderError(w, r, "account_remove", p, err)
		return nil
	}
	h.render(w, r, http.StatusOK, "account_remove", p)
	return nil
}

// removeIdentifier is the POST of the removal: from /account (no confirm)
// it shows the confirmation page; with confirm=yes it removes the
// identifier and returns to /account.
func (h *Handler) removeIdentifier(kind profile.Kind, path string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		pr, err := h.recentlySignedIn(w, r, c)
		if pr == nil || err != nil {
			return err
		}
		if err := parseForm(w, r); err != nil {
			return err
		}
		if strings.TrimSpace(r.PostForm.Get("confirm")) != "yes" {
			return h.showRemove(w, r, c, pr, kind, nil)
		}
		_, err = h.d.Profile.Remove(r.Context(), c.realm, h.request(r, c), pr, kind)
		if err != nil {
			if ninsho.CodeOf(err) == ninsho.CodeInternal || ninsho.IsCode(err, ninsho.CodeReauthRequired) || ninsho.IsCode(err, ninsho.CodeNotFound) {
				return err
			}
			return h.showRemove(w, r, c, pr, kind, err)
		}
		http.Redirect(w, r, "/account?done="+string(kind)+"_removed", http.StatusSeeOther)
		return nil
	}
}
