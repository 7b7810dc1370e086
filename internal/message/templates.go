package message

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"path"
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
)

// DefaultTemplates returns the built-in Japanese and English templates.
func DefaultTemplates() (*Templates, error) {
	sub, err := fs.Sub(embedded, "templates")
	if err != nil {
		return nil, fmt.Errorf("message: %w", err)
	}
	return ParseTemplates(sub)
}

// ParseTemplates reads templates from fsys, laid out as "ja/" and "en/"
// directories of "<id>.subject.txt", "<id>.email.txt" and "<id>.email.html"
// (e-mail, all three or none), "<id>.sms.txt" and "<id>.voice.txt", plus the
// shared definitions "_partials.txt" (text) and "_layout.html" (the HTML
// layout, which executes the template "content" that each HTML file defines).
// Text parts use text/template, HTML parts html/template; both refuse missing
// variables. Every template must be present in both Japanese and English.
func ParseTemplates(fsys fs.FS) (*Templates, error) {
	t := &Templates{sets: map[templateKey]*templateSet{}}
	for _, loc := range []string{LocaleJA, LocaleEN} {
		if err := t.parseLocale(fsys, loc); err != nil {
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
	return t, nil
}

var templateFuncs = map[string]any{
	// spell separates the characters of s with sep, so that a voice reads a
	// code digit by digit: spell "123" ", " is "1, 2, 3".
	"spell": func(s, sep string) string {
		return strings.Join(strings.Split(s, ""), sep)
	},
}

func (t *Templates) parseLocale(fsys fs.FS, loc string) error {
	entries, err := fs.ReadDir(fsys, loc)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("message: templates: %w", err)
	}
	read := func(name string) (string, error) {
		b, err := fs.ReadFile(fsys, path.Join(loc, name))
		if err != nil {
			return "", fmt.Errorf("message: templates: %w", err)
		}
		return string(b), nil
	}
	newText := func(name string) *texttemplate.Template {
		return texttemplate.New(name).Funcs(templateFuncs).Option("missingkey=error")
	}

	partials := newText("_partials.txt")
	if s, err := read("_partials.txt"); err == nil {
		if partials, err = partials.Parse(s); err != nil {
			return fmt.Errorf("message: templates: %w", err)
		}
	}
	layout := htmltemplate.New("_layout.html").Funcs(templateFuncs).Option("missingkey=error")
	hasLayout := false
	if s, err := read("_layout.html"); err == nil {
		if layout, err = layout.Parse(s); err != nil {
			return fmt.Errorf("message: templates: %w", err)
		}
		hasLayout = true
	}

	type emailParts struct{ subject, text, html string }
	email := map[string]*emailParts{}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && !strings.HasPrefix(e.Name(), "_") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, name := range names {
		src, err := read(name)
		if err != nil {
			return err
		}
		full := loc + "/" + name
		parseText := func() (*texttemplate.Template, error) {
			c, err := partials.Clone()
			if err != nil {
				return nil, err
			}
			tt, err := c.New(full).Parse(src)
			if err != nil {
				return nil, fmt.Errorf("message: templates: %w", err)
			}
			return tt, nil
		}
		switch {
		case strings.HasSuffix(name, suffixSMS), strings.HasSuffix(name, suffixVoice):
			ch, suffix := ChannelSMS, suffixSMS
			if strings.HasSuffix(name, suffixVoice) {
				ch, suffix = ChannelVoice, suffixVoice
			}
			tt, err := parseText()
			if err != nil {
				return err
			}
			t.sets[templateKey{strings.TrimSuffix(name, suffix), ch, loc}] = &templateSet{text: tt}
		case strings.HasSuffix(name, suffixSubject), strings.HasSuffix(name, suffixEmail), strings.HasSuffix(name, suffixHTML):
			var id string
			for _, s := range []string{suffixSubject, suffixEmail, suffixHTML} {
				if strings.HasSuffix(name, s) {
					id = strings.TrimSuffix(name, s)
				}
			}
			p := email[id]
			if p == nil {
				p = &emailParts{}
				email[id] = p
			}
			switch {
			case strings.HasSuffix(name, suffixSubject):
				p.subject = src
			case strings.HasSuffix(name, suffixEmail):
				p.text = src
			default:
				p.html = src
			}
		default:
			return fmt.Errorf("message: templates: unexpected file %s", full)
		}
	}
	for id, p := range email {
		if p.subject == "" || p.text == "" || p.html == "" {
			return fmt.Errorf("message: templates: %s/%s needs %s, %s and %s", loc, id, suffixSubject, suffixEmail, suffixHTML)
		}
		if !hasLayout {
			return fmt.Errorf("message: templates: %s/_layout.html is missing", loc)
		}
		set := &templateSet{}
		var err error
		if set.subject, err = newText(loc + "/" + id + suffixSubject).Parse(p.subject); err != nil {
			return fmt.Errorf("message: templates: %w", err)
		}
		c, err := partials.Clone()
		if err != nil {
			return fmt.Errorf("message: templates: %w", err)
		}
		if set.text, err = c.New(loc + "/" + id + suffixEmail).Parse(p.text); err != nil {
			return fmt.Errorf("message: templates: %w", err)
		}
		h, err := layout.Clone()
		if err != nil {
			return fmt.Errorf("message: templates: %w", err)
		}
		if set.html, err = h.New(loc + "/" + id + suffixHTML).Parse(p.html); err != nil {
			return fmt.Errorf("message: templates: %w", err)
		}
		if set.html.Lookup("content") == nil {
			return fmt.Errorf("message: templates: %s/%s%s does not define \"content\"", loc, id, suffixHTML)
		}
		t.sets[templateKey{id, ChannelEmail, loc}] = set
	}
	return nil
}

// Has reports whether the template id exists for the channel.
func (t *Templates) Has(ch Channel, id string) bool {
	_, ok := t.sets[templateKey{id, ch, i18n.Default}]
	return ok
}

// Render renders template id for channel ch in the locale (see Locale:
// anything but Japanese or English falls back to i18n.Default) with vars. E-mail gets a one-line
// Subject, Text and HTML; SMS and voice get Text only. The error names the
// template and the missing variable, never a variable's value.
func (t *Templates) Render(ch Channel, id, locale string, vars map[string]string) (*Rendered, error) {
	set, ok := t.sets[templateKey{id, ch, Locale(locale)}]
	if !ok {
		return nil, fmt.Errorf("message: no template %q for channel %s", id, ch)
	}
	if _, ok := vars["base_url"]; !ok {
		// Messages enqueued before base_url existed linked to https://host.
		v := make(map[string]string, len(vars)+1)
		for k, x := range vars {
			v[k] = x
		}
		v["base_url"] = "https://" + vars["host"]
		vars = v
	}
	var r Rendered
	var b bytes.Buffer
	if set.subject != nil {
		if err := set.subject.Execute(&b, vars); err != nil {
			return nil, fmt.Errorf("message: render: %w", err)
		}
		r.Subject = strings.Join(strings.Fields(b.String()), " ")
		b.Reset()
	}
	if err := set.text.Execute(&b, vars); err != nil {
		return nil, fmt.Errorf("message: render: %w", err)
	}
	r.Text = strings.TrimSpace(b.String())
	if ch == ChannelEmail {
		r.Text += "\n"
	}
	b.Reset()
	if set.html != nil {
		if err := set.html.ExecuteTemplate(&b, "layout", vars); err != nil {
			return nil, fmt.Errorf("message: render: %w", err)
		}
		r.HTML = strings.TrimSpace(b.String()) + "\n"
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
