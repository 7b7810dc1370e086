package message

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"sort"
	"strings"
	texttemplate "text/template"

	"github.com/ninsho/ninsho/internal/i18n"
)

// Template ids. Each template exists for every channel in Japanese and
// English; the variables it needs are listed beside it. A missing variable is
// an error, an empty one is not. Links start with base_url, the realm's
// public URL (https://host when a message has none).
const (
	// TemplateSignupCode carries the code that confirms a sign-up.
	// Variables: code, name, minutes (the code's life), host (the realm's
	// public host, used in links and in the SMS line "@host #code").
	TemplateSignupCode = "signup_code"
	// TemplateSigninCode carries the code that confirms a sign-in from an
	// unfamiliar device or network. Variables: code, name, minutes, host.
	TemplateSigninCode = "signin_code"
	// TemplateAccountExists is sent instead of a sign-up code when the
	// identifier already has an account in a realm that does not disclose
	// which identifiers exist. It tells the owner how to sign in or reset the
	// password, and that nothing happens if they ignore it.
	// Variables: name, host.
	TemplateAccountExists = "account_exists"
	// TemplateSigninAlert tells the owner that a device the account had not
	// seen signed in, with a "this wasn't me" link. E-mail and SMS.
	// Variables: name, time, device, network, link, host.
	TemplateSigninAlert = "signin_alert"
	// TemplateUnlockCode carries the code of a self-service unlock.
	// Variables: code, name, minutes, host.
	TemplateUnlockCode = "unlock_code"
	// TemplateResetCode carries the code of the password assistant.
	// Variables: code, name, minutes, host.
	TemplateResetCode = "reset_code"
	// TemplatePasswordChanged tells the owner the password was changed, with
	// a "this wasn't me" link. E-mail and SMS.
	// Variables: name, time, device, network, link, host.
	TemplatePasswordChanged = "password_changed"
	// TemplateCodeLimit tells a destination, once, that the last code its
	// hourly budget allows was just sent and no other will follow for an
	// hour. Variables: name (empty: the address may not be verified), host.
	TemplateCodeLimit = "code_limit"
	// TemplateTwoStepChanged tells the owner of a change to the account's
	// two-step verification, with a "this wasn't me" link. E-mail and SMS.
	// Variables: name, time, device, network, link, host, change (one of
	// turned_on, turned_off, method_added, method_removed, backup_codes,
	// phone_changed: twostep.Change) and method (totp, sms, voice, passkey, or "" when the
	// change is about no one method).
	TemplateTwoStepChanged = "two_step_changed"
	// TemplateTwoStepCode carries the code of an SMS or voice-call second
	// factor (enrolling the number, signing in). SMS and voice only: an
	// e-mail is never a second factor. Variables: code, name, minutes, host.
	TemplateTwoStepCode = "two_step_code"
	// TemplateSecondFactorFailed tells the owner that someone got past the
	// first step (the right password, or a code sent to the account) but
	// failed two-step verification, with a "this wasn't me" link. E-mail
	// and SMS. Variables: name, time, device, network, link, host, after
	// ("password" for a sign-in or re-authentication, "code" for the
	// password assistant, unlock or sign-up completion).
	TemplateSecondFactorFailed = "second_factor_failed"
	// TemplateAccountClosure tells the owner that the account was closed
	// (with the date until which signing in reopens it and a "this wasn't
	// me" link), reopened (with the link), or purged (no link; device and
	// network empty). E-mail and SMS. Variables: name, time, device,
	// network, link, host, change (closed, reopened, purged) and until
	// (the purge date when closed, else "").
	TemplateAccountClosure = "account_closure"
	// TemplateContactCode carries the code that proves a new e-mail
	// address or phone number of a signed-in account. It never carries the
	// account's name (the address is not proved yet). E-mail and SMS.
	// Variables: code, name (always empty), minutes, host.
	TemplateContactCode = "contact_code"
	// TemplateContactChanged tells the owner, at the old address (or, for
	// an added one, the other verified channels), that the account's
	// e-mail address or phone number was changed or added, with the
	// "undo — this wasn't me" link. E-mail and SMS. Variables: name, time,
	// device, network, link, host, change (email_changed, phone_changed,
	// email_added, phone_added).
	TemplateContactChanged = "contact_changed"
	// TemplateContactTaken tells the owner of an address that someone tried
	// to put it on another account (a safe realm, which answers such a
	// change like a free address). Nothing changed. E-mail and SMS.
	// Variables: name, host.
	TemplateContactTaken = "contact_taken"
	// TemplateSignupReminder is sent by staff (internal/desk) to the
	// identifier of an unfinished sign-up: signing in with it and the
	// password chosen at sign-up sends the confirmation code that finishes
	// it. It carries no code and never the typed name (the address is not
	// proved). E-mail and SMS. Variables: name (always empty), host.
	TemplateSignupReminder = "signup_reminder"
)

// Template locales.
const (
	LocaleJA = "ja"
	LocaleEN = "en"
)

// Locale returns the template locale for a requested locale: "ja" for
// Japanese ("ja", "ja-JP", "JA_jp"), "en" for English ("en", "en-US"), and
// for anything else ("", a language without templates) i18n.Default, the
// one fallback rule of every text a person reads. Callers normally pass a
// locale already chosen by i18n.Choose.
func Locale(locale string) string {
	switch l := i18n.Choose(locale); l {
	case LocaleJA, LocaleEN:
		return l
	}
	return i18n.Default
}

// Rendered is a template rendered for one channel and locale.
type Rendered struct {
	Subject string // e-mail only; one line
	Text    string // plain text: the e-mail's text part, the SMS body, the voice script
	HTML    string // e-mail only
}

//go:embed all:templates
var embedded embed.FS

// Templates renders messages. It is immutable once built and safe for
// concurrent use.
type Templates struct {
	sets map[templateKey]*templateSet
}

type templateKey struct {
	id      string
	channel Channel
	locale  string
}

type templateSet struct {
	subject *texttemplate.Template // e-mail only
	text    *texttemplate.Template
	html    *htmltemplate.Template // e-mail only
}

// Template file parts, by file-name suffix. A template id's files are
// "<locale>/<id><suffix>"; files whose names start with "_" are shared
// definitions of the locale (_partials.txt for text, _layout.html for HTML).
const (
	suffixSubject = ".subject.txt"
	suffixEmail   = ".email.txt"
	suffixHTML    = ".email.html"
	suffixSMS     = ".sms.txt"
	suffixVoice   = ".voice.txt"

	filePartials = "_partials.txt"
	fileLayout   = "_layout.html"
)

// DefaultTemplates returns the built-in Japanese and English templates.
func DefaultTemplates() (*Templates, error) {
	files, err := readLocales(builtin(), func(loc, name string) string { return loc + "/" + name })
	if err != nil {
		return nil, err
	}
	return parseFiles(files)
}

func builtin() fs.FS {
	sub, err := fs.Sub(embedded, "templates")
	if err != nil {
		panic(err) // the embedded directory exists
	}
	return sub
}

// ParseTemplates reads templates from fsys, laid out as "ja/" and "en/"
// directories of "<id>.subject.txt", "<id>.email.txt" and "<id>.email.html"
// (e-mail, all three or none), "<id>.sms.txt" and "<id>.voice.txt", plus the
// shared definitions "_partials.txt" (text) and "_layout.html" (the HTML
// layout, which defines the template "layout" and executes the template
// "content" that each HTML file defines). Text parts use text/template, HTML
// parts html/template; both refuse missing variables. Every template must be
// present in both Japanese and English. The templates
// Ninsho knows (the Template constants) are rendered once with the
// variables they are given and with and without a brand, so that a template
// that would fail at delivery fails here.
func ParseTemplates(fsys fs.FS) (*Templates, error) {
	files, err := readLocales(fsys, func(loc, name string) string { return loc + "/" + name })
	if err != nil {
		return nil, err
	}
	return parseFiles(files)
}

// templateFile is one template file: its name in the locale directory, the
// path errors show (the operator's file for a theme's override) and its text.
type templateFile struct {
	name, path, src string
}

// readLocales reads the "ja" and "en" directories of fsys; path names each
// file in errors.
func readLocales(fsys fs.FS, path func(loc, name string) string) (map[string][]templateFile, error) {
	out := map[string][]templateFile{}
	for _, loc := range []string{LocaleJA, LocaleEN} {
		entries, err := fs.ReadDir(fsys, loc)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, fmt.Errorf("message: templates: %w", err)
		}
		for _, e := range entries {
			if e.IsDir() {
				continue
			}
			b, err := fs.ReadFile(fsys, loc+"/"+e.Name())
			if err != nil {
				return nil, fmt.Errorf("message: templates: %w", err)
			}
			out[loc] = append(out[loc], templateFile{name: e.Name(), path: path(loc, e.Name()), src: string(b)})
		}
	}
	return out, nil
}

func parseFiles(files map[string][]templateFile) (*Templates, error) {
	t := &Templates{sets: map[templateKey]*templateSet{}}
	for _, loc := range []string{LocaleJA, LocaleEN} {
		if err := t.parseLocale(loc, files[loc]); err != nil {
			return nil, err
		}
	}
	for k := range t.sets {
		other, name := LocaleEN, "English"
		if k.locale == LocaleEN {
			other, name = LocaleJA, "Japanese"
		}
		if _, ok := t.sets[templateKey{k.id, k.channel, other}]; !ok {
			return nil, fmt.Errorf("message: template %s for %s has no %s version", k.id, k.channel, name)
		}
	}
	if len(t.sets) == 0 {
		return nil, errors.New("message: no templates found")
	}
	if err := t.check(); err != nil {
		return nil, err
	}
	return t, nil
}

var templateFuncs = map[string]any{
	// spell separates the characters of s with sep, so that a voice reads a
	// code digit by digit: spell "123" ", " is "1, 2, 3".
	"spell": func(s, sep string) string {
		return strings.Join(strings.Split(s, ""), sep)
	},
}

func (t *Templates) parseLocale(loc string, files []templateFile) error {
	newText := func(name string) *texttemplate.Template {
		return texttemplate.New(name).Funcs(templateFuncs).Option("missingkey=error")
	}
	parseErr := func(err error) error { return fmt.Errorf("message: templates: %w", err) }

	partials := newText(loc + "/" + filePartials)
	layout := htmltemplate.New(loc + "/" + fileLayout).Funcs(templateFuncs).Option("missingkey=error")
	hasLayout := false
	type emailParts struct{ subject, text, html *templateFile }
	email := map[string]*emailParts{}
	var rest []templateFile
	sort.Slice(files, func(i, j int) bool { return files[i].name < files[j].name })
	for i := range files {
		f := files[i]
		switch {
		case f.name == filePartials:
			var err error
			if partials, err = newText(f.path).Parse(f.src); err != nil {
				return parseErr(err)
			}
		case f.name == fileLayout:
			var err error
			layout = htmltemplate.New(f.path).Funcs(templateFuncs).Option("missingkey=error")
			if layout, err = layout.Parse(f.src); err != nil {
				return parseErr(err)
			}
			if layout.Lookup("layout") == nil {
				return fmt.Errorf("message: templates: %s: does not define \"layout\"", f.path)
			}
			hasLayout = true
		case strings.HasPrefix(f.name, "_"):
			return fmt.Errorf("message: templates: unexpected file %s", f.path)
		default:
			rest = append(rest, f)
		}
	}
	for i := range rest {
		f := &rest[i]
		parseText := func() (*texttemplate.Template, error) {
			c, err := partials.Clone()
			if err != nil {
				return nil, parseErr(err)
			}
			tt, err := c.New(f.path).Parse(f.src)
			if err != nil {
				return nil, parseErr(err)
			}
			return tt, nil
		}
		switch {
		case strings.HasSuffix(f.name, suffixSMS), strings.HasSuffix(f.name, suffixVoice):
			ch, suffix := ChannelSMS, suffixSMS
			if strings.HasSuffix(f.name, suffixVoice) {
				ch, suffix = ChannelVoice, suffixVoice
			}
			tt, err := parseText()
			if err != nil {
				return err
			}
			t.sets[templateKey{strings.TrimSuffix(f.name, suffix), ch, loc}] = &templateSet{text: tt}
		case strings.HasSuffix(f.name, suffixSubject), strings.HasSuffix(f.name, suffixEmail), strings.HasSuffix(f.name, suffixHTML):
			var id string
			for _, s := range []string{suffixSubject, suffixEmail, suffixHTML} {
				if strings.HasSuffix(f.name, s) {
					id = strings.TrimSuffix(f.name, s)
				}
			}
			p := email[id]
			if p == nil {
				p = &emailParts{}
				email[id] = p
			}
			switch {
			case strings.HasSuffix(f.name, suffixSubject):
				p.subject = f
			case strings.HasSuffix(f.name, suffixEmail):
				p.text = f
			default:
				p.html = f
			}
		default:
			return fmt.Errorf("message: templates: unexpected file %s", f.path)
		}
	}
	ids := make([]string, 0, len(email))
	for id := range email {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		p := email[id]
		if p.subject == nil || p.text == nil || p.html == nil {
			return fmt.Errorf("message: templates: %s/%s needs %s, %s and %s", loc, id, suffixSubject, suffixEmail, suffixHTML)
		}
		if !hasLayout {
			return fmt.Errorf("message: templates: %s/%s is missing", loc, fileLayout)
		}
		set := &templateSet{}
		var err error
		if set.subject, err = newText(p.subject.path).Parse(p.subject.src); err != nil {
			return parseErr(err)
		}
		c, err := partials.Clone()
		if err != nil {
			return parseErr(err)
		}
		if set.text, err = c.New(p.text.path).Parse(p.text.src); err != nil {
			return parseErr(err)
		}
		h, err := layout.Clone()
		if err != nil {
			return parseErr(err)
		}
		if set.html, err = h.New(p.html.path).Parse(p.html.src); err != nil {
			return parseErr(err)
		}
		if set.html.Lookup("content") == nil {
			return fmt.Errorf("message: templates: %s: does not define \"content\"", p.html.path)
		}
		t.sets[templateKey{id, ChannelEmail, loc}] = set
	}
	return nil
}

// templateVars are the variables each template Ninsho knows is given (see
// the Template constants); base_url is always given.
var templateVars = map[string][]string{
	TemplateSignupCode:         {"code", "name", "minutes", "host", "base_url"},
	TemplateSigninCode:         {"code", "name", "minutes", "host", "base_url"},
	TemplateUnlockCode:         {"code", "name", "minutes", "host", "base_url"},
	TemplateResetCode:          {"code", "name", "minutes", "host", "base_url"},
	TemplateAccountExists:      {"name", "host", "base_url"},
	TemplateCodeLimit:          {"name", "host", "base_url"},
	TemplateTwoStepCode:        {"code", "name", "minutes", "host", "base_url"},
	TemplateSigninAlert:        {"name", "time", "device", "network", "link", "host", "base_url"},
	TemplatePasswordChanged:    {"name", "time", "device", "network", "link", "host", "base_url"},
	TemplateTwoStepChanged:     {"name", "time", "device", "network", "link", "host", "base_url", "change", "method"},
	TemplateSecondFactorFailed: {"name", "time", "device", "network", "link", "host", "base_url", "after"},
	TemplateAccountClosure:     {"name", "time", "device", "network", "link", "host", "base_url", "change", "until"},
	TemplateContactCode:        {"code", "name", "minutes", "host", "base_url"},
	TemplateContactChanged:     {"name", "time", "device", "network", "link", "host", "base_url", "change"},
	TemplateContactTaken:       {"name", "host", "base_url"},
	TemplateSignupReminder:     {"name", "host", "base_url"},
}

// checkValues are the values of the trial rendering.
var checkValues = map[string]string{
	"code": "123456", "name": "N", "minutes": "10", "host": "id.example.com", "base_url": "https://id.example.com",
	"time": "2026-01-01 00:00 UTC", "device": "D", "network": "192.0.2.0/24", "link": "https://id.example.com/x",
	"change": "turned_on", "method": "totp", "after": "password", "until": "2026-02-01 00:00 UTC",
}

// check renders every template Ninsho knows with exactly the variables it is
// given, with and without a name and a brand, so that a template using a
// variable it is not given or a definition that does not exist fails at
// start, naming its file and line, rather than at delivery.
func (t *Templates) check() error {
	full := Brand{Name: "B", LogoURL: "https://id.example.com/brand/logo", Color: "#d63384",
		SupportURL: "https://id.example.com/help", SupportContact: "C", TermsURL: "https://id.example.com/terms", PrivacyURL: "https://id.example.com/privacy"}
	keys := make([]templateKey, 0, len(t.sets))
	for k := range t.sets {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		return a.locale+a.id+string(a.channel) < b.locale+b.id+string(b.channel)
	})
	for _, k := range keys {
		names, known := templateVars[k.id]
		if !known {
			continue
		}
		for _, b := range []Brand{{}, full} {
			for _, name := range []string{"", "N"} {
				vars := map[string]string{}
				for _, n := range names {
					vars[n] = checkValues[n]
				}
				vars["name"] = name
				if _, err := t.Render(k.channel, k.id, k.locale, b, vars); err != nil {
					return fmt.Errorf("message: templates: %s %s (%s): %w", k.id, k.channel, k.locale, errors.Unwrap(err))
				}
			}
		}
	}
	return nil
}

// Has reports whether the template id exists for the channel.
func (t *Templates) Has(ch Channel, id string) bool {
	_, ok := t.sets[templateKey{id, ch, i18n.Default}]
	return ok
}

// Render renders template id for channel ch in the locale (see Locale: anything
// but Japanese or English falls back to i18n.Default) with vars and the brand variables of b
// (see Brand.vars), which take precedence over vars of the same name. E-mail
// gets a one-line Subject, Text and HTML; SMS and voice get Text only. The
// error names the template and the missing variable, never a variable's value.
func (t *Templates) Render(ch Channel, id, locale string, b Brand, vars map[string]string) (*Rendered, error) {
	set, ok := t.sets[templateKey{id, ch, Locale(locale)}]
	if !ok {
		return nil, fmt.Errorf("message: no template %q for channel %s", id, ch)
	}
	all := make(map[string]string, len(vars)+8)
	for k, x := range vars {
		all[k] = x
	}
	if _, ok := all["base_url"]; !ok {
		// Messages enqueued before base_url existed linked to https://host.
		all["base_url"] = "https://" + vars["host"]
	}
	for k, x := range b.vars(vars["host"]) {
		all[k] = x
	}
	var r Rendered
	var buf bytes.Buffer
	if set.subject != nil {
		if err := set.subject.Execute(&buf, all); err != nil {
			return nil, fmt.Errorf("message: render: %w", err)
		}
		r.Subject = strings.Join(strings.Fields(buf.String()), " ")
		buf.Reset()
	}
	if err := set.text.Execute(&buf, all); err != nil {
		return nil, fmt.Errorf("message: render: %w", err)
	}
	r.Text = strings.TrimSpace(buf.String())
	if ch == ChannelEmail {
		r.Text += "\n"
	}
	buf.Reset()
	if set.html != nil {
		if err := set.html.ExecuteTemplate(&buf, "layout", all); err != nil {
			return nil, fmt.Errorf("message: render: %w", err)
		}
		r.HTML = strings.TrimSpace(buf.String()) + "\n"
	}
	return &r, nil
}

// IDs returns the template ids, sorted.
func (t *Templates) IDs() []string {
	seen := map[string]bool{}
	var ids []string
	for k := range t.sets {
		if !seen[k.id] {
			seen[k.id] = true
			ids = append(ids, k.id)
		}
	}
	sort.Strings(ids)
	return ids
}
