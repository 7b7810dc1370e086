package web

import (
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/identifier"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/twostep"
	"github.com/ninsho/ninsho/internal/web/webreq"
)

// The two-step verification settings pages. Every one needs a recent
// sign-in (recentlySignedIn sends the browser to /reauth and back); their
// forms post to the same origin only (the handler's CrossOriginProtection).
const (
	twoStepPath      = "/account/two-step"
	twoStepTOTPPath  = "/account/two-step/totp"
	twoStepPhonePath = "/account/two-step/phone"    // the phone methods' page
	twoStepPasskeys  = "/account/two-step/passkeys" // the passkeys' page
)

// twoStepPageRoutes registers the settings pages.
func (h *Handler) twoStepPageRoutes() {
	h.mux.Handle("GET "+twoStepPath, h.handle(h.twoStepSettings))
	h.mux.Handle("POST "+twoStepPath+"/preferred", h.handle(h.twoStepPreferred))
	h.mux.Handle("POST "+twoStepPath+"/remove", h.handle(h.twoStepRemove))
	h.mux.Handle("POST "+twoStepPath+"/off", h.handle(h.twoStepOff))
	h.mux.Handle("POST "+twoStepPath+"/backup-codes", h.handle(h.twoStepBackupCodes))
	h.mux.Handle("GET "+twoStepTOTPPath, h.handle(h.twoStepTOTPForm))
	h.mux.Handle("POST "+twoStepTOTPPath, h.handle(h.twoStepTOTPBegin))
	h.mux.Handle("POST "+twoStepTOTPPath+"/verify", h.handle(h.twoStepTOTPVerify))
}

// twoStepView is what the settings pages and the account page's summary
// show of the account's two-step verification.
type twoStepView struct {
	Enabled  bool
	Required bool
	Methods  []twoStepMethodView
	// BackupCodesLeft counts the unused backup codes; Low says 2SV is on
	// and twostep.LowBackupCodes or fewer are left.
	BackupCodesLeft int
	Low             bool
	// Phones are the numbers codes go to, one line each with the way
	// ("SMS: 090-…", "Voice call: 03-…"), in the page's language.
	Phones []string
	// PhonePath and PasskeysPath lead to the other methods' pages.
	PhonePath, PasskeysPath string

	// The authenticator app being added: its credential, the secret in
	// groups of four, the otpauth URL and the QR code as a data: URL.
	CredentialID string
	Grouped      string
	OTPAuthURL   string
	QR           template.URL
	// Codes are new backup codes, shown once.
	Codes []string
	// Offer says the first method was just proved and no backup exists:
	// the page strongly offers backup codes or a second method.
	Offer bool
}

type twoStepMethodView struct {
	ID, Kind, Label string
	Added, LastUsed string
	Preferred       bool
	Destination     string
}

// twoStepSummary describes a's two-step verification for pages in locale.
func (h *Handler) twoStepSummary(r *http.Request, c *call, a *account.Account) (*twoStepView, error) {
	sum, err := h.d.TwoStep.Summarize(r.Context(), c.realm, a)
	if err != nil {
		return nil, err
	}
	loc, _ := realmZone(c.realm)
	v := &twoStepView{
		Enabled: sum.Enabled, Required: sum.Required, BackupCodesLeft: sum.BackupCodesLeft,
		Low:       sum.Enabled && sum.BackupCodesLeft <= twostep.LowBackupCodes,
		PhonePath: twoStepPhonePath, PasskeysPath: twoStepPasskeys,
	}
	for _, m := range sum.Methods {
		mv := twoStepMethodView{ID: m.ID, Kind: string(m.Kind), Label: m.Label, Added: historyTime(c.locale, m.CreatedAt.In(loc)), Preferred: m.Preferred}
		if m.LastUsedAt != nil {
			mv.LastUsed = historyTime(c.locale, m.LastUsedAt.In(loc))
		}
		if m.Phone != "" {
			mv.Destination = identifier.Display(identifier.Normalized(m.Phone), c.realm.PhoneRegion)
			v.Phones = append(v.Phones, i18n.Message(c.locale, "two_step.summary."+string(m.Kind), map[string]any{"phone": mv.Destination}))
		}
		v.Methods = append(v.Methods, mv)
	}
	return v, nil
}

// settingsPage is a settings page for the recently signed-in person pr.
func (h *Handler) settingsPage(r *http.Request, c *call, pr *signin.Principal, title string) (*page, error) {
	p := h.newPage(r, c.realm, c.locale, title)
	p.Account = pr.Account
	v, err := h.twoStepSummary(r, c, pr.Account)
	if err != nil {
		return nil, err
	}
	p.TwoStep = v
	return p, nil
}

// twoStepNotices are the notices the settings page shows after a change
// (?done=).
var twoStepNotices = map[string]string{
	"on":        "notice.two_step.on",
	"added":     "notice.two_step.added",
	"removed":   "notice.two_step.removed",
	"off":       "notice.two_step.off",
	"preferred": "notice.two_step.preferred",
}

func (h *Handler) twoStepSettings(w http.ResponseWriter, r *http.Request, c *call) error {
	h.keepOIDCReturn(w, r) // before a re-authentication drops the query
	pr, err := h.recentlySignedIn(w, r, c)
	if pr == nil || err != nil {
		return err
	}
	p, err := h.settingsPage(r, c, pr, "page.account_two_step.title")
	if err != nil {
		return err
	}
	h.oidcContinue(r, c, p, pr.Session.AAL)
	done := r.URL.Query().Get("done")
	if v := p.TwoStep; (done == "on" || done == "added") && v.Enabled && v.BackupCodesLeft == 0 && len(v.Methods) == 1 {
		// The first method was just proved and nothing backs it up:
		// strongly offer backup codes or a second method before done.
		p.Title, v.Offer = "page.account_two_step_offer.title", true
		h.render(w, r, http.StatusOK, "account_two_step_offer", p)
		return nil
	}
	p.Notice = twoStepNotices[done]
	h.render(w, r, http.StatusOK, "account_two_step", p)
	return nil
}

// twoStepChange reads the form of a settings change, checks the recent
// sign-in and runs change; on success it goes back to the settings page
// with the notice done, on a refusal it shows the settings page with it.
func (h *Handler) twoStepChange(w http.ResponseWriter, r *http.Request, c *call, done string, change func(pr *signin.Principal, credential string) error) error {
	pr, err := h.recentlySignedIn(w, r, c)
	if pr == nil || err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	if err := change(pr, strings.TrimSpace(r.PostForm.Get("credential"))); err != nil {
		return h.settingsRefusal(w, r, c, pr, "account_two_step", "page.account_two_step.title", twoStepPath, err)
	}
	http.Redirect(w, r, twoStepPath+"?done="+done, http.StatusSeeOther)
	return nil
}

// settingsRefusal shows the settings page tmpl (title, at path) again with
// the refusal err; an internal error becomes the error page.
func (h *Handler) settingsRefusal(w http.ResponseWriter, r *http.Request, c *call, pr *signin.Principal, tmpl, title, path string, err error) error {
	if ninsho.CodeOf(err) == ninsho.CodeInternal {
		return err
	}
	p, perr := h.settingsPage(r, c, pr, title)
	if perr != nil {
		return perr
	}
	p.relink(path, nil)
	h.renderError(w, r, tmpl, p, err)
	return nil
}

func (h *Handler) twoStepPreferred(w http.ResponseWriter, r *http.Request, c *call) error {
	return h.twoStepChange(w, r, c, "preferred", func(pr *signin.Principal, id string) error {
		if err := webreq.CheckCredentialID(id); err != nil {
			return err
		}
		return h.d.TwoStep.SetPreferred(r.Context(), c.realm, h.request(r, c), pr.Account, id)
	})
}

func (h *Handler) twoStepRemove(w http.ResponseWriter, r *http.Request, c *call) error {
	return h.twoStepChange(w, r, c, "removed", func(pr *signin.Principal, id string) error {
		if err := webreq.CheckCredentialID(id); err != nil {
			return err
		}
		return h.d.TwoStep.Remove(r.Context(), c.realm, h.request(r, c), pr.Account, id)
	})
}

func (h *Handler) twoStepOff(w http.ResponseWriter, r *http.Request, c *call) error {
	return h.twoStepChange(w, r, c, "off", func(pr *signin.Principal, _ string) error {
		return h.d.TwoStep.TurnOff(r.Context(), c.realm, h.request(r, c), pr.Account)
	})
}

// twoStepBackupCodes makes new backup codes and shows them, once.
func (h *Handler) twoStepBackupCodes(w http.ResponseWriter, r *http.Request, c *call) error {
	pr, err := h.recentlySignedIn(w, r, c)
	if pr == nil || err != nil {
		return err
	}
	codes, err := h.d.TwoStep.RegenerateBackupCodesOn(r.Context(), c.realm, h.request(r, c), pr.Account)
	if err != nil {
		return h.settingsRefusal(w, r, c, pr, "account_two_step", "page.account_two_step.title", twoStepPath, err)
	}
	p, err := h.settingsPage(r, c, pr, "page.account_two_step_codes.title")
	if err != nil {
		return err
	}
	p.TwoStep.Codes = codes
	p.relink(twoStepPath, nil)
	h.render(w, r, http.StatusOK, "account_two_step_codes", p)
	return nil
}

// twoStepTOTPForm shows the authenticator app being added (?credential=),
// or offers to start adding one.
func (h *Handler) twoStepTOTPForm(w http.ResponseWriter, r *http.Request, c *call) error {
	pr, err := h.recentlySignedIn(w, r, c)
	if pr == nil || err != nil {
		return err
	}
	p, err := h.settingsPage(r, c, pr, "page.account_two_step_totp.title")
	if err != nil {
		return err
	}
	if id := r.URL.Query().Get("credential"); id != "" {
		if err := webreq.CheckCredentialID(id); err != nil {
			return err
		}
		if err := h.showEnrolment(w, r, c, p, id); err != nil {
			return err
		}
	}
	h.render(w, r, http.StatusOK, "account_two_step_totp", p)
	return nil
}

// showEnrolment puts the unproved app id's QR code, secret and URL on p,
// and lets the page's policy show the QR code (a data: image).
func (h *Handler) showEnrolment(w http.ResponseWriter, r *http.Request, c *call, p *page, id string) error {
	en, err := h.d.TwoStep.PendingTOTP(r.Context(), c.realm, p.Account, id)
	if err != nil {
		return err
	}
	v := p.TwoStep
	v.CredentialID, v.Grouped, v.OTPAuthURL = en.CredentialID, en.Grouped, en.URL
	v.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(en.PNG))
	w.Header().Set("Content-Security-Policy", withDataImages(h.csp(r, c.realm)))
	// The language links show the same app being added, not a new one.
	p.relink(twoStepTOTPPath, url.Values{"credential": {en.CredentialID}})
	return nil
}

// withDataImages is csp that also allows data: images (the QR code drawn
// on the server, inline, so that the secret is in no other response).
func withDataImages(csp string) string {
	if strings.Contains(csp, "img-src 'self'") {
		return strings.Replace(csp, "img-src 'self'", "img-src 'self' data:", 1)
	}
	return csp + "; img-src 'self' data:"
}

func (h *Handler) twoStepTOTPBegin(w http.ResponseWriter, r *http.Request, c *call) error {
	pr, err := h.recentlySignedIn(w, r, c)
	if pr == nil || err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	en, err := h.d.TwoStep.BeginLabeledTOTP(r.Context(), c.realm, h.request(r, c), pr.Account, r.PostForm.Get("label"))
	if err != nil {
		return h.settingsRefusal(w, r, c, pr, "account_two_step_totp", "page.account_two_step_totp.title", twoStepTOTPPath, err)
	}
	http.Redirect(w, r, twoStepTOTPPath+"?"+url.Values{"credential": {en.CredentialID}}.Encode(), http.StatusSeeOther)
	return nil
}

func (h *Handler) twoStepTOTPVerify(w http.ResponseWriter, r *http.Request, c *call) error {
	pr, err := h.recentlySignedIn(w, r, c)
	if pr == nil || err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	id := r.PostForm.Get("credential")
	if err := webreq.CheckCredentialID(id); err != nil {
		return err
	}
	typed, err := formValue(r, "code")
	if err == nil {
		var proved *twostep.Proved
		proved, err = h.d.TwoStep.ProveTOTP(r.Context(), c.realm, h.request(r, c), pr.Account, id, typed)
		if err == nil {
			// The session has just shown this factor.
			err = h.d.Signin.Elevate(r.Context(), pr, proved.SessionMethod)
		}
		if err == nil {
			done := "added"
			if proved.TurnedOn {
				done = "on"
			}
			http.Redirect(w, r, twoStepPath+"?done="+done, http.StatusSeeOther)
			return nil
		}
	}
	if ninsho.IsCode(err, ninsho.CodeNotFound) || ninsho.CodeOf(err) == ninsho.CodeInternal {
		return err
	}
	p, perr := h.settingsPage(r, c, pr, "page.account_two_step_totp.title")
	if perr != nil {
		return perr
	}
	if serr := h.showEnrolment(w, r, c, p, id); serr != nil {
		return serr
	}
	h.renderError(w, r, "account_two_step_totp", p, err)
	return nil
}
