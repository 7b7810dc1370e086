package web

import (
	"net/http"
	"net/url"
	"slices"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/help"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
)

// "Can't sign in?" (/help) is a troubleshooter of plain questions: each
// answer is a GET link (?q=<topic>), so the answers live in the URL and
// nothing is stored or asked about any account; each topic ends in the
// self-service page that fixes its cause, and only "none of these" (and a
// suspension, which only customer service lifts) leads to "help me sign in"
// (/help/request). A reference number (?ref=, from an error page or a
// suspension) is carried along and fills in the request. /help/request asks
// what was tried and a contact, whose code is taken on /verify; the
// completed request shows its reference on /help/request/done.

// HelpPath is the troubleshooter; HelpRequestPath the request form.
const (
	HelpPath        = "/help"
	HelpRequestPath = "/help/request"
	helpDonePath    = "/help/request/done"
)

// helpTopic is one page of the troubleshooter: its title and paragraphs
// (catalogue keys) and the links it ends in.
type helpTopic struct {
	Title string
	Paras []string
	Links []helpLink
}

// helpLink is one link of a troubleshooter page (Text a catalogue key).
type helpLink struct {
	Href, Text string
	Primary    bool
}

// helpSite is one regional site (realm) of the server, as the "wrong site"
// topic lists it.
type helpSite struct {
	Name, URL string
	Current   bool
}

// helpView is what the troubleshooter and request pages show.
type helpView struct {
	Topic *helpTopic
	// Questions are the start page's links, one per cause.
	Questions []helpLink
	Sites     []helpSite
	// Ref is the reference number carried (?ref=), in its written form, or "".
	Ref string
	// Steps are the choices of "which step failed" on the request form.
	Steps []string
	// Done is the reference of the request just made, DoneDue its due
	// time as the confirmation message says it; "" on the generic page.
	Done    string
	DoneDue string
}

// helpTopics are the troubleshooter's pages by ?q=, in the order the start
// page asks them ("region" only where more than one realm is served).
var helpTopicOrder = []string{"typo", "region", "password", "code", "locked", "phone", "suspended", "closed", "cookies", "none"}

// topic returns the page of q, or nil for the start page or an unknown q.
func (h *Handler) helpTopic(rl *realm.Realm, q, ref string) *helpTopic {
	withRef := func(path string, v url.Values) string {
		if v == nil {
			v = url.Values{}
		}
		if ref != "" {
			v.Set("ref", ref)
		}
		if len(v) == 0 {
			return path
		}
		return path + "?" + v.Encode()
	}
	topic := func(q string) string { return withRef(HelpPath, url.Values{"q": {q}}) }
	request := func(step string) helpLink {
		if h.d.Help == nil {
			// No help requests here: the realm's customer service, if any.
			if rl != nil && rl.Brand.SupportURL != "" {
				return helpLink{Href: rl.Brand.SupportURL, Text: "footer.support", Primary: true}
			}
			return helpLink{}
		}
		return helpLink{Href: withRef(HelpRequestPath, url.Values{"step": {step}}), Text: "help.link.request", Primary: true}
	}
	signin := helpLink{Href: "/signin", Text: "help.link.signin", Primary: true}
	var t *helpTopic
	switch q {
	case "typo":
		t = &helpTopic{Paras: []string{"help.typo.p1", "help.typo.p2", "help.typo.p3"},
			Links: []helpLink{signin, {Href: "/password-assistant", Text: "help.link.password_assistant"}}}
	case "region":
		if len(h.helpSites("")) < 2 {
			return nil
		}
		t = &helpTopic{Paras: []string{"help.region.p1"}}
	case "password":
		t = &helpTopic{Paras: []string{"help.password.p1"},
			Links: []helpLink{{Href: "/password-assistant", Text: "help.link.password_assistant", Primary: true}}}
	case "code":
		t = &helpTopic{Paras: []string{"help.code.p1", "help.code.p2", "help.code.p3", "help.code.p4"},
			Links: []helpLink{{Href: "/signin", Text: "help.link.signin_other_way", Primary: true}}}
	case "locked":
		t = &helpTopic{Paras: []string{"help.locked.p1"},
			Links: []helpLink{{Href: "/unlock", Text: "help.link.unlock", Primary: true}}}
	case "phone":
		t = &helpTopic{Paras: []string{"help.phone.p1"}, Links: []helpLink{
			{Href: topic("phone_backup"), Text: "help.link.phone_backup"},
			{Href: topic("phone_other"), Text: "help.link.phone_other"},
			{Href: topic("phone_none"), Text: "help.link.phone_none"},
		}}
	case "phone_backup":
		t = &helpTopic{Paras: []string{"help.phone_backup.p1"}, Links: []helpLink{signin}}
	case "phone_other":
		t = &helpTopic{Paras: []string{"help.phone_other.p1"}, Links: []helpLink{signin}}
	case "phone_none":
		t = &helpTopic{Paras: []string{"help.phone_none.p1", "help.phone_none.p2"},
			Links: []helpLink{{Href: "/recovery", Text: "help.link.recovery", Primary: true}}}
	case "suspended":
		t = &helpTopic{Paras: []string{"help.suspended.p1"}, Links: []helpLink{request(string(help.StepSuspended))}}
	case "closed":
		t = &helpTopic{Paras: []string{"help.closed.p1", "help.closed.p2"},
			Links: []helpLink{signin, {Href: "/signup", Text: "help.link.signup"}}}
	case "cookies":
		t = &helpTopic{Paras: []string{"help.cookies.p1", "help.cookies.p2"}, Links: []helpLink{signin}}
	case "none":
		t = &helpTopic{Paras: []string{"help.none.p1"}, Links: []helpLink{request(string(help.StepOther))}}
	default:
		return nil
	}
	t.Title = "help.q." + q
	t.Links = slices.DeleteFunc(t.Links, func(l helpLink) bool { return l.Href == "" })
	back := HelpPath
	if ref != "" {
		back = withRef(HelpPath, nil)
	}
	t.Links = append(t.Links, helpLink{Href: back, Text: "help.link.back"})
	return t
}

// helpSites lists the realms' sites and their addresses (nothing about any
// account), the one of host marked.
func (h *Handler) helpSites(current string) []helpSite {
	var out []helpSite
	for _, rl := range h.d.Realms.All() {
		if rl == nil || rl.BaseURL == "" && rl.PublicHost == "" {
			continue
		}
		u := rl.BaseURL
		if u == "" {
			u = "https://" + rl.PublicHost
		}
		out = append(out, helpSite{Name: rl.Name, URL: u, Current: rl.ID == current})
	}
	return out
}

// helpRef reads ?ref= as a reference number, or "".
func helpRef(r *http.Request) string {
	v := r.URL.Query().Get("ref")
	if len(v) > help.MaxRef {
		return ""
	}
	return help.QuotedRef(v)
}

func (h *Handler) routesHelp() {
	h.mux.Handle("GET "+HelpPath, h.handle(h.helpPage))
	h.mux.Handle("GET "+HelpRequestPath, h.handleFlow(h.helpRequestForm))
	h.mux.Handle("POST "+HelpRequestPath, h.handleFlow(h.helpRequestStart))
	h.mux.Handle("GET "+helpDonePath, h.handle(h.helpDone))
}

// helpPage serves the troubleshooter: the questions, or with ?q= the page
// of one cause. An unknown q is the start page.
func (h *Handler) helpPage(w http.ResponseWriter, r *http.Request, c *call) error {
	p := h.newPage(r, c.realm, c.locale, "page.help.title")
	ref := helpRef(r)
	v := &helpView{Ref: ref}
	p.Help = v
	q := r.URL.Query().Get("q")
	if t := h.helpTopic(c.realm, q, ref); t != nil {
		v.Topic = t
		p.Title = t.Title
		if q == "region" {
			v.Sites = h.helpSites(c.realm.ID)
		}
	} else {
		for _, q := range helpTopicOrder {
			if h.helpTopic(c.realm, q, ref) == nil {
				continue
			}
			href := url.Values{"q": {q}}
			if ref != "" {
				href.Set("ref", ref)
			}
			v.Questions = append(v.Questions, helpLink{Href: HelpPath + "?" + href.Encode(), Text: "help.q." + q})
		}
	}
	p.relink(r.URL.Path, url.Values{"q": {q}, "ref": {ref}})
	h.render(w, r, http.StatusOK, "help", p)
	return nil
}

// helpRequestPage is the request form with the carried reference and step.
func (h *Handler) helpRequestPage(r *http.Request, c *call) *page {
	p := h.newPage(r, c.realm, c.locale, "page.help_request.title")
	p.Help = &helpView{Ref: helpRef(r)}
	for _, s := range help.Steps {
		p.Help.Steps = append(p.Help.Steps, string(s))
	}
	p.Form["reference"] = p.Help.Ref
	if s := help.Step(r.URL.Query().Get("step")); s.Valid() {
		p.Form["step"] = string(s)
	}
	return p
}

func (h *Handler) helpRequestForm(w http.ResponseWriter, r *http.Request, c *call) error {
	if h.d.Help == nil {
		return ninsho.E(ninsho.CodeNotFound)
	}
	p := h.helpRequestPage(r, c)
	p.relink(r.URL.Path, url.Values{"ref": {p.Form["reference"]}, "step": {p.Form["step"]}})
	h.render(w, r, http.StatusOK, "help_request", p)
	return nil
}

// helpRequestStart starts a request and leads to the code page; a refusal
// shows the form again with what was typed.
func (h *Handler) helpRequestStart(w http.ResponseWriter, r *http.Request, c *call) error {
	if h.d.Help == nil {
		return ninsho.E(ninsho.CodeNotFound)
	}
	p := h.helpRequestPage(r, c)
	if err := parseForm(w, r); err != nil {
		h.renderError(w, r, "help_request", p, err)
		return nil
	}
	in := help.Input{}
	for name, dst := range map[string]*string{"identifier": &in.Identifier, "step": &in.Step, "reference": &in.Ref,
		"description": &in.Description, "contact": &in.Contact} {
		*dst = r.PostForm.Get(name)
		p.Form[name] = *dst
	}
	ans, err := h.d.Help.Start(r.Context(), c.realm, h.request(r, c), in)
	if err != nil {
		h.remember(w, r, ans)
		h.renderError(w, r, "help_request", p, err)
		return nil
	}
	return h.follow(w, r, ans)
}

// helpDone shows the reference and the due time of the request this
// browser just made: ?flow= names the completed help flow, whose binding
// cookie the browser still holds (remember keeps it). Any other visit —
// a made-up or copied ?ref=, another browser, a flow not completed — gets
// a generic page that confirms nothing.
func (h *Handler) helpDone(w http.ResponseWriter, r *http.Request, c *call) error {
	p := h.newPage(r, c.realm, c.locale, "page.help_done.title")
	p.Help = &helpView{}
	if id := r.URL.Query().Get("flow"); ninsho.ValidID(id) {
		ans, err := h.view(r, c, id)
		if err == nil && ans != nil && ans.Flow != nil && ans.Flow.Kind == flow.KindHelp &&
			ans.Flow.Status == flow.StatusComplete && ans.Next != nil && ans.Next.Reference != "" {
			p.Help.Done = ans.Next.Reference
			if ans.Next.DueAt != nil {
				p.Help.DoneDue = help.FormatDue(*ans.Next.DueAt, p.Locale)
			}
			p.relink(r.URL.Path, url.Values{"flow": {id}})
		}
	}
	if p.Help.Done == "" {
		p.Title = "page.help_done.generic_title"
		p.relink(r.URL.Path, url.Values{})
	}
	h.render(w, r, http.StatusOK, "help_done", p)
	return nil
}

// helpDoneURL is where a completed help request leads: the done page of
// its flow, which only the browser that made it can open.
func helpDoneURL(ans *flow.Answer) string {
	return helpDonePath + "?" + url.Values{"flow": {ans.Flow.ID}}.Encode()
}

// helpLinkPages are the pages whose footer offers "Can't sign in?": the
// sign-in, code and start pages.
var helpLinkPages = []string{"signin", "verify", "two_step", "two_step_phone_code", "two_step_enrol", "unlock",
	"unlock_password", "reset", "reset_choose", "signup", "reopen", "error"}

// HelpHref is the footer's "Can't sign in?" link of the page, or "".
func (p *page) HelpHref() string {
	if p.helpLink {
		return HelpPath
	}
	return ""
}

// HelpRefHref is the link of an error's reference number to the
// troubleshooter with the number filled in.
func (p *page) HelpRefHref(ref string) string {
	return HelpPath + "?" + url.Values{"ref": {ref}}.Encode()
}
