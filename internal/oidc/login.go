package oidc

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/ninsho/ninsho/internal/grant"
	"github.com/ninsho/ninsho/internal/httperr"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/oauthclient"
	"github.com/ninsho/ninsho/internal/session"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/web"
	"github.com/ninsho/ninsho/internal/web/webreq"
)

// Pages of the hosted sign-in the login bridge sends the browser to; each
// comes back to LoginPath (the pages accept it as return_to).
const (
	signinPage  = "/signin"
	reauthPage  = "/reauth"
	twoStepPage = "/account/two-step"
)

// Error codes the bridge answers clients with that the library has no
// constructor for.
const (
	errConsentRequired = "consent_required"
	// errUnmetAuthentication: acr_values=aal2 for an account without
	// two-step verification, where the client chose to refuse
	// (OpenID Connect Core errata: unmet_authentication_requirements).
	errUnmetAuthentication = "unmet_authentication_requirements"
)

// redirectDescriptions are the error_description of the bridge's answers
// at the redirect URI where the library gives none.
var redirectDescriptions = map[string]string{
	"login_required":       "the person is not signed in",
	"interaction_required": "the person must prove who they are with a second factor first",
	"server_error":         "the server could not finish the request; try again",
}

// LoginURL is the bridge's URL for the sealed request id (a path of this
// server: the pages accept it as return_to).
func LoginURL(id string) string { return LoginPath + "?id=" + url.QueryEscape(id) }

// login is the bridge between the authorization endpoint and the hosted
// sign-in. It looks at the browser's Ninsho session and either finishes
// the request (a code to the client's redirect URI), sends the browser to
// the page that is missing — sign-in, re-authentication (prompt=login,
// max_age, acr_values=aal2 on a one-factor session), two-step enrolment —
// which comes back here, or answers the client with the OpenID Connect
// error (prompt=none: login_required, interaction_required).
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	rc := h.reqContext(r)
	ctx := withReq(r.Context(), rc)
	r = r.WithContext(ctx)
	rl := rc.realm
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		httperr.WriteProblem(w, r, ninsho.E(ninsho.CodeMethodNotAllowed), rc.req.Locale, httperr.RequestID(ctx))
		return
	}
	a := openRequest(h.Box, rl.ID, r.URL.Query().Get("id"), h.Now())
	if a == nil {
		h.writeError(w, r, ninsho.E(ninsho.CodeFlowExpired))
		return
	}
	c, err := h.storage.clientsFor(ctx).Get(ctx, rl.ID, a.ClientID)
	if err != nil { // deleted since the request was made
		h.writeError(w, r, ninsho.E(ninsho.CodeFlowExpired))
		return
	}
	var pr *signin.Principal
	if rc.sessionToken != "" {
		if p, err := h.Signin.Authenticate(ctx, rl, rc.sessionToken); err == nil && p != nil && p.Session != nil && p.Account != nil {
			pr = p
		} else if err != nil && !ninsho.IsCode(err, ninsho.CodeUnauthenticated) {
			h.fail(w, r, a, err)
			return
		}
	}
	if pr != nil && a.HintSubject != "" && a.HintSubject != h.storage.subject(rl.ID, pr.Account.ID) && a.has(zoidc.PromptNone) {
		pr = nil // someone else is signed in here: not the person the client expects
	}
	self := LoginURL(a.id)
	if pr == nil {
		if a.has(zoidc.PromptNone) {
			h.fail(w, r, a, zoidc.ErrLoginRequired())
			return
		}
		http.Redirect(w, r, h.signinURL(a, self), http.StatusSeeOther)
		return
	}
	if !h.fresh(a, pr.Session) {
		if a.has(zoidc.PromptNone) {
			h.fail(w, r, a, zoidc.ErrLoginRequired())
			return
		}
		http.Redirect(w, r, reauthPage+"?return_to="+url.QueryEscape(self), http.StatusSeeOther)
		return
	}
	// Consent first: an application the person has not allowed learns
	// nothing more about the account (not even whether it has two-step
	// verification).
	if !c.FirstParty {
		ok, err := h.consented(ctx, a, pr.Account.ID)
		if err != nil {
			h.fail(w, r, a, err)
			return
		}
		if !ok {
			if a.has(zoidc.PromptNone) || h.Consents == nil {
				h.fail(w, r, a, &zoidc.Error{ErrorType: errConsentRequired, Description: "the person has not allowed the application"})
				return
			}
			http.Redirect(w, r, webreq.OIDCConsentPath+"?id="+url.QueryEscape(a.id), http.StatusSeeOther)
			return
		}
	}
	if a.wantsAAL2() && pr.Session.AAL < 2 {
		st, err := h.TwoStep.State(ctx, rl, pr.Account)
		if err != nil {
			h.fail(w, r, a, err)
			return
		}
		switch {
		case st.Enabled && a.has(zoidc.PromptNone), !st.Enabled && c.WithoutTwoStep != oauthclient.Refuse && a.has(zoidc.PromptNone):
			h.fail(w, r, a, zoidc.ErrInteractionRequired())
		case st.Enabled: // the second factor, even on a trusted device
			http.Redirect(w, r, reauthPage+"?return_to="+url.QueryEscape(self), http.StatusSeeOther)
		case c.WithoutTwoStep == oauthclient.Refuse:
			h.fail(w, r, a, &zoidc.Error{ErrorType: errUnmetAuthentication, Description: "the account has no two-step verification"})
		default:
			http.Redirect(w, r, twoStepPage+"?return_to="+url.QueryEscape(self), http.StatusSeeOther)
		}
		return
	}
	acr := ACR1
	if pr.Session.AAL >= 2 {
		acr = ACR2
	}
	g := &grant.Authorization{
		Realm: rl.ID, ClientID: a.ClientID, AccountID: pr.Account.ID, SessionID: pr.Session.ID,
		RedirectURI: a.RedirectURI, Scopes: a.Scopes, Nonce: a.Nonce, CodeChallenge: a.Challenge,
		CodeMethod: a.Method, AuthTime: pr.Session.AuthenticatedAt, AMR: AMR(pr.Session), ACR: acr,
	}
	if err := h.Grants.Authorize(ctx, g, rc.req); ninsho.IsCode(err, ninsho.CodeRateLimited) {
		h.fail(w, r, a, &zoidc.Error{ErrorType: "temporarily_unavailable",
			Description: "too many sign-ins to applications from this session; try again in a few minutes"})
		return
	} else if err != nil {
		h.fail(w, r, a, err)
		return
	}
	if a.wantsAAL2() && c.WithoutTwoStep != oauthclient.Refuse {
		// The enrolment's way back, if this request took it, is used (its
		// cookie lives under /account and is not sent here).
		webreq.Cookies{Secure: h.SecureCookies}.ClearOIDCReturn(w, r)
	}
	done := fromAuthorization(g, h.storage.subject(rl.ID, pr.Account.ID))
	done.State, done.ResponseMode = a.State, a.ResponseMode
	op.AuthResponse(done, h.provider, w, r)
}

// consented reports whether the account's remembered consent to the
// client of a covers every scope of a and, with prompt=consent, was given
// after a was made.
func (h *Handler) consented(ctx context.Context, a *authRequest, accountID string) (bool, error) {
	if h.Consents == nil {
		return false, nil
	}
	cs, err := h.Consents.Get(ctx, a.Realm, accountID, a.ClientID)
	if err != nil || cs == nil || !cs.Covers(a.Scopes) {
		return false, err
	}
	if a.has(zoidc.PromptConsent) && cs.GrantedAt.Before(a.CreatedAt.Truncate(time.Microsecond)) {
		return false, nil
	}
	return true, nil
}

func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	// The hosted pages' headers (these pages are served outside web's
	// handler), and the language ui_locales asked for, if any.
	hd := w.Header()
	hd.Set("Content-Security-Policy", web.ContentSecurityPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "same-origin")
	if lang := uiLocale(strings.Fields(r.FormValue("ui_locales"))); lang != "" && webreq.QueryLang(r) == "" {
		r = r.Clone(r.Context())
		q := r.URL.Query()
		q.Set("lang", lang)
		r.URL.RawQuery = q.Encode()
	}
	if h.WriteError != nil {
		h.WriteError(w, r, err)
		return
	}
	httperr.WriteHTML(w, r, err, webreq.Locale(r, h.Realms.ForHost(r.Host)), httperr.RequestID(r.Context()), nil)
}

// maxMaxAge is the largest max_age (seconds) taken as a limit.
const maxMaxAge = 100 * 365 * 24 * 3600

// fresh reports whether the session's last proof satisfies prompt=login and
// max_age: it happened after the request was made, or (max_age) within
// max_age seconds.
func (h *Handler) fresh(a *authRequest, s *session.Session) bool {
	if !s.AuthenticatedAt.Before(a.CreatedAt) {
		return true
	}
	if a.has(zoidc.PromptLogin) {
		return false
	}
	// max_age beyond a century is no limit (and would overflow).
	if a.MaxAge != nil && *a.MaxAge < maxMaxAge && h.Now().Sub(s.AuthenticatedAt) > time.Duration(*a.MaxAge)*time.Second {
		return false
	}
	return true
}

// signinURL is the sign-in page for a, coming back to self, with the
// identifier the client hinted and the first language of ui_locales that
// Ninsho speaks.
func (h *Handler) signinURL(a *authRequest, self string) string {
	q := url.Values{"return_to": {self}}
	if a.LoginHint != "" {
		q.Set("login_hint", a.LoginHint)
	}
	if lang := uiLocale(a.UILocales); lang != "" {
		q.Set("lang", lang)
	}
	return signinPage + "?" + q.Encode()
}

// uiLocale is the first of ui_locales that Ninsho speaks ("ja", "en"; a
// tag such as "en-US" counts as its language), or "".
func uiLocale(tags []string) string {
	for _, l := range tags {
		if base := strings.ToLower(baseLang(l)); base == "ja" || base == "en" {
			return base
		}
	}
	return ""
}

func baseLang(tag string) string {
	for i := 0; i < len(tag); i++ {
		if tag[i] == '-' || tag[i] == '_' {
			return tag[:i]
		}
	}
	return tag
}

// fail answers the client with err at its redirect URI (the library's
// error redirect; a Ninsho error becomes server_error without detail).
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, a *authRequest, err error) {
	e, ok := err.(*zoidc.Error)
	if !ok {
		e = zoidc.ErrServerError()
	}
	if e.Description == "" {
		e = e.WithDescription("%s", redirectDescriptions[string(e.ErrorType)])
	}
	err = e
	op.AuthRequestError(w, r, a, err, h.provider)
}

// AMR is the amr claim of a session: the RFC 8176 values of the methods
// that made it, and "mfa" when it is two factors. Ninsho's own method names
// (an e-mail code, a backup code) have no RFC 8176 value and are left out.
func AMR(s *session.Session) []string {
	var out []string
	for _, m := range s.Methods {
		switch m {
		case session.MethodPassword, session.MethodOTP, session.MethodSMS, session.MethodVoice, session.MethodHWK, session.MethodSWK:
			if !slices.Contains(out, m) {
				out = append(out, m)
			}
		}
	}
	if s.AAL >= 2 {
		out = append(out, "mfa")
	}
	return out
}
