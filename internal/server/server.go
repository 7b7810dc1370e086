// Package server assembles the root HTTP handler: the browser pages, the JSON
// API, health and readiness checks, metrics and, in development, the inbox,
// behind one middleware that gives every request an id, sends
// Strict-Transport-Security under https, recovers panics, writes the access
// log and counts requests. NewMetrics serves the metrics on a listener of
// their own.
package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ninsho/ninsho/internal/api"
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
	"github.com/ninsho/ninsho/internal/oidc"
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
	"github.com/ninsho/ninsho/internal/web"
	"github.com/ninsho/ninsho/internal/web/webreq"
)

// Deps are what the server serves. Realms, Flows, Signup and Signin are
// required; the rest have defaults.
type Deps struct {
	Realms *realm.Registry
	Flows  *flow.Engine
	Signup *signup.Service
	Signin *signin.Service
	// DevInbox serves /dev/ (the development inbox); mounted only when Dev.
	DevInbox http.Handler
	// Hooks are the message providers' callback handlers (delivery
	// reports) by provider name, each mounted at /hooks/<name>/ and given
	// the path below it; every other /hooks path answers the JSON 404
	// problem, whichever names are configured.
	Hooks map[string]http.Handler
	// Captcha draws CAPTCHA images and audio for the API and pages; nil
	// serves none. In development its answers are at /dev/api/captcha/{id}.
	Captcha *captcha.Service
	// Unlock serves the unlock and "this wasn't me" pages and API routes;
	// nil leaves them 404. Flows must hold it as the handler of
	// flow.KindUnlock.
	Unlock *unlock.Service
	// Reset serves the password assistant's pages and API route; nil
	// leaves them 404. Flows must hold it as the handler of flow.KindReset.
	Reset *reset.Service
	// Reauth serves re-authentication (/reauth, /api/v1/reauth); nil leaves
	// them 404. Flows must hold it as the handler of flow.KindReauth.
	Reauth *reauth.Service
	// Profile serves the owner's identifier removal, password, name and
	// language (/account/..., /api/v1/me/...); nil leaves them unserved.
	Profile *profile.Service
	// Closure closes the signed-in person's account (/account/close,
	// /api/v1/me/close); nil: those answer 404.
	Closure *closure.Service
	// Contact serves the contact change pages and API (/account/email,
	// /account/phone, /api/v1/me/email, /api/v1/me/phone, the undo link);
	// nil leaves them 404. Flows must hold it as the handler of
	// flow.KindContact.
	Contact *contact.Service
	// Help serves "Can't sign in?" (/help) and "help me sign in"
	// (/help/request, /api/v1/support-requests); nil leaves the requests
	// 404 (the troubleshooter's pages are served either way). Flows must
	// hold it as the handler of flow.KindHelp.
	Help *help.Service
	// Recovery serves document recovery of two-step verification
	// (/api/v1/recovery…); nil leaves it 404. Flows must hold it as the
	// handler of flow.KindRecovery.
	Recovery *recovery.Service
	// TwoStep serves the two-step verification settings of a signed-in
	// person; nil: they answer 404.
	TwoStep *twostep.Service
	// Sessions serves the signed-in person's sessions, devices and "this
	// wasn't me" from the history; nil leaves them 404.
	Sessions *sessions.Service
	// Console serves the staff console under /console (internal/console);
	// nil leaves it 404.
	Console http.Handler
	// OIDC serves the OpenID Connect provider (discovery, JWKS,
	// authorization, token, userinfo, introspection, revocation, end
	// session and the login bridge to the hosted sign-in)
	// (internal/oidc); nil leaves them 404.
	OIDC *oidc.Handler
	// FormSources lists the CSP sources of a realm's clients' redirect URIs
	// for the pages' form-action (web.Deps.FormSources); nil: none.
	FormSources func(ctx context.Context, realm string) []string
	// Consents keeps what people allowed third-party OpenID Connect
	// clients: /account/apps and /api/v1/me/apps; nil leaves them 404.
	Consents *consent.Service
	// Orgs serves organisations under /api/v1/orgs and the organisations
	// of GET /api/v1/me (internal/org); nil leaves them 404 (and /me
	// without the field).
	Orgs *org.Service
	// Ready reports whether the server can take traffic (the database
	// answers); nil means always ready.
	Ready func(context.Context) error
	// Registry receives the HTTP metrics and is served at /metrics; nil
	// means a new registry.
	Registry *prometheus.Registry
	// HideMetrics leaves /metrics unserved (404): they are served on a
	// listener of their own (NewMetrics) or not at all.
	HideMetrics bool
	// RejectUnknownHosts answers 404 to a request for a host no realm names
	// (config unknown_hosts "not_found"), except the health, readiness,
	// metrics and provider callback routes; false: the first realm answers.
	RejectUnknownHosts bool
	// MetricsToken, when not empty, must come as "Authorization: Bearer
	// <token>" to read /metrics; anything else answers 401 unauthenticated.
	MetricsToken string
	// Logger receives the access log and error causes; nil means
	// slog.Default().
	Logger *slog.Logger
	// ClientIP resolves client addresses; nil trusts no proxy.
	ClientIP *clientip.Resolver
	// SecureCookies marks cookies Secure on plain-HTTP requests too (the
	// public URL is https).
	SecureCookies bool
	// HSTS sends Strict-Transport-Security (HSTSValue) on every response:
	// the public URL is https, so browsers must never use plain http for
	// it. Responses to requests that came over TLS carry it regardless.
	HSTS bool
	// Dev enables development routes.
	Dev bool
	// Clock times requests for the access log and the metrics; nil means
	// ninsho.SystemClock.
	Clock ninsho.Clock
}

// readyTimeout bounds one readiness check.
const readyTimeout = 5 * time.Second

// HSTSValue is the Strict-Transport-Security header under https: two years
// (the hstspreload.org minimum) for the host and its subdomains. It has no
// "preload": entering the browsers' preload list is the operator's decision.
const HSTSValue = "max-age=63072000; includeSubDomains"

type server struct {
	d       Deps
	log     *slog.Logger
	mux     *http.ServeMux
	hooks   hooks
	web     *web.Handler
	metrics *metrics
}

// New returns the root handler. It panics if Realms is nil, and fails when
// a realm's logo or theme directory cannot be loaded (web.New).
func New(d Deps) (http.Handler, error) {
	s := newServer(d)
	d = s.d
	var err error
	var oidcRequests web.OIDCRequests
	if d.OIDC != nil {
		oidcRequests = d.OIDC
	}
	s.web, err = web.New(web.Deps{
		OIDC:        oidcRequests,
		Consents:    d.Consents,
		Orgs:        d.Orgs,
		Realms:      d.Realms,
		Flows:       d.Flows,
		Signup:      d.Signup,
		Signin:      d.Signin,
		Unlock:      d.Unlock,
		Reset:       d.Reset,
		Reauth:      d.Reauth,
		Contact:     d.Contact,
		Help:        d.Help,
		Recovery:    d.Recovery,
		TwoStep:     d.TwoStep,
		Profile:     d.Profile,
		Sessions:    d.Sessions,
		FormSources: d.FormSources,
		FrontchannelPage: func() func(http.ResponseWriter, *http.Request, *realm.Realm, string, string, string) bool {
			if d.OIDC == nil {
				return nil
			}
			return d.OIDC.FrontchannelPage
		}(),
		Closure:       d.Closure,
		ClientIP:      d.ClientIP,
		SecureCookies: d.SecureCookies,
	})
	if err != nil {
		return nil, err
	}
	apiH := api.New(api.Deps{
		Realms:        d.Realms,
		Flows:         d.Flows,
		Signup:        d.Signup,
		Signin:        d.Signin,
		ClientIP:      d.ClientIP,
		SecureCookies: d.SecureCookies,
		Captcha:       d.Captcha,
		Unlock:        d.Unlock,
		Reset:         d.Reset,
		Reauth:        d.Reauth,
		Contact:       d.Contact,
		Help:          d.Help,
		Recovery:      d.Recovery,
		TwoStep:       d.TwoStep,
		Profile:       d.Profile,
		Sessions:      d.Sessions,
		Closure:       d.Closure,
		Consents:      d.Consents,
		Orgs:          d.Orgs,
	})
	s.mux.HandleFunc("/healthz", healthz)
	s.mux.HandleFunc("/readyz", s.readyz)
	if !d.HideMetrics {
		s.mux.Handle("/metrics", s.metricsEndpoint())
	}
	s.mux.Handle("/api/", apiH)
	s.mux.Handle("/api", apiH)
	s.hooks = hooks(d.Hooks) // served before the mux (hooks.go)
	if d.Dev && d.DevInbox != nil {
		s.mux.Handle("/dev/", d.DevInbox)
	}
	if d.Dev && d.Captcha != nil {
		s.mux.Handle("/dev/api/captcha/", api.DevCaptchaHandler(d.Captcha))
	}
	if d.Console != nil {
		s.mux.Handle("/console", d.Console)
		s.mux.Handle("/console/", d.Console)
	}
	if d.OIDC != nil {
		if d.OIDC.WriteError == nil {
			d.OIDC.WriteError = s.web.WriteError
		}
		if err := d.OIDC.Mount(s.mux); err != nil {
			return nil, err
		}
	}
	s.mux.Handle("/", s.web)
	return s, nil
}

// NewMetrics returns the handler of a listener of its own for the metrics
// (metrics.addr): /metrics, behind MetricsToken when it is set, and 404
// problems elsewhere, through the same middleware as New (request id,
// recovery, access log). Only Realms (required), Registry, MetricsToken,
// Logger, ClientIP and HSTS are used. It panics if Realms is nil.
func NewMetrics(d Deps) http.Handler {
	s := newServer(d)
	s.mux.Handle("/metrics", s.metricsEndpoint())
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.problem(w, r, ninsho.E(ninsho.CodeNotFound))
	})
	return s
}

func newServer(d Deps) *server {
	if d.Realms == nil {
		panic("server: Deps.Realms is nil")
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
	}
	if d.Clock == nil {
		d.Clock = ninsho.SystemClock{}
	}
	return &server{
		d:       d,
		log:     d.Logger,
		mux:     http.NewServeMux(),
		metrics: newMetrics(d.Registry),
	}
}

// metricsEndpoint serves the registry, behind the bearer token when one is
// set. The token is compared as SHA-256 digests in constant time, so neither
// its content nor its length shows in the timing.
func (s *server) metricsEndpoint() http.Handler {
	h := promhttp.HandlerFor(s.d.Registry, promhttp.HandlerOpts{})
	if s.d.MetricsToken == "" {
		return h
	}
	want := sha256.Sum256([]byte(s.d.MetricsToken))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		got := sha256.Sum256([]byte(strings.TrimSpace(token)))
		if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			s.problem(w, r, ninsho.E(ninsho.CodeUnauthenticated))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// problem answers err as application/problem+json in the request's language.
func (s *server) problem(w http.ResponseWriter, r *http.Request, err error) {
	locale := webreq.Locale(r, s.d.Realms.ForHost(r.Host))
	httperr.WriteProblem(w, r, err, locale, httperr.RequestID(r.Context()))
}

func healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte("ok\n"))
}

func (s *server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if s.d.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if err := s.d.Ready(ctx); err != nil {
			s.log.LogAttrs(ctx, slog.LevelWarn, "not ready",
				slog.String("request_id", httperr.RequestID(r.Context())),
				slog.String("error", err.Error()))
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("not ready\n"))
			return
		}
	}
	w.Write([]byte("ok\n"))
}

// ServeHTTP gives the request an id, resolves the client address, serves it,
// recovers a panic into a 500 with the id as reference, then logs and counts
// it.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := s.d.Clock.Now()
	id := ninsho.NewID(ninsho.SystemClock{}, ninsho.SecureRandom)
	ip := s.d.ClientIP.ClientIP(r)
	ctx := httperr.WithLogger(r.Context(), s.log)
	ctx = httperr.WithRequestID(ctx, id)
	ctx = clientip.NewContext(ctx, ip)
	r = r.WithContext(ctx)
	w.Header().Set("X-Request-Id", id)
	if s.d.HSTS || r.TLS != nil {
		w.Header().Set("Strict-Transport-Security", HSTSValue)
	}
	rw := &recorder{ResponseWriter: w}
	defer func() {
		p := recover()
		if p != nil {
			s.recovered(rw, r, p)
		}
		s.done(rw, r, start, id, ip)
		if p != nil && !rw.recovered {
			// Part of the answer is out: abort the connection rather than
			// end a half-written response as if it were whole.
			panic(http.ErrAbortHandler)
		}
	}()
	if isHooksPath(r.URL.Path) {
		s.hooks.ServeHTTP(rw, r)
		return
	}
	if s.d.RejectUnknownHosts && !quiet(r.URL.Path) && !s.d.Realms.Known(r.Host) {
		s.unknownHost(rw, r)
		return
	}
	s.mux.ServeHTTP(rw, r)
}

// unknownHost answers a request for a host no realm names: 404 not_found,
// a problem on /api, a plain page elsewhere (no realm's look belongs to
// it), in the language the request asks for.
func (s *server) unknownHost(w http.ResponseWriter, r *http.Request) {
	err := ninsho.E(ninsho.CodeNotFound)
	locale := i18n.For(webreq.ChosenLocale(r), "", "en")
	if isAPI(r.URL.Path) {
		httperr.WriteProblem(w, r, err, locale, httperr.RequestID(r.Context()))
		return
	}
	httperr.WriteHTML(w, r, err, locale, httperr.RequestID(r.Context()), nil)
}

// recovered logs a panic and, if nothing was written yet, answers 500 with the
// request id as reference: a problem on /api, the error page elsewhere.
func (s *server) recovered(rw *recorder, r *http.Request, p any) {
	if p == http.ErrAbortHandler {
		rw.aborted = true
		return
	}
	s.log.LogAttrs(r.Context(), slog.LevelError, "panic",
		slog.String("request_id", httperr.RequestID(r.Context())),
		slog.String("method", r.Method),
		slog.String("path", logPath(r)),
		slog.String("panic", fmt.Sprint(p)),
		slog.String("stack", string(debug.Stack())))
	if rw.status != 0 {
		return
	}
	rw.recovered = true
	err := ninsho.Internal("server: panic: %v", p)
	if isAPI(r.URL.Path) || s.web == nil {
		s.problem(rw, r, err)
		return
	}
	s.web.WriteError(rw, r, err)
}

func isAPI(path string) bool { return path == "/api" || strings.HasPrefix(path, "/api/") }

// quiet routes are logged at debug level: probes and scrapes would drown the
// access log.
func quiet(path string) bool {
	return path == "/healthz" || path == "/readyz" || path == "/metrics"
}

// done writes the access log line and the metrics of one request. It never
// logs query strings, bodies or headers, where secrets travel.
func (s *server) done(rw *recorder, r *http.Request, start time.Time, id, ip string) {
	d := s.d.Clock.Now().Sub(start)
	status := rw.status
	if status == 0 {
		status = http.StatusOK
	}
	if rw.aborted {
		status = 499 // the handler gave up on the client
	}
	route := r.Pattern
	if route == "" {
		route = "unmatched"
	}
	s.metrics.observe(route, status, d)
	level := slog.LevelInfo
	if quiet(r.URL.Path) {
		level = slog.LevelDebug
	}
	if !s.log.Enabled(r.Context(), level) {
		return
	}
	s.log.LogAttrs(r.Context(), level, "http request",
		slog.String("method", r.Method),
		slog.String("path", logPath(r)),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Int64("bytes", rw.bytes),
		ninsho.DurationMS(d),
		slog.String("request_id", id),
		slog.String("client_ip", ip))
}

// logPath is the request path for logs, without the query and bounded.
func logPath(r *http.Request) string {
	p := r.URL.Path
	if len(p) > 200 {
		p = strings.ToValidUTF8(p[:200], "") + "…"
	}
	return p
}

// recorder remembers the status and size of a response.
type recorder struct {
	http.ResponseWriter
	status    int
	bytes     int64
	recovered bool // the answer is the panic's 500
	aborted   bool // the handler aborted with http.ErrAbortHandler
}

func (rw *recorder) WriteHeader(status int) {
	if rw.status == 0 && status >= 200 {
		rw.status = status
	}
	rw.ResponseWriter.WriteHeader(status)
}

func (rw *recorder) Write(b []byte) (int, error) {
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	n, err := rw.ResponseWriter.Write(b)
	rw.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (rw *recorder) Unwrap() http.ResponseWriter { return rw.ResponseWriter }

// Flush passes flushes through (promhttp and streaming handlers use it).
func (rw *recorder) Flush() {
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	http.NewResponseController(rw.ResponseWriter).Flush()
}
