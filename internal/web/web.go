// Package web is the hosted pages: sign-up, verification, sign-in,
// self-service unlock, the password assistant (each with its CAPTCHA step)
// and "this wasn't me", the account page with the sign-in history, and
// sign-out, in Japanese and English, rendered with html/template from
// embedded files. Its handlers only translate: they read the form, call one
// service method and render or redirect on the answer. Every error is
// written through httperr, which decides the status.
package web

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/clientip"
	"github.com/ninsho/ninsho/internal/closure"
	"github.com/ninsho/ninsho/internal/consent"
	"github.com/ninsho/ninsho/internal/contact"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/help"
	"github.com/ninsho/ninsho/internal/httperr"
	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/identifier"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/org"
	"github.com/ninsho/ninsho/internal/profile"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/reauth"
	"github.com/ninsho/ninsho/internal/recovery"
	"github.com/ninsho/ninsho/internal/reset"
	"github.com/ninsho/ninsho/internal/sessions"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/signup"
	"github.com/ninsho/ninsho/internal/twostep"
	"github.com/ninsho/ninsho/internal/unlock"
	"github.com/ninsho/ninsho/internal/web/webreq"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// ContentSecurityPolicy is the policy of every browser route: scripts, styles,
// images and media (the CAPTCHA's PNG and WAV) and forms from this origin
// only, no framing, no <base>. A realm whose logo is an external URL also
// allows images from that logo's origin (img-src).
const ContentSecurityPolicy = "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"

// maxFormBytes bounds a form body.
const maxFormBytes = 64 << 10

// Deps are the services the pages call. All but ClientIP, Unlock, Reset and
// Now are required.
type Deps struct {
	// FrontchannelPage writes, after the sign-out, the page that tells the
	// applications signed in under session sid (OpenID Connect front-channel
	// logout) and goes on to next, and reports whether it did
	// (oidc.Handler.FrontchannelPage); nil: none.
	FrontchannelPage func(w http.ResponseWriter, r *http.Request, rl *realm.Realm, sid, next, locale string) bool
	// FormSources lists, per realm, the CSP sources of the registered
	// OpenID Connect clients' redirect URIs (oauthclient.SourceCache): a
	// form posted on the pages may end there through the bridge. nil: none.
	FormSources func(ctx context.Context, realm string) []string
	Realms      *realm.Registry
	Flows       *flow.Engine
	Signup      *signup.Service
	Signin      *signin.Service
	ClientIP    *clientip.Resolver // nil: the connection's address
	// Unlock serves /unlock, /unlock/password and /signin/not-me; nil: those
	// pages answer 404 and a locked sign-in offers no unlock. The flow engine
	// must hold it as the handler of flow.KindUnlock.
	Unlock *unlock.Service
	// Reset serves /password-assistant and /password-assistant/choose; nil:
	// those pages answer 404 and the sign-in page offers no "forgot your
	// password?" link. The flow engine must hold it as the handler of
	// flow.KindReset.
	Reset *reset.Service
	// TwoStep serves the two-step verification settings of a signed-in
	// person; nil: they answer 404.
	TwoStep *twostep.Service
	// Sessions serves the signed-in person's sessions, familiar devices
	// and "this wasn't me" on an entry of the sign-in history; nil: they
	// answer 404.
	Sessions *sessions.Service
	// Reauth serves /reauth; nil: it answers 404. The flow engine must
	// hold it as the handler of flow.KindReauth.
	Reauth *reauth.Service
	// Profile serves /account/password, /account/profile and the removal
	// of the e-mail address or phone number (account_profile.go); nil:
	// they answer 404 and /account offers none of them.
	Profile *profile.Service
	// Closure closes the signed-in person's account (/account/close,
	// /api/v1/me/close); nil: those answer 404.
	Closure *closure.Service
	// Contact serves the contact change pages (/account/email,
	// /account/phone, /account/contact/code) and the undo link's page;
	// nil: they answer 404. The flow engine must hold it as the handler of
	// flow.KindContact.
	Contact *contact.Service
	// Help serves /help/request ("help me sign in"); nil: it answers 404
	// and the troubleshooter leads to the realm's customer service
	// instead. The flow engine must hold it as the handler of
	// flow.KindHelp. The troubleshooter (/help) is served either way.
	Help *help.Service
	// Recovery serves /recovery (document recovery of two-step
	// verification, recovery.go); nil: it answers 404. The flow engine
	// must hold it as the handler of flow.KindRecovery.
	Recovery *recovery.Service
	// OIDC is the OpenID Connect provider's side of the consent page and
	// of the "Continue to" link after two-step enrolment (consent.go; the
	// *oidc.Handler); nil: the consent page answers 404 and no link is
	// shown.
	OIDC OIDCRequests
	// Consents serves /account/apps, the clients the signed-in person
	// allowed (consent.go); nil: it answers 404 and /account has no link.
	Consents *consent.Service
	// Orgs serves the organisation pages (/account/orgs, the invitation
	// and approval links' pages: orgs.go); nil: they answer 404 and
	// /account has no link.
	Orgs *org.Service
	// SecureCookies marks cookies Secure even on plain-HTTP requests (the
	// public URL is https behind a TLS-terminating proxy).
	SecureCookies bool
	// Now tells the time for cookie lifetimes; nil means time.Now.
	Now func() time.Time
}

// Handler serves the browser routes. It is safe for concurrent use.
type Handler struct {
	d     Deps
	mux   *http.ServeMux
	looks sync.Map // realm id → *realmLook, rebuilt when the realm changes

	plain   *look // the built-in look, for a request without a realm
	cookies webreq.Cookies
	cop     *http.CrossOriginProtection
	static  http.Handler
	files   fs.FS // the static files that static serves
}

var _ http.Handler = (*Handler)(nil)

// New returns the pages handler. It reads every realm's logo and theme
// directory and parses the theme's page templates now; a file that cannot be
// read, a logo that is no image and a page template that fails to parse or
// lacks its required block are an error naming the realm and the file (and
// line).
func New(d Deps) (*Handler, error) {
	if d.Now == nil {
		d.Now = time.Now
	}
	static, _ := fs.Sub(staticFS, "static") // cannot fail: "static" is a valid path
	plain, err := newLook(&realm.Realm{})
	if err != nil {
		return nil, err
	}
	h := &Handler{
		d:       d,
		mux:     http.NewServeMux(),
		plain:   plain,
		cookies: webreq.Cookies{Secure: d.SecureCookies},
		cop:     http.NewCrossOriginProtection(),
		static:  http.StripPrefix("/static/", http.FileServerFS(static)),
		files:   static,
	}
	for _, rl := range d.Realms.All() {
		if rl == nil {
			continue
		}
		lk, err := newLook(rl)
		if err != nil {
			return nil, fmt.Errorf("realm %s: %w", rl.ID, err)
		}
		h.looks.Store(rl.ID, &realmLook{rl: rl, lk: lk})
	}
	h.mux.HandleFunc("GET /{$}", h.root)
	h.mux.Handle("GET /static/", http.HandlerFunc(h.serveStatic))
	h.mux.HandleFunc("GET "+ThemeCSSPath, h.themeCSS)
	h.mux.HandleFunc("GET "+CustomCSSPath, h.customCSS)
	h.mux.HandleFunc("GET "+LogoPath, h.logo)
	// Browsers ask for an icon on their first visit; answering it cheaply
	// keeps error pages and console errors for real mistakes.
	h.mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.WriteHeader(http.StatusNoContent)
	})
	h.mux.Handle("GET /signup", h.handleFlow(h.signupForm))
	h.mux.Handle("POST /signup", h.handleFlow(h.signup))
	h.mux.Handle("GET /verify", h.handleFlow(h.stepForm(atVerificationCode, "verify", h.verifyPage)))
	h.mux.Handle("POST /verify", h.handleFlow(h.verify))
	h.mux.Handle("GET /two-step", h.handleFlow(h.stepForm(atSecondFactor, "two_step", h.twoStepPage)))
	h.mux.Handle("POST /two-step", h.handleFlow(h.twoStep))
	h.mux.Handle("GET "+enrolPath, h.handleFlow(h.enrolForm))
	h.mux.Handle("POST "+enrolPath, h.handleFlow(h.enrol))
	h.mux.Handle("GET /signin", h.handleFlow(h.signinForm))
	h.mux.Handle("POST /signin", h.handleFlow(h.signin))
	h.mux.Handle("GET /account", h.handle(h.account))
	h.mux.Handle("POST /signout", h.handle(h.signout))
	h.trustedRoutes()
	if d.Sessions != nil {
		h.sessionsRoutes()
	}
	if d.TwoStep != nil {
		h.twoStepPageRoutes()
	}
	h.routesPasskey()
	h.profilePageRoutes()
	h.routesRecovery()
	if d.Unlock != nil {
		h.mux.Handle("GET /unlock", h.handleFlow(h.unlockForm))
		h.mux.Handle("POST /unlock", h.handleFlow(h.unlockStart))
		h.mux.Handle("GET /unlock/password", h.handleFlow(h.stepForm(atUnlockPassword, "unlock_password", h.unlockPage)))
		h.mux.Handle("POST /unlock/password", h.handleFlow(h.unlockPassword))
		h.mux.Handle("GET /signin/not-me", h.handle(h.notMeForm))
		h.mux.Handle("GET /n/{token}", h.handle(h.notMeForm))
		h.mux.Handle("POST /signin/not-me", h.handleFlow(h.notMe))
	}
	if d.Reauth != nil {
		h.mux.Handle("GET "+ReauthPath, h.handleFlow(h.reauthForm))
		h.mux.Handle("POST "+ReauthPath, h.handleFlow(h.reauth))
	}
	if d.Reset != nil {
		h.mux.Handle("GET /password-assistant", h.handleFlow(h.resetForm))
		h.mux.Handle("POST /password-assistant", h.handleFlow(h.resetStart))
		h.mux.Handle("GET /password-assistant/choose", h.handleFlow(h.stepForm(atResetChoose, "reset_choose", h.resetChoosePage)))
		h.mux.Handle("POST /password-assistant/choose", h.handleFlow(h.resetChoose))
	}
	h.routeTwoStepPhone()
	h.routesClosure() // account_close.go
	h.routeContact()
	h.routesHelp() // help.go
	h.routesOIDC() // consent.go
	h.routesOrgs() // orgs.go
	return h, nil
}

// translate is the templates' t function: t locale key [name value]...
func translate(locale, key string, args ...any) string {
	var params map[string]any
	if len(args) > 1 {
		params = make(map[string]any, len(args)/2)
		for i := 0; i+1 < len(args); i += 2 {
			params[fmt.Sprint(args[i])] = args[i+1]
		}
	}
	return i18n.Message(locale, key, params)
}

// ServeHTTP sets the security headers, refuses cross-origin state changes,
// remembers a language chosen with ?lang= and routes the request. Unknown
// paths and methods answer an HTML error page.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", h.csp(r, h.d.Realms.ForHost(r.Host)))
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "same-origin")
	if err := h.cop.Check(r); err != nil {
		h.WriteError(w, r, ninsho.E(ninsho.CodeCSRF).Wrap(err))
		return
	}
	if l := webreq.QueryLang(r); l != "" {
		h.cookies.SetLang(w, r, l)
	}
	if _, pattern := h.mux.Handler(r); pattern != "" {
		h.mux.ServeHTTP(w, r)
		return
	}
	code := ninsho.CodeNotFound
	if allow := webreq.RouteMiss(h.mux, r); allow != "" {
		hd.Set("Allow", allow)
		code = ninsho.CodeMethodNotAllowed
	}
	h.WriteError(w, r, ninsho.E(code))
}

// csp is the Content-Security-Policy of rl's pages for r: form-action
// 'self' widened to where a form's redirects may lead — the origins of the
// realm's return_to allow-list and of its clients' redirect URIs — since
// browsers apply form-action to every redirect after a form.
func (h *Handler) csp(r *http.Request, rl *realm.Realm) string {
	lk := h.lookFor(rl)
	sources := lk.formSources
	if h.d.FormSources != nil {
		if more := h.d.FormSources(r.Context(), rl.ID); len(more) > 0 {
			sources = append(slices.Clip(sources), more...)
		}
	}
	if len(sources) == 0 {
		return lk.csp
	}
	return strings.Replace(lk.csp, "form-action 'self'", "form-action 'self' "+strings.Join(sources, " "), 1)
}

// WriteError writes err as the HTML error page, which shows the request id
// as the reference number. httperr decides the status.
func (h *Handler) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	rl := h.d.Realms.ForHost(r.Host)
	locale := webreq.Locale(r, rl)
	httperr.WriteHTML(w, r, err, locale, httperr.RequestID(r.Context()), func(w http.ResponseWriter, r *http.Request, p httperr.Page) {
		title := "page.error.title"
		if p.Code == ninsho.CodeCookiesRequired {
			title = "page.cookies_required.title"
		}
		pg := h.newPage(r, rl, locale, title)
		pg.Error = &formError{Code: string(p.Code), Field: p.Field, Message: p.Message, RequestID: p.RequestID}
		h.render(w, r, p.Status, "error", pg)
	})
}

func (h *Handler) serveStatic(w http.ResponseWriter, r *http.Request) {
	// Files only: no directory listing. A file that does not exist gets
	// the error page like every other unknown address, not the file
	// server's plain-text "404 page not found".
	name := strings.TrimPrefix(r.URL.Path, "/static/")
	if fi, err := fs.Stat(h.files, name); strings.HasSuffix(r.URL.Path, "/") || !fs.ValidPath(name) || err != nil || fi.IsDir() {
		h.WriteError(w, r, ninsho.E(ninsho.CodeNotFound))
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	h.static.ServeHTTP(w, r)
}

func (h *Handler) root(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

// call is what every page handler needs about its request.
type call struct {
	realm  *realm.Realm
	locale string
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, c *call) error

// handle adapts a handler that returns an error; the error becomes the error
// page. A request that brought no cookie gets the test cookie
// (webreq.TestCookie), so that its next one shows whether the browser keeps
// cookies.
func (h *Handler) handle(f handlerFunc) http.Handler {
	return h.handleWith(f, false)
}

// handleFlow is handle for the pages of a flow: a request that starts or
// acts on a flow (a POST) and brings no cookie at all is answered
// cookies_required — the browser refuses cookies (the form's page set the
// test cookie), and without the flow's binding cookie nothing could follow.
// A page of a flow (?flow=) opened without cookies may be a browser's first
// visit: it is sent once to the same page with the test cookie and
// cookie_check=1, and answered cookies_required when that brings none
// either. Both are decided before any flow is looked up or any input read,
// so they are the same for an unknown, a foreign and a real flow, and they
// neither spend nor change anything.
func (h *Handler) handleFlow(f handlerFunc) http.Handler {
	return h.handleWith(f, true)
}

func (h *Handler) handleWith(f handlerFunc, flowPage bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		rl := h.d.Realms.ForHost(r.Host)
		c := &call{realm: rl, locale: webreq.Locale(r, rl)}
		var err error
		switch {
		case webreq.HasCookies(r) && flowPage && r.Method == http.MethodGet && r.URL.Query().Has(cookieCheckParam):
			// The check passed: show the page at its own address.
			q := r.URL.Query()
			q.Del(cookieCheckParam)
			http.Redirect(w, r, (&url.URL{Path: r.URL.Path, RawQuery: q.Encode()}).String(), http.StatusSeeOther)
		case webreq.HasCookies(r):
			err = f(w, r, c)
		case !flowPage:
			h.cookies.SetTest(w, r)
			err = f(w, r, c)
		case r.Method == http.MethodPost:
			// The page the form came from set the test cookie.
			h.cookies.SetTest(w, r)
			err = ninsho.E(ninsho.CodeCookiesRequired)
		case r.URL.Query().Has("flow") && r.URL.Query().Get(cookieCheckParam) == "":
			// A link opened in a browser that has not been here: it may
			// only be new. Hand it the test cookie and ask again.
			h.cookies.SetTest(w, r)
			q := r.URL.Query()
			q.Set(cookieCheckParam, "1")
			http.Redirect(w, r, (&url.URL{Path: r.URL.Path, RawQuery: q.Encode()}).String(), http.StatusSeeOther)
		case r.URL.Query().Has("flow"):
			// Asked again, and still no cookie: the browser refuses them.
			h.cookies.SetTest(w, r)
			err = ninsho.E(ninsho.CodeCookiesRequired)
		default:
			h.cookies.SetTest(w, r)
			err = f(w, r, c)
		}
		if err != nil {
			h.WriteError(w, r, err)
		}
	})
}

// cookieCheckParam marks the second request of a flow link that came
// without cookies (handleFlow): without a cookie then, the browser refuses
// them.
const cookieCheckParam = "cookie_check"

// request describes r to the services as a page request.
func (h *Handler) request(r *http.Request, c *call) ninsho.Request {
	return webreq.Request(r, h.d.ClientIP, ninsho.ClientPage, c.locale, webreq.DeviceToken(r))
}

// flowRequest describes r as a page request about the flow with the id,
// with the flow's binding secret from this browser's cookie: without it the
// flow engine answers flow_not_found.
func (h *Handler) flowRequest(r *http.Request, c *call, id string) ninsho.Request {
	req := h.request(r, c)
	req.FlowSecret = webreq.FlowSecret(r, id)
	return req
}

// view returns the flow with the id as this browser may see it.
func (h *Handler) view(r *http.Request, c *call, id string) (*flow.Answer, error) {
	return h.d.Flows.View(r.Context(), c.realm.ID, id, h.flowRequest(r, c, id))
}

// act applies a to the flow with the id for this browser.
func (h *Handler) act(r *http.Request, c *call, id string, a flow.Action) (*flow.Answer, error) {
	return h.d.Flows.Act(r.Context(), c.realm.ID, id, h.flowRequest(r, c, id), a)
}

// remember keeps what the answer hands this browser: a new device token, the
// binding cookie of a flow just started, and the end of a finished flow's
// cookie.
func (h *Handler) remember(w http.ResponseWriter, r *http.Request, ans *flow.Answer) {
	if ans == nil {
		return
	}
	h.cookies.SetDevice(w, r, ans.DeviceToken)
	if f := ans.Flow; f != nil {
		if f.Status == flow.StatusComplete && f.Kind == flow.KindHelp {
			// The done page shows the request's reference to this
			// browser alone (helpDone): the binding stays until the
			// flow expires.
			return
		}
		if f.Status == flow.StatusComplete || f.Status == flow.StatusFailed {
			h.cookies.ClearFlow(w, r, f.ID)
			return
		}
		h.cookies.SetFlow(w, r, f)
	}
}

// page is the data every template gets.
type page struct {
	Locale    string
	Title     string // catalogue key of the title
	RealmName string
	// Brand is the realm's logo, stylesheets, support and legal links.
	Brand     *brandView
	look      *look
	Languages []language
	Error     *formError
	Notice    string            // catalogue key of a notice ("a new code was sent")
	Form      map[string]string // values to show again (never passwords)
	FlowID    string
	Next      *flow.Next
	// RestartURL is where "wrong address? start again" leads.
	RestartURL string
	// Untyped says the code page's flow began without an identifier typed
	// (a "this wasn't me" link): no "wrong address?" link, and a failed
	// flow offers a plain "start again".
	Untyped bool
	// Ended says the flow of a code page has failed: the page shows why
	// and the way to start again, and no form.
	Ended   bool
	Account *account.Account
	// Why is the catalogue key that tells why a code is asked ("we don't
	// recognise this device"), or "".
	Why string
	// RenderedAt is the server's time in Unix milliseconds when a password
	// form was rendered; the form sends it back (see formElapsed).
	RenderedAt int64
	// Captcha is the challenge of a flow held back at the CAPTCHA step: a
	// sign-in's, or the start gate's on a start page (start.go).
	Captcha *captchaView
	// Lock explains a sign-in that a lock refused and offers the unlock.
	Lock *lockView
	// SuspendedRef is the reference number of the suspension a sign-in
	// met (account_suspended): the page links to a help request that
	// quotes it.
	SuspendedRef string
	// NewPassword asks for a new password twice (unlock of a suspicious
	// lock) instead of the current one.
	NewPassword bool
	// PasswordAssistant offers the "forgot your password?" link.
	PasswordAssistant bool
	// CodeSignIn offers "sign in with this code once" on the password
	// assistant's choice page.
	CodeSignIn bool
	// Token is the "this wasn't me" link's token, posted back by its form.
	Token string
	// Also lists, on the contact undo pages, the later changes the link
	// rolls back with its own (each a sentence), oldest first.
	Also []string
	// SupportURL and SupportContact are the realm's customer service, where
	// a page says to contact it (realm.Brand); either may be "".
	SupportURL     string
	SupportContact string
	// History is the account's sign-in history; HistoryZone the catalogue
	// key that names the time zone of its times.
	History     []historyRow
	HistoryZone string
	// ReturnTo is the checked return_to the page carries to the flow it
	// starts (returnto.go), or "".
	ReturnTo string
	// OIDC is the OpenID Connect part of a page (consent.go): the consent
	// page, the apps page, the "Continue to" link of the two-step
	// settings.
	OIDC *oidcView
	// AppsLink shows the account page's link to /account/apps.
	AppsLink bool
	// Orgs is the organisation pages' part (orgs.go); OrgsLink shows the
	// account page's link to /account/orgs.
	Orgs     *orgsView
	OrgsLink bool
	// Trusted is the trusted-devices part of a page (trusted.go): the
	// offer on the second-factor page, the list on its own page.
	Trusted *trustedView
	// Enrolment is the authenticator app being added on the enrolment
	// page (twostep_enrol.go), or nil.
	Enrolment *enrolView
	// TwoStep is the account's two-step verification (the account page's
	// summary and the settings pages: account_twostep.go).
	TwoStep *twoStepView
	// Sessions is the sessions-and-devices part of a page
	// (account_sessions.go): the list page, the history's "this wasn't
	// me" confirmation.
	Sessions *sessionsView
	// Passkey is what a page needs for passkeys (passkey.go), nil when it
	// has none: the script, the sign-in button, the account's passkeys.
	Passkey *passkeyView
	// Profile is what the password, name and language and removal pages
	// need (account_profile.go); on /account it offers them.
	Profile *profileView
	// Closure is closing the account and the sign-in's offer to reopen it
	// (account_close.go), nil elsewhere.
	Closure *closeView
	// Contact offers the links to change or add the e-mail address and the
	// phone number on the account page (contact.go).
	Contact bool
	// Help is the troubleshooter's and the help request's part (help.go).
	Help *helpView
	// helpLink offers "Can't sign in?" in the footer (helpLinkPages).
	helpLink bool
	// Recovery is what the document recovery pages show (recovery.go).
	Recovery *recoveryView

	// PasswordMin is the fewest characters of a new password in the realm
	// (the hint of every new-password field).
	PasswordMin int
	// offered are the languages the realm offers: the switch links to
	// them only (nil: every supported one).
	offered []string

	// region is the realm's phone region (how numbers are shown) and
	// emailOnly whether the realm takes e-mail addresses only.
	region    string
	emailOnly bool
	// zone is the realm's time zone (realmZone) and now the time the page
	// was made, for the times the code pages show (delivery.go).
	zone *time.Location
	now  time.Time
	// refused is, on a code page shown after a switch_channel was refused,
	// the channel that was asked for (delivery.go); "" otherwise.
	refused string
}

// Shown returns a stored identifier (an e-mail address with A-labels, an
// E.164 number) as people read it in the realm: the domain in Unicode, a
// number of the realm's country in its national format (identifier.Display).
func (p *page) Shown(v string) string {
	if v == "" {
		return ""
	}
	return identifier.Display(identifier.Normalized(v), p.region)
}

// idField describes the identifier input: its label and hint (catalogue
// keys), type and inputmode.
type idField struct {
	Label, Hint, Type, InputMode string
}

// IDField describes the identifier input of the realm: an e-mail address or
// a mobile number, or where the realm cannot send text messages
// (realm.EmailOnly) an e-mail address alone, typed on the e-mail keyboard.
// Either way its autocomplete stays "username": it is the account's name
// that password managers save and fill.
func (p *page) IDField() idField {
	f := idField{Label: p.IDText("field.identifier"), Hint: p.IDText("hint.identifier"), Type: "text"}
	if p.emailOnly {
		f.Type, f.InputMode = "email", "email"
	}
	return f
}

// IDText returns the catalogue key of a text that asks for the identifier:
// key itself, or where the realm takes e-mail addresses only the key's
// variant that asks for an e-mail address alone (key + "_email").
func (p *page) IDText(key string) string {
	if p.emailOnly {
		return key + "_email"
	}
	return key
}

type language struct {
	Locale  string
	Label   string
	Href    string
	Current bool
}

// formError is what the error summary at the top of a page shows: every
// refusal of the last input, each linked to its field when the page has it,
// and the reference number where a person may need to quote it.
type formError struct {
	// Code, Field and Message are the first refusal (Message may be
	// replaced by a page's own wording of it).
	Code    string
	Field   string
	Message string
	// Kind is the first refusal's "kind" parameter, or "" (the SMS cost
	// guard's rate_limited is of kind "messages").
	Kind string
	// More are the further refused fields (ninsho.Error.More).
	More []formItem
	// OtherRealm and OtherRealmURL are, for account_in_other_realm, the
	// regional site holding the identifier and its sign-in address: the
	// summary links there.
	OtherRealm, OtherRealmURL string
	RequestID                 string // "" unless httperr.ShowsReference
	// Items are every refusal, the first first, with Link set for the
	// fields the rendered page has (render fills them in).
	Items []formItem
}

// formItem is one refusal in the error summary.
type formItem struct {
	Field   string
	Message string
	// Link says the page has the field: the summary links to it and the
	// field shows the message next to it, with aria-invalid and
	// aria-describedby pointing at it.
	Link bool
}

// link fills in e.Items for a page whose form has the fields.
func (e *formError) link(fields []string) {
	e.Items = append(e.Items[:0], formItem{Field: e.Field, Message: e.Message})
	e.Items = append(e.Items, e.More...)
	for i := range e.Items {
		e.Items[i].Link = e.Items[i].Field != "" && slices.Contains(fields, e.Items[i].Field)
	}
}

// FieldError returns the refusal of the named field when the page shows it
// next to the field, or nil.
func (p *page) FieldError(field string) *formItem {
	if p.Error == nil {
		return nil
	}
	for i := range p.Error.Items {
		if it := &p.Error.Items[i]; it.Link && it.Field == field {
			return it
		}
	}
	return nil
}

// Invalid reports whether the page's error refuses the named field.
func (p *page) Invalid(field string) bool { return p.FieldError(field) != nil }

// formFields returns the fields the form of the page template name has, as
// p stands: those a refusal can link to.
func formFields(name string, p *page) []string {
	if p.Captcha != nil {
		return []string{"identifier", "answer"}
	}
	switch name {
	case "signup":
		return []string{"identifier", "name", "password", "password_confirmation"}
	case "signin":
		return []string{"identifier", "password"}
	case "reauth":
		return []string{"password"}
	case "account_password":
		return []string{"current_password", "password", "password_confirmation"}
	case "account_profile":
		return []string{"name", "locale"}
	case "unlock", "reset":
		return []string{"identifier"}
	case "help_request":
		return []string{"contact", "step", "identifier", "reference", "description"}
	case "account_two_step_totp":
		if p.TwoStep != nil && p.TwoStep.CredentialID != "" {
			return []string{"code"}
		}
		return []string{"label"}
	case "two_step_phone":
		return []string{"phone", "method"}
	case "account_close":
		return []string{"confirm"}
	case "orgs":
		return []string{"name", "kind"}
	case "org":
		return []string{"email", "role", "methods"}
	case "contact":
		return []string{p.Form["kind"]}
	case "contact_code":
		return []string{"code"}
	case "verify", "two_step", "two_step_enrol", "two_step_phone_code":
		if !p.Ended {
			return []string{"code"}
		}
	case "unlock_password", "reset_choose":
		if p.NewPassword || name == "reset_choose" {
			return []string{"password", "password_confirmation"}
		}
		return []string{"password"}
	}
	return nil
}

// linkParams are the query parameters that a page's language links keep:
// the ones the GET pages read (the flow, the CAPTCHA-passed and code-sent
// notices, a "this wasn't me" token, the cookie check, the authenticator
// app being added).
var linkParams = []string{"flow", "captcha", "sent", "token", cookieCheckParam, "credential", "q", "ref", "step"}

func (h *Handler) newPage(r *http.Request, rl *realm.Realm, locale, title string) *page {
	p := &page{Locale: locale, Title: title, Form: map[string]string{}, PasswordAssistant: h.d.Reset != nil}
	if rl != nil {
		p.RealmName = rl.Name
		p.region, p.emailOnly = rl.PhoneRegion, rl.EmailOnly
		p.offered = rl.Offered()
	}
	p.PasswordMin = rl.PasswordMin()
	p.zone, _ = realmZone(rl)
	p.now = h.d.Now()
	p.look = h.lookFor(rl)
	p.Brand = p.look.brand
	p.ReturnTo = checkReturnTo(rl, r.URL.Query().Get(returnToParam))
	p.relink(r.URL.Path, r.URL.Query())
	h.passkeyPage(p, rl)
	return p
}

// Offers returns the languages the page's realm offers (the language
// switch, the account's language choice).
func (p *page) Offers() []string {
	if p.offered == nil {
		return i18n.Locales()
	}
	return p.offered
}

// Offer reports whether the page's realm offers locale.
func (p *page) Offer(locale string) bool { return slices.Contains(p.Offers(), locale) }

// relink points the language switch at path with query q (plus lang), one
// link per language the realm offers (none when it offers one only): a
// page rendered in answer to a POST links to the GET page that shows the
// same step. Only the parameters that the pages read are carried
// (linkParams); return_to is not among them: render adds the checked one
// (linkReturnTo), so a refused value is never reflected.
func (p *page) relink(path string, q url.Values) {
	kept := url.Values{}
	for _, k := range linkParams {
		if v := q.Get(k); v != "" {
			kept.Set(k, v)
		}
	}
	q = kept
	p.Languages = p.Languages[:0]
	offered := p.Offers()
	if len(offered) < 2 {
		return
	}
	for _, l := range offered {
		q.Set("lang", l)
		p.Languages = append(p.Languages, language{
			Locale:  l,
			Label:   i18n.Message(l, "lang."+l, nil),
			Href:    (&url.URL{Path: path, RawQuery: q.Encode()}).String(),
			Current: l == p.Locale,
		})
	}
}

// render executes a page template into a buffer first, so that a template
// failure can still become an error page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	if p.Error != nil {
		if isCodePage(name) {
			p.limitMessage()
		}
		p.Error.link(formFields(name, p))
	}
	p.linkReturnTo()
	p.helpLink = slices.Contains(helpLinkPages, name)
	var buf bytes.Buffer
	lk := p.look
	if lk == nil {
		lk = h.lookFor(h.d.Realms.ForHost(r.Host))
	}
	if p.Brand == nil {
		p.Brand = lk.brand
	}
	t := lk.pages[name]
	if t == nil {
		t = builtinPages[name]
	}
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		if name == "error" {
			httperr.WriteHTML(w, r, ninsho.Internal("web: render error page: %w", err), p.Locale, httperr.RequestID(r.Context()), nil)
			return
		}
		h.WriteError(w, r, ninsho.Internal("web: render %s: %w", name, err))
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Language", p.Locale)
	hd.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// renderError redisplays a form page with err: httperr decides the status and
// headers and logs the cause; the page shows the message and the reference.
func (h *Handler) renderError(w http.ResponseWriter, r *http.Request, name string, p *page, err error) {
	h.render(w, r, prepareError(w, r, p, err), name, p)
}

// prepareError sets p.Error from err and the error's headers, and returns
// the status to render the page with.
func prepareError(w http.ResponseWriter, r *http.Request, p *page, err error) int {
	reqID := httperr.RequestID(r.Context())
	status := httperr.Prepare(w, r, err, reqID)
	e := ninsho.ErrorOf(err)
	p.Error = &formError{Code: string(e.Code), Field: e.Field, Message: i18n.FieldErrorMessage(p.Locale, e)}
	p.Error.Kind, _ = e.Params["kind"].(string)
	if e.Code == ninsho.CodeAccountInOtherRealm {
		p.Error.OtherRealm, _ = e.Params["realm"].(string)
		p.Error.OtherRealmURL, _ = e.Params["signin_url"].(string)
	}
	for _, m := range e.More {
		p.Error.More = append(p.Error.More, formItem{Field: m.Field, Message: i18n.FieldErrorMessage(p.Locale, m)})
	}
	if httperr.ShowsReference(e, status) {
		p.Error.RequestID = reqID
	}
	return status
}

// parseForm reads an application/x-www-form-urlencoded body of at most
// maxFormBytes.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return ninsho.E(ninsho.CodeBodyTooLarge)
		}
		return ninsho.E(ninsho.CodeRequestInvalid).Wrap(err)
	}
	return nil
}

// formValue returns the posted field, or a field_too_long error.
func formValue(r *http.Request, name string) (string, error) {
	v := r.PostForm.Get(name)
	if err := webreq.CheckLength(name, v); err != nil {
		return "", err
	}
	return v, nil
}
