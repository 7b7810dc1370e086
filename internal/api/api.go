// Package api is the JSON API under /api/v1 (DESIGN §5). Its handlers only
// translate: they decode and bound the input, call one service method and
// render the answer as flow JSON, account JSON or, through httperr, a problem.
package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/captcha"
	"github.com/ninsho/ninsho/internal/clientip"
	"github.com/ninsho/ninsho/internal/closure"
	"github.com/ninsho/ninsho/internal/consent"
	"github.com/ninsho/ninsho/internal/contact"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/help"
	"github.com/ninsho/ninsho/internal/httperr"
	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/org"
	"github.com/ninsho/ninsho/internal/profile"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/reauth"
	"github.com/ninsho/ninsho/internal/recovery"
	"github.com/ninsho/ninsho/internal/reset"
	"github.com/ninsho/ninsho/internal/session"
	"github.com/ninsho/ninsho/internal/sessions"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/signup"
	"github.com/ninsho/ninsho/internal/twostep"
	"github.com/ninsho/ninsho/internal/unlock"
	"github.com/ninsho/ninsho/internal/web/webreq"
)

// Deps are the services the API calls. All but ClientIP, Captcha, Unlock and
// Reset are required.
type Deps struct {
	Realms   *realm.Registry
	Flows    *flow.Engine
	Signup   *signup.Service
	Signin   *signin.Service
	ClientIP *clientip.Resolver // nil: the connection's address
	Captcha  *captcha.Service   // nil: the CAPTCHA routes answer 404
	// Unlock serves /api/v1/unlock and /api/v1/not-me; nil: they answer
	// 404. The flow engine must hold it as the handler of flow.KindUnlock.
	Unlock *unlock.Service
	// Reset serves /api/v1/password-assistant; nil: it answers 404. The
	// flow engine must hold it as the handler of flow.KindReset.
	Reset *reset.Service
	// TwoStep serves the two-step verification settings of a signed-in
	// person; nil: they answer 404.
	TwoStep *twostep.Service
	// Sessions serves the signed-in person's sessions, familiar devices
	// and "this wasn't me" on an entry of the sign-in history; nil: they
	// answer 404.
	Sessions *sessions.Service
	// Reauth serves /api/v1/reauth; nil: it answers 404. The flow engine
	// must hold it as the handler of flow.KindReauth.
	Reauth *reauth.Service
	// Profile serves the removal of an identifier, the password, the name
	// and language under /api/v1/me (profile.go); nil: not served.
	Profile *profile.Service
	// Closure closes the signed-in person's account (/account/close,
	// /api/v1/me/close); nil: those answer 404.
	Closure *closure.Service
	// Contact serves /api/v1/me/email, /api/v1/me/phone and
	// /api/v1/contact-undo; nil: they answer 404. The flow engine must hold
	// it as the handler of flow.KindContact.
	Contact *contact.Service
	// Help serves /api/v1/support-requests ("help me sign in"); nil: it
	// answers 404. The flow engine must hold it as the handler of
	// flow.KindHelp.
	Help *help.Service
	// Recovery serves document recovery of two-step verification
	// (recovery.go); nil: its routes answer 404. The flow engine must hold
	// it as the handler of flow.KindRecovery.
	Recovery *recovery.Service
	// Consents serves GET /api/v1/me/apps and DELETE
	// /api/v1/me/apps/{client_id} (apps.go); nil: they answer 404.
	Consents *consent.Service
	// Orgs serves /api/v1/orgs (orgs.go) and the organisations field of
	// GET /api/v1/me; nil: those routes answer 404 and /me has no field.
	Orgs *org.Service
	// SecureCookies marks cookies Secure even on plain-HTTP requests (the
	// public URL is https behind a TLS-terminating proxy).
	SecureCookies bool
	// Now tells the time for cookie lifetimes; nil means time.Now.
	Now func() time.Time
}

// Handler serves /api/v1. It is safe for concurrent use.
type Handler struct {
	d       Deps
	mux     *http.ServeMux
	cookies webreq.Cookies
	cop     *http.CrossOriginProtection
}

var _ http.Handler = (*Handler)(nil)

// New returns the API handler.
func New(d Deps) *Handler {
	if d.Now == nil {
		d.Now = time.Now
	}
	h := &Handler{
		d:       d,
		mux:     http.NewServeMux(),
		cookies: webreq.Cookies{Secure: d.SecureCookies},
		cop:     http.NewCrossOriginProtection(),
	}
	h.mux.Handle("POST /api/v1/signup", h.handle(h.signup))
	h.mux.Handle("POST /api/v1/signin", h.handle(h.signin))
	h.mux.Handle("GET /api/v1/flows/{id}", h.handle(h.viewFlow))
	h.mux.Handle("POST /api/v1/flows/{id}", h.handle(h.act))
	h.mux.Handle("GET /api/v1/me", h.handle(h.me))
	h.mux.Handle("POST /api/v1/signout", h.handle(h.signout))
	h.mux.Handle("GET /api/v1/captcha/{file}", h.handle(h.captchaMedia))
	h.mux.Handle("POST /api/v1/unlock", h.handle(h.unlock))
	h.mux.Handle("POST /api/v1/not-me", h.handle(h.notMe))
	h.mux.Handle("POST /api/v1/password-assistant", h.handle(h.passwordAssistant))
	h.trustedRoutes()
	h.sessionsRoutes()
	h.appsRoutes()
	h.mux.Handle("POST /api/v1/reauth", h.handle(h.reauth))
	if d.TwoStep != nil {
		h.twoStepRoutes()
	}
	h.routeTwoStepPhone()
	h.routesPasskey()
	h.profileRoutes()
	h.routesClosure() // closure.go
	h.routesContact()
	h.routesHelp() // help.go
	h.routesRecovery()
	h.routesOrgs() // orgs.go
	return h
}

// ServeHTTP routes the request. Unknown paths answer 404 and known paths with
// another method 405 (with Allow), both as problems.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if _, pattern := h.mux.Handler(r); pattern != "" {
		h.mux.ServeHTTP(w, r)
		return
	}
	code := ninsho.CodeNotFound
	if allow := webreq.RouteMiss(h.mux, r); allow != "" {
		w.Header().Set("Allow", allow)
		code = ninsho.CodeMethodNotAllowed
	}
	rl := h.d.Realms.ForHost(r.Host)
	httperr.WriteProblem(w, r, ninsho.E(code), webreq.Locale(r, rl), httperr.RequestID(r.Context()))
}

// call is what every handler needs about its request.
type call struct {
	r      *http.Request
	realm  *realm.Realm
	reqID  string
	locale string // negotiated on first use: a session check never needs it
	// fromBody says locale is the request body's own choice (sign-up's
	// locale field), which comes before everything else.
	fromBody bool
}

// lang returns the language of the request's answer.
func (c *call) lang() string {
	if c.locale == "" {
		c.locale = webreq.Locale(c.r, c.realm)
	}
	return c.locale
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, c *call) error

// handle adapts a handler that returns an error; the error becomes a problem.
func (h *Handler) handle(f handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rl := h.d.Realms.ForHost(r.Host)
		c := &call{r: r, realm: rl, reqID: httperr.RequestID(r.Context())}
		if err := f(w, r, c); err != nil {
			httperr.WriteProblem(w, r, inRealmZone(err, c.realm), c.lang(), c.reqID)
		}
	})
}

func (h *Handler) request(r *http.Request, c *call, bodyDevice string) ninsho.Request {
	dt := bodyDevice
	if dt == "" {
		dt = webreq.DeviceToken(r)
	}
	return webreq.Request(r, h.d.ClientIP, ninsho.ClientAPI, c.lang(), dt)
}

func (h *Handler) signup(w http.ResponseWriter, r *http.Request, c *call) error {
	var b signupBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	if l := i18n.Canonical(b.Locale); l != "" && c.realm.Offers(l) {
		c.locale, c.fromBody = l, true // before ?lang= and the rest
	}
	ans, err := h.d.Signup.Start(r.Context(), c.realm, h.request(r, c, b.DeviceToken), signup.Input{
		Identifier: b.Identifier,
		Name:       b.Name,
		Password:   b.Password,
		Locale:     b.Locale,
	})
	return h.writeFlow(w, r, c, http.StatusCreated, ans, err)
}

func (h *Handler) signin(w http.ResponseWriter, r *http.Request, c *call) error {
	var b signinBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	aal := 0
	if b.AAL != nil {
		// Sent: 1 or 2 (0 is "not sent" inside, never a value to send).
		if aal = *b.AAL; aal != 1 && aal != 2 {
			return ninsho.FieldError(ninsho.CodeRequestInvalid, "aal")
		}
	}
	ans, err := h.d.Signin.Start(r.Context(), c.realm, h.request(r, c, b.DeviceToken), signin.Input{
		Identifier: b.Identifier,
		Password:   b.Password,
		AAL:        aal,
	})
	return h.writeFlow(w, r, c, http.StatusOK, ans, err)
}

func (h *Handler) viewFlow(w http.ResponseWriter, r *http.Request, c *call) error {
	ans, err := h.d.Flows.View(r.Context(), c.realm.ID, r.PathValue("id"), h.request(r, c, ""))
	return h.writeFlow(w, r, c, http.StatusOK, ans, err)
}

func (h *Handler) act(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	if !ninsho.ValidID(id) {
		return ninsho.E(ninsho.CodeFlowNotFound)
	}
	var b actionBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	ans, err := h.d.Flows.Act(r.Context(), c.realm.ID, id, h.request(r, c, b.DeviceToken), b.Action)
	return h.writeFlow(w, r, c, http.StatusOK, ans, err)
}

func (h *Handler) me(w http.ResponseWriter, r *http.Request, c *call) error {
	token, _ := webreq.SessionToken(r)
	if token == "" {
		return ninsho.E(ninsho.CodeUnauthenticated)
	}
	p, err := h.d.Signin.Authenticate(r.Context(), c.realm, token)
	if err != nil {
		return err
	}
	if p == nil || p.Account == nil {
		return ninsho.Internal("api: authenticate returned no account")
	}
	out, err := h.meAnswer(r, c, p.Account, p.Session)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (h *Handler) signout(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := checkNoBody(r); err != nil {
		return err
	}
	token, fromCookie := webreq.SessionToken(r)
	if token == "" {
		return ninsho.E(ninsho.CodeUnauthenticated)
	}
	if fromCookie {
		// The browser sent the cookie by itself: refuse cross-site requests.
		if err := h.cop.Check(r); err != nil {
			return ninsho.E(ninsho.CodeCSRF).Wrap(err)
		}
	}
	if err := h.d.Signin.Signout(r.Context(), c.realm, h.request(r, c, ""), token); err != nil {
		return err
	}
	if fromCookie {
		h.cookies.ClearSession(w, r)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// writeFlow renders a flow answer. With an error and a flow, the flow JSON
// carries the error in errors[] with the error's status; with an error and no
// flow, the error is returned to become a problem.
func (h *Handler) writeFlow(w http.ResponseWriter, r *http.Request, c *call, ok int, ans *flow.Answer, err error) error {
	if ans == nil || ans.Flow == nil {
		if err == nil {
			err = ninsho.Internal("api: service returned neither answer nor error")
		}
		return err
	}
	if h.d.Flows != nil {
		h.d.Flows.Describe(r.Context(), ans) // next.delivery on the answers of starts too
	}
	if l := ans.Flow.Locale; !c.fromBody && webreq.ChosenLocale(r) == "" && l != "" && c.realm.Offers(l) {
		// Nothing chosen in this request: the language chosen earlier in
		// the flow (docs/api.md, Conventions), which its messages follow.
		c.locale = l
	}
	status := ok
	fj := flowJSONOf(ans)
	if err != nil {
		err = inRealmZone(err, c.realm)
		status = httperr.Prepare(w, r, err, c.reqID)
		for _, e := range ninsho.ErrorOf(err).All() {
			fj.Errors = append(fj.Errors, errorJSON{
				Code:    string(e.Code),
				Field:   e.Field,
				Message: i18n.FieldErrorMessage(c.lang(), e),
				Params:  httperr.PublicParams(e),
			})
		}
	}
	if ans.Session != nil {
		h.cookies.SetSession(w, r, ans.Session, h.d.Now())
	}
	h.cookies.SetDevice(w, r, ans.DeviceToken)
	w.Header().Set("Content-Language", c.lang())
	return writeJSON(w, status, fj)
}

// inRealmZone states the times err's messages name (a lock's "until") in
// the realm's zone (realm.Realm.Location), as the pages do, in every
// language: a Japanese realm's English answer says JST, not UTC.
func inRealmZone(err error, rl *realm.Realm) error {
	loc := rl.Location()
	for _, e := range ninsho.ErrorOf(err).All() {
		for k, v := range e.Params {
			if t, ok := v.(time.Time); ok {
				e.Params[k] = t.In(loc)
			}
		}
	}
	return err
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return ninsho.Internal("api: encode answer: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
	return nil
}

// flowJSON is a flow as the API shows it (DESIGN §5).
type flowJSON struct {
	ID          string       `json:"id"`
	Kind        flow.Kind    `json:"kind"`
	Status      flow.Status  `json:"status"`
	ExpiresAt   string       `json:"expires_at"`
	Next        *flow.Next   `json:"next"`
	Errors      []errorJSON  `json:"errors"`
	Session     *sessionJSON `json:"session"`
	DeviceToken string       `json:"device_token,omitempty"`
	AccountID   string       `json:"account_id,omitempty"`
	// BackupCodesLeft: a completion by a backup code that left few.
	BackupCodesLeft *int `json:"backup_codes_left,omitempty"`
	// Contact: a contact change's completion (the account's identifiers)
	// or its undo (restored).
	Contact map[string]any `json:"contact,omitempty"` // contactJSONOf
	// Recovery: the case of a recovery flow.
	Recovery *flow.Recovery `json:"recovery,omitempty"`
}

type errorJSON struct {
	Code    string `json:"code"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
	// Params: the error's documented parameters (httperr.PublicParams).
	Params map[string]any `json:"params,omitempty"`
}

type sessionJSON struct {
	Token     string `json:"token"`
	ExpiresAt string `json:"expires_at"`
	AAL       int    `json:"aal"`
}

func flowJSONOf(ans *flow.Answer) *flowJSON {
	f := ans.Flow
	fj := &flowJSON{
		ID:              f.ID,
		Kind:            f.Kind,
		Status:          f.Status,
		ExpiresAt:       timeText(f.ExpiresAt),
		Next:            ans.Next,
		Errors:          []errorJSON{},
		DeviceToken:     ans.DeviceToken,
		AccountID:       ans.AccountID,
		BackupCodesLeft: ans.BackupCodesLeft,
		Contact:         contactJSONOf(ans.Contact),
		Recovery:        ans.Recovery,
	}
	if g := ans.Session; g != nil {
		fj.Session = &sessionJSON{Token: g.Token, ExpiresAt: timeText(g.ExpiresAt), AAL: g.AAL}
	}
	return fj
}

// meJSON is the answer of GET /api/v1/me: the account's fields and the
// session the request came with.
type meJSON struct {
	*accountJSON
	Session *meSessionJSON `json:"session"`
	// Organisations: the organisations the person belongs to, with their
	// role (absent when the server serves no organisations).
	Organisations *[]orgSummaryJSON `json:"organisations,omitempty"`
}

// meAnswer is the body of GET /api/v1/me for the account and session.
func (h *Handler) meAnswer(r *http.Request, c *call, a *account.Account, s *session.Session) (meJSON, error) {
	orgs, err := h.meOrgs(r, c, a.ID)
	if err != nil {
		return meJSON{}, err
	}
	return meJSON{accountJSONOf(a), meSessionJSONOf(s), orgs}, nil
}

// meSessionJSON is the session as GET /api/v1/me shows it: no token, no id.
type meSessionJSON struct {
	AAL             int      `json:"aal"`
	Methods         []string `json:"methods"`
	AuthenticatedAt string   `json:"authenticated_at"`
	ExpiresAt       string   `json:"expires_at"`
}

func meSessionJSONOf(s *session.Session) *meSessionJSON {
	if s == nil {
		return nil
	}
	m := s.Methods
	if m == nil {
		m = []string{}
	}
	return &meSessionJSON{AAL: s.AAL, Methods: m, AuthenticatedAt: timeText(s.AuthenticatedAt), ExpiresAt: timeText(s.ExpiresAt)}
}

// accountJSON is the account fields of GET /api/v1/me.
type accountJSON struct {
	ID            string  `json:"id"`
	Realm         string  `json:"realm"`
	Name          string  `json:"name"`
	Email         *string `json:"email"`
	EmailVerified bool    `json:"email_verified"`
	Phone         *string `json:"phone"`
	PhoneVerified bool    `json:"phone_verified"`
	Locale        string  `json:"locale"`
	Status        string  `json:"status"`
	CreatedAt     string  `json:"created_at"`
}

func accountJSONOf(a *account.Account) *accountJSON {
	aj := &accountJSON{
		ID:            a.ID,
		Realm:         a.Realm,
		Name:          a.Name,
		EmailVerified: a.EmailVerifiedAt != nil,
		PhoneVerified: a.PhoneVerifiedAt != nil,
		Locale:        a.Locale,
		Status:        string(a.Status),
		CreatedAt:     timeText(a.CreatedAt),
	}
	if a.Email != "" {
		aj.Email = &a.Email
	}
	if a.Phone != "" {
		aj.Phone = &a.Phone
	}
	return aj
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
