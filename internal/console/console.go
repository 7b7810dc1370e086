// Package console is the staff console's HTTP adapter: the pages under
// /console where staff sign in (password, then the authenticator app),
// enrol from their invitation link, find accounts, read their timelines,
// act on them with a written reason, and where admins manage staff. Pages
// are in Japanese and English (the customer pages' ?lang= switch and
// language cookie), behind the same cross-origin protection and content
// security policy, and work without JavaScript. Its handlers only
// translate: the rules, permissions included, live in internal/staff and
// internal/desk.
//
// Only the console's own cookie (CookieName, Path=/console, HttpOnly,
// SameSite=Strict) opens it: a customer's session is never read here.
package console

import (
	"bytes"
	"context"
	"embed"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ninsho/ninsho/internal/clientip"
	"github.com/ninsho/ninsho/internal/desk"
	"github.com/ninsho/ninsho/internal/help"
	"github.com/ninsho/ninsho/internal/httperr"
	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/oauthclient"
	"github.com/ninsho/ninsho/internal/org"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/realmset"
	"github.com/ninsho/ninsho/internal/review"
	"github.com/ninsho/ninsho/internal/staff"
	"github.com/ninsho/ninsho/internal/web"
	"github.com/ninsho/ninsho/internal/web/webreq"
)

//go:embed templates/*.html
var templateFS embed.FS

// CookieName is the console session cookie.
const CookieName = "ninsho_console"

// Path is where the console lives.
const Path = "/console"

// maxFormBytes bounds a form body.
const maxFormBytes = 64 << 10

// Deps are what the console serves. Staff, Desk and Realms are required.
type Deps struct {
	Staff    *staff.Service
	Desk     *desk.Service
	Realms   *realm.Registry
	ClientIP *clientip.Resolver
	// Review serves the reviewers' recovery pages (/console/recovery);
	// nil: none.
	Review *review.Service
	// SecureCookies marks the cookie Secure on plain-HTTP requests too
	// (the public URL is https); requests over TLS always get it.
	SecureCookies bool
	// Help serves the help-request queue (/console/help); nil leaves it
	// out.
	Help *help.Service
	// Overdue are the queues whose overdue cases every console page
	// counts in its banner, each to the staff allowed to work on them.
	Overdue []OverdueCounter
	// Now is the clock the queues mark overdue cases with (nil:
	// time.Now).
	Now func() time.Time
	// LinkBase is where the enrolment links an admin makes point, as the
	// command line's do (the first realm's public URL, else public_url,
	// else http://<addr>); "" uses the request's own origin.
	LinkBase string
	// Clients serves the OAuth / OpenID Connect clients page
	// (/console/clients, admins only); nil leaves it out.
	Clients *oauthclient.Service
	// RealmSettings serves the realms page (/console/realms, admins
	// only; realms.go); nil leaves it out. RealmsChanged, if set, is
	// called after a change so that this instance serves it at once.
	RealmSettings *realmset.Service
	RealmsChanged func(context.Context) bool
	// Orgs decides pending business organisations and OrgReader reads
	// organisations for /console/orgs (orgs.go); either nil leaves it out.
	Orgs      *org.Service
	OrgReader OrgReader
}

// OverdueCounter is one queue in the overdue banner: the help requests,
// the recovery cases.
type OverdueCounter struct {
	// Name picks the banner's words: the catalogue key
	// "console.overdue.<Name>" with {count}.
	Name string
	// Href is the queue's page.
	Href string
	// Perm is what a staff member needs to see the count.
	Perm staff.Permission
	// Count counts the queue's cases due before now.
	Count func(ctx context.Context, now time.Time) (int, error)
}

// now is the console's clock.
func (h *Handler) now() time.Time {
	if h.d.Now != nil {
		return h.d.Now()
	}
	return time.Now()
}

// Handler serves /console. It is safe for concurrent use.
type Handler struct {
	d     Deps
	mux   *http.ServeMux
	cop   *http.CrossOriginProtection
	pages map[string]*template.Template
}

var _ http.Handler = (*Handler)(nil)

// New returns the console handler.
func New(d Deps) (*Handler, error) {
	h := &Handler{d: d, mux: http.NewServeMux(), cop: http.NewCrossOriginProtection(), pages: map[string]*template.Template{}}
	funcs := template.FuncMap{
		"t": translate,
		// lines splits plain text into its lines, each shown escaped.
		"lines": func(s string) []string {
			return strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
		},
		// fieldErrors picks one field's messages of a form's refusals
		// (template "field_errors").
		"fieldErrors": func(invalid map[string][]string, field string) fieldMessages {
			return fieldMessages{Field: field, Messages: invalid[field]}
		},
		"when": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.UTC().Format("2006-01-02 15:04:05 UTC")
		},
	}
	names, err := templateFS.ReadDir("templates")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		name := strings.TrimSuffix(n.Name(), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+n.Name())
		if err != nil {
			return nil, err
		}
		h.pages[name] = t
	}
	h.routes()
	return h, nil
}

func (h *Handler) routes() {
	m := h.mux
	m.HandleFunc("GET "+Path, h.open(h.home))
	m.HandleFunc("GET "+Path+"/{$}", h.open(h.home))
	m.HandleFunc("GET "+Path+"/signin", h.public(h.signinForm))
	m.HandleFunc("POST "+Path+"/signin", h.public(h.signin))
	m.HandleFunc("GET "+Path+"/signin/code", h.public(h.codeForm))
	m.HandleFunc("POST "+Path+"/signin/code", h.public(h.code))
	m.HandleFunc("POST "+Path+"/signout", h.public(h.signout))
	// The token travels in the query (GET) and the form (POST), never in
	// the path, which the access log records.
	m.HandleFunc("GET "+Path+"/enrol", h.public(h.enrolForm))
	m.HandleFunc("GET "+Path+"/enrol/qr.png", h.public(h.enrolQR))
	m.HandleFunc("POST "+Path+"/enrol", h.public(h.enrol))
	m.HandleFunc("GET "+Path+"/accounts", h.open(h.search))
	m.HandleFunc("GET "+Path+"/accounts/{id}", h.open(h.account))
	m.HandleFunc("POST "+Path+"/accounts/{id}/{action}", h.open(h.act))
	if h.d.Help != nil {
		m.HandleFunc("GET "+Path+"/help", h.open(h.helpQueue))
		m.HandleFunc("GET "+Path+"/help/{ref}", h.open(h.helpRequest))
		m.HandleFunc("POST "+Path+"/help/{ref}/{action}", h.open(h.helpAct))
	}
	m.HandleFunc("GET "+Path+"/staff", h.open(h.staffList))
	m.HandleFunc("POST "+Path+"/staff", h.open(h.invite))
	m.HandleFunc("POST "+Path+"/staff/{id}/role", h.open(h.setRole))
	m.HandleFunc("POST "+Path+"/staff/{id}/disable", h.open(h.disable))
	m.HandleFunc("POST "+Path+"/staff/{id}/reinvite", h.open(h.reinvite))
	h.clientRoutes(m)
	h.realmRoutes(m)
	h.recoveryRoutes(m)
	h.passkeyRoutes(m)
	h.orgRoutes(m) // orgs.go
}

// ServeHTTP sets the security headers, refuses cross-origin state changes,
// remembers a language chosen with ?lang= and routes the request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", web.ContentSecurityPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-store")
	if err := h.cop.Check(r); err != nil {
		h.writeError(w, r, ninsho.E(ninsho.CodeCSRF).Wrap(err))
		return
	}
	if l := webreq.QueryLang(r); l != "" {
		webreq.Cookies{Secure: h.d.SecureCookies}.SetLang(w, r, l)
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
	h.writeError(w, r, ninsho.E(code))
}

// call is one request: its language, its description for services and,
// on pages behind sign-in, the signed-in staff member.
type call struct {
	locale string
	req    ninsho.Request
	who    *staff.Principal
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, c *call) error

func (h *Handler) newCall(r *http.Request) *call {
	// Staff read the console in any supported language, whatever the
	// realm offers its customers.
	def := ""
	if rl := h.d.Realms.ForHost(r.Host); rl != nil {
		def = rl.DefaultLocale
	}
	locale := i18n.For(webreq.ChosenLocale(r), "", def)
	req := webreq.Request(r, h.d.ClientIP, ninsho.ClientPage, locale, "")
	req.SessionToken = "" // a customer's session means nothing here
	return &call{locale: locale, req: req}
}

// public serves a page that needs no console session.
func (h *Handler) public(f handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := f(w, r, h.newCall(r)); err != nil {
			h.writeError(w, r, err)
		}
	}
}

// open serves a page behind a console session: without one (or with a
// customer's session only) the browser goes to the sign-in page.
func (h *Handler) open(f handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := h.newCall(r)
		p, err := h.d.Staff.Check(r.Context(), token(r))
		if err != nil {
			if ninsho.IsCode(err, ninsho.CodeUnauthenticated) {
				h.clearCookie(w, r)
				http.Redirect(w, r, Path+"/signin", http.StatusSeeOther)
				return
			}
			h.writeError(w, r, err)
			return
		}
		c.who = p
		if err := f(w, r, c); err != nil {
			h.writeError(w, r, err)
		}
	}
}

// token returns the console cookie's token, or "".
func token(r *http.Request) string {
	ck, err := r.Cookie(CookieName)
	if err != nil || len(ck.Value) > 100 {
		return ""
	}
	return ck.Value
}

func (h *Handler) cookie(r *http.Request, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: CookieName, Value: value, Path: Path, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: h.d.SecureCookies || r.TLS != nil,
	}
}

func (h *Handler) setCookie(w http.ResponseWriter, r *http.Request, value string, life time.Duration) {
	http.SetCookie(w, h.cookie(r, value, int(life/time.Second)))
}

func (h *Handler) clearCookie(w http.ResponseWriter, r *http.Request) {
	if _, err := r.Cookie(CookieName); err == nil {
		http.SetCookie(w, h.cookie(r, "", -1))
	}
}

// page is what every console template gets.
type page struct {
	Locale    string
	Title     string
	Languages []language
	Who       *staff.Staff
	CanStaff  bool
	// CanClients links the clients page (admins, when it is served).
	CanClients bool
	CanHelp    bool
	Overdue    []overdue
	CanReview  bool
	// CanOrgs links the organisations page (when it is served).
	CanOrgs bool
	Error   *pageError
	Notice  string
	Form    url.Values
	Data    any

	// CanRealms links the realms page (admins, when it is served).
	CanRealms bool
}

// fieldMessages are the messages shown at one refused field.
type fieldMessages struct {
	Field    string
	Messages []string
}

// overdue is one line of the overdue banner.
type overdue struct {
	Key   string
	Href  string
	Count int
}

type pageError struct {
	Items     []errorItem
	RequestID string
}

type errorItem struct {
	Field   string
	Message string
}

type language struct {
	Locale, Label, Href string
	Current             bool
}

func (h *Handler) newPage(r *http.Request, c *call, title string) *page {
	p := &page{Locale: c.locale, Title: title, Form: url.Values{}}
	for _, l := range []struct{ locale, label string }{{"ja", "日本語"}, {"en", "English"}} {
		// The switch reloads this page; the answer to a form (a POST)
		// has no address of its own to reload, so it goes home.
		path, q := r.URL.Path, r.URL.Query()
		if r.Method != http.MethodGet {
			path, q = Path, url.Values{}
		}
		q.Set("lang", l.locale)
		p.Languages = append(p.Languages, language{Locale: l.locale, Label: l.label,
			Href: (&url.URL{Path: path, RawQuery: q.Encode()}).String(), Current: l.locale == c.locale})
	}
	if c.who != nil {
		p.Who = c.who.Staff
		p.CanStaff = c.who.Can(staff.PermManageStaff)
		p.CanClients = h.d.Clients != nil && c.who.Can(staff.PermManageClients)
		p.CanRealms = h.d.RealmSettings != nil && c.who.Can(staff.PermManageRealms)
		p.CanHelp = h.d.Help != nil && c.who.Can(staff.PermHelpRequests)
		p.Overdue = h.overdue(r.Context(), c.who)
		p.CanOrgs = h.d.Orgs != nil && h.d.OrgReader != nil && c.who.Can(staff.PermTimeline)
		p.CanReview = h.d.Review != nil && (c.who.Can(staff.PermRecoveryDecisions) || c.who.Can(staff.PermRecoveryDocuments))
	}
	return p
}

// overdue counts the overdue cases of each queue the staff member may work
// on; a queue whose count fails is left out of the banner (the page still
// serves).
func (h *Handler) overdue(ctx context.Context, who *staff.Principal) []overdue {
	var out []overdue
	now := h.now()
	for _, o := range h.d.Overdue {
		if o.Count == nil || (o.Perm != "" && !who.Can(o.Perm)) {
			continue
		}
		n, err := o.Count(ctx, now)
		if err != nil || n == 0 {
			continue
		}
		out = append(out, overdue{Key: "console.overdue." + o.Name, Href: o.Href, Count: n})
	}
	return out
}

// withError sets the refusal err on p and returns its status.
// staffMessages are the console's own texts for refusals whose catalogue
// message is written for customers.
var staffMessages = map[ninsho.Code]string{
	ninsho.CodeCredentialsIncorrect: "console.error.credentials_incorrect",
	ninsho.CodeNotFound:             "console.error.not_found",
}

// decided finishes a page whose forms decide something (a recovery case,
// an organisation's approval): the notice of the decision just made
// (?done=<decision>, notice key prefix + decision), or the refusal of the
// decision posted — its status, the form put back — and the decision that
// failed ("" when none did).
func (p *page) decided(r *http.Request, status int, refusal error, decisions []string, prefix string) (int, string) {
	if refusal != nil {
		p.Form = r.PostForm
		return p.withError(r, refusal), r.PathValue("decision")
	}
	if done := r.URL.Query().Get("done"); contains(decisions, done) {
		p.Notice = prefix + done
	}
	return status, ""
}

func (p *page) withError(r *http.Request, err error) int {
	e := ninsho.ErrorOf(err)
	status := httperr.StatusOf(err)
	pe := &pageError{}
	for _, x := range httperr.FieldProblems(e, p.Locale) {
		if key, ok := staffMessages[ninsho.Code(x.Code)]; ok {
			// The customer text speaks of phone numbers and the
			// password assistant, which staff accounts do not have.
			x.Message = i18n.Message(p.Locale, key, nil)
		}
		pe.Items = append(pe.Items, errorItem{Field: x.Field, Message: x.Message})
	}
	if httperr.ShowsReference(e, status) {
		pe.RequestID = httperr.RequestID(r.Context())
	}
	p.Error = pe
	return status
}

// render writes the page template name with p.
func (h *Handler) render(w http.ResponseWriter, status int, name string, p *page) {
	t := h.pages[name]
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte("internal error\n"))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", p.Locale)
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// writeError writes err as the console's error page; httperr decides the
// status and logs the cause.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	c := h.newCall(r)
	httperr.WriteHTML(w, r, err, c.locale, httperr.RequestID(r.Context()), func(w http.ResponseWriter, r *http.Request, hp httperr.Page) {
		p := h.newPage(r, c, "console.error.title")
		msg := hp.Message
		if key, ok := staffMessages[ninsho.ErrorOf(err).Code]; ok {
			msg = i18n.Message(p.Locale, key, nil)
		}
		p.Error = &pageError{Items: []errorItem{{Message: msg}}, RequestID: hp.RequestID}
		h.render(w, hp.Status, "error", p)
	})
}

// form parses a bounded form body.
func form(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return ninsho.E(ninsho.CodeRequestInvalid).Wrap(err)
	}
	return nil
}

// translate is the templates' t function: t locale key [name value]...
func translate(locale, key string, args ...any) string {
	var params map[string]any
	if len(args) > 1 {
		params = make(map[string]any, len(args)/2)
		for i := 0; i+1 < len(args); i += 2 {
			params[toString(args[i])] = args[i+1]
		}
	}
	return i18n.Message(locale, key, params)
}

func toString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return ""
}
