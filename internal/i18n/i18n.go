// Package i18n holds the text people read, in Japanese ("ja") and English
// ("en"): a message for every error code of the catalogue (key
// "error.<code>") and the strings of the pages ("page.signin.title",
// "button.signin", …), and chooses the language of a request.
//
// The catalogues are JSON objects from key to template, embedded from
// catalog/<locale>.json; adding a file adds a language. A language's keys may
// be split by capability into more files, catalog/<locale>.<part>.json
// ("ja.twostep.json"); a key in two files of one language is an error. A template is plain
// text with named parameters in braces: "残り{attempts_left}回". Templates are
// compiled once, when the package is initialised; rendering is a map lookup
// and a few string appends. A parameter the caller does not pass renders as
// empty text; a brace that does not enclose a parameter name is literal text.
//
// A message with a count has a form for each plural category its language
// tells apart (CLDR cardinal rules): the key itself is the "other" form, and
// "<key>.one" (".zero", ".two", ".few", ".many") the others, where the
// language has them. The count is the message's first parameter, in the order
// of its text, whose value is an integer (or a time.Duration, counted in
// seconds as it is shown). Japanese has no plural forms, so its catalogue has
// only the keys; English has "one": "1 second", not "1 seconds".
//
// Rendered text is not HTML-escaped: html/template does that when a page
// shows it.
//
// All functions are safe for concurrent use.
package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"

	"github.com/ninsho/ninsho/internal/ninsho"
)

// Default is the language of last resort, the one rule for every text a
// person reads (pages, API problems, e-mails, SMS, voice): the first
// supported language of what the person chose, what their browser asks for
// and the realm's default locale (Choose, Negotiate), and Default when none
// of them is one. A text missing from a catalogue is taken from Default's.
// Ninsho is built for Japanese shops, and a realm's default locale, which
// every realm has, decides before this does.
const Default = "ja"

//go:embed catalog/*.json
var catalogFS embed.FS

// std is the bundle of the embedded catalogues.
var std = mustLoad(catalogFS, "catalog")

// Message returns the text of key in locale with params filled in. A locale
// tag such as "ja-JP" is read as its language. When locale has no such key
// the text in Default is used, and when Default has none either, the key
// itself, so that a missing text shows up without breaking the page.
func Message(locale, key string, params map[string]any) string {
	return std.message(locale, key, params)
}

// ErrorMessage returns the text for the error code in locale: the message
// "error.<code>", with the error's params (attempts_left, seconds, until, …).
//
// An error with a "kind" parameter (account_locked: unfamiliar, suspicious,
// codes, codes_stopped) gets the message "error.<code>.<kind>" when the
// catalogue has one, so that each kind says what is true of it; one with a
// "reason" parameter (account_suspended: the suspension's public reason)
// likewise gets "error.<code>.<reason>".
func ErrorMessage(locale string, code ninsho.Code, params map[string]any) string {
	return errorMessage(locale, code, "", params)
}

// FieldErrorMessage returns the text for one refusal of e (e itself or one
// of e.More) in locale: as ErrorMessage, but a refusal about a field gets
// "error.<code>.<field>" when the catalogue has one, so that a list of
// refusals says which field each is about ("Please enter your password."
// rather than "Please fill in this field." for every one). It returns "" for
// a nil e.
func FieldErrorMessage(locale string, e *ninsho.Error) string {
	if e == nil {
		return ""
	}
	return errorMessage(locale, e.Code, e.Field, e.Params)
}

func errorMessage(locale string, code ninsho.Code, field string, params map[string]any) string {
	key := "error." + string(code)
	if kind, ok := params["kind"].(string); ok && kind != "" && std.has(key+"."+kind) {
		key += "." + kind
	} else if reason, ok := params["reason"].(string); ok && reason != "" && std.has(key+"."+reason) {
		// account_suspended: the public reason of the suspension.
		key += "." + reason
	} else if field != "" && std.has(key+"."+field) {
		key += "." + field
	}
	if secs, ok := params["retry_after_s"].(int); ok {
		// People read waits in minutes: "wait about 60 minutes", not 3600 s.
		p := make(map[string]any, len(params)+1)
		for k, v := range params {
			p[k] = v
		}
		p["retry_after_min"] = max(1, (secs+59)/60)
		params = p
	}
	return std.message(locale, key, params)
}

// Supported reports whether locale is exactly the name of a catalogue: "ja"
// or "en". Use Canonical to accept tags such as "ja-JP".
func Supported(locale string) bool {
	_, ok := std.catalogs[locale]
	return ok
}

// Canonical returns the catalogue locale for a language tag ("ja-JP" and
// "JA" give "ja"), or "" when there is no catalogue for its language.
func Canonical(tag string) string { return std.canonical(tag) }

// Locales returns the catalogue locales, sorted.
func Locales() []string { return slices.Clone(std.locales) }

// Negotiate chooses the language of a request, in order of precedence: the
// explicit choice (the ?lang= switch on every page), the language cookie, the
// Accept-Language header (q-values respected), then the realm's default
// locale, and Default when none of them names a supported language.
// It returns a catalogue locale: "ja" or "en".
func Negotiate(explicit, cookie, acceptLanguage, realmDefault string) string {
	return For(Asked(explicit, cookie, acceptLanguage), "", realmDefault)
}

// Asked returns the language a person expressed in one request: the
// explicit choice (?lang=), else the language cookie, else the
// Accept-Language header (q-values respected); "" when none of them names a
// supported language.
func Asked(explicit, cookie, acceptLanguage string) string {
	return std.asked(explicit, cookie, acceptLanguage)
}

// For is the one rule for the language of everything a person reads because
// of a request (pages, API problems, e-mails, SMS, voice): the language the
// person chose (asked: see Asked, or a flow's record of it), else the
// account's saved language (saved: "" when there is no account), else the
// realm's default locale, else Default. Each argument counts only when it
// names a supported language.
func For(asked, saved, realmDefault string) string {
	return Choose(asked, saved, realmDefault)
}

// Choose returns the catalogue locale of the first candidate that names a
// supported language (tags such as "ja-JP" count), and Default when none
// does. The order of the candidates is the caller's: the language of a
// person's messages and pages is chosen by For.
func Choose(candidates ...string) string {
	for _, c := range candidates {
		if l := std.canonical(c); l != "" {
			return l
		}
	}
	return Default
}

// bundle is a set of compiled catalogues.
type bundle struct {
	catalogs map[string]map[string]*template // locale -> key -> template
	locales  []string                        // sorted
	matcher  language.Matcher                // over locales

	// accepted caches matchAccept: browsers send few distinct
	// Accept-Language headers, and matching one costs microseconds.
	accepted     sync.Map // header -> locale or ""
	acceptedSize atomic.Int32
}

// maxAcceptCache bounds the Accept-Language cache; headers beyond it are
// matched every time.
const maxAcceptCache = 1024

// mustLoad reads every <dir>/<locale>.json of fsys. The catalogues are
// embedded, so an unreadable one is a build defect: it panics.
func mustLoad(fsys fs.FS, dir string) *bundle {
	b, err := load(fsys, dir)
	if err != nil {
		panic(err)
	}
	return b
}

func load(fsys fs.FS, dir string) (*bundle, error) {
	files, err := fs.Glob(fsys, path.Join(dir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("i18n: %w", err)
	}
	b := &bundle{catalogs: map[string]map[string]*template{}}
	var tags []language.Tag
	for _, f := range files {
		locale, part, _ := strings.Cut(strings.TrimSuffix(path.Base(f), ".json"), ".")
		tag, err := language.Parse(locale)
		if err != nil || tag.String() != locale {
			return nil, fmt.Errorf("i18n: catalogue %s: %q is not a canonical language tag", f, locale)
		}
		if strings.Trim(part, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
			return nil, fmt.Errorf("i18n: catalogue %s: a part name is lowercase letters, digits and _", f)
		}
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, fmt.Errorf("i18n: %w", err)
		}
		var raw map[string]string
		if err := json.Unmarshal(data, &raw); err != nil {
			return nil, fmt.Errorf("i18n: catalogue %s: %w", f, err)
		}
		c, ok := b.catalogs[locale]
		if !ok {
			c = make(map[string]*template, len(raw))
			b.catalogs[locale] = c
			b.locales = append(b.locales, locale)
		}
		for k, v := range raw {
			if _, dup := c[k]; dup {
				return nil, fmt.Errorf("i18n: catalogue %s: key %q is already in another %s file", f, k, locale)
			}
			c[k] = compile(v)
		}
	}
	if _, ok := b.catalogs[Default]; !ok {
		return nil, fmt.Errorf("i18n: no catalogue for the default locale %q in %s", Default, dir)
	}
	slices.Sort(b.locales)
	for _, l := range b.locales {
		tags = append(tags, language.Make(l))
	}
	b.matcher = language.NewMatcher(tags)
	return b, nil
}

// has reports whether the default catalogue has key.
func (b *bundle) has(key string) bool {
	_, ok := b.catalogs[Default][key]
	return ok
}

func (b *bundle) message(locale, key string, params map[string]any) string {
	l := b.canonical(locale)
	if t, ok := b.catalogs[l][key]; ok {
		return b.plural(l, key, t, params).render(l, params)
	}
	if t, ok := b.catalogs[Default][key]; ok {
		return b.plural(Default, key, t, params).render(Default, params)
	}
	return key
}

// pluralSuffixes are the key suffixes of the plural forms other than
// "other", by form.
var pluralSuffixes = map[plural.Form]string{
	plural.Zero: ".zero", plural.One: ".one", plural.Two: ".two", plural.Few: ".few", plural.Many: ".many",
}

// plural returns the form of the message key (compiled as t) in locale l
// for the count in params: t itself unless the count falls in another
// plural category of l and the catalogue has that form.
func (b *bundle) plural(l, key string, t *template, params map[string]any) *template {
	if t.parts == nil || len(params) == 0 {
		return t
	}
	n, ok := t.count(params)
	if !ok {
		return t
	}
	suffix, ok := pluralSuffixes[PluralForm(l, n)]
	if !ok {
		return t
	}
	if f, ok := b.catalogs[l][key+suffix]; ok {
		return f
	}
	return t
}

// PluralForm returns the CLDR cardinal plural category of the whole number
// n in locale: plural.Other always for Japanese, plural.One for 1 in
// English.
func PluralForm(locale string, n int) plural.Form {
	if n < 0 {
		n = -n
	}
	return plural.Cardinal.MatchPlural(language.Make(locale), n, 0, 0, 0, 0)
}

// PluralForms are the suffixes a catalogue key may end in to be a plural
// form of the key without it.
func PluralForms() []string {
	out := make([]string, 0, len(pluralSuffixes))
	for _, s := range pluralSuffixes {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// maxTagLen bounds the language input parsed per request; real tags and
// headers are far shorter.
const (
	maxTagLen    = 64
	maxAcceptLen = 1024
)

func (b *bundle) canonical(tag string) string {
	if _, ok := b.catalogs[tag]; ok {
		return tag // the common case: "ja" or "en"
	}
	tag = strings.TrimSpace(tag)
	if tag == "" || len(tag) > maxTagLen {
		return ""
	}
	t, err := language.Parse(tag)
	if err != nil {
		return ""
	}
	base, _ := t.Base()
	if _, ok := b.catalogs[base.String()]; ok {
		return base.String()
	}
	return ""
}

func (b *bundle) asked(explicit, cookie, acceptLanguage string) string {
	if l := b.canonical(explicit); l != "" {
		return l
	}
	if l := b.canonical(cookie); l != "" {
		return l
	}
	return b.matchAccept(acceptLanguage)
}

// matchAccept returns the best catalogue locale for an Accept-Language
// header, or "" when none of its languages is supported.
func (b *bundle) matchAccept(header string) string {
	if header == "" || len(header) > maxAcceptLen {
		return ""
	}
	if l, ok := b.accepted.Load(header); ok {
		return l.(string)
	}
	l := b.matchAcceptUncached(header)
	if b.acceptedSize.Load() < maxAcceptCache {
		if _, loaded := b.accepted.LoadOrStore(header, l); !loaded {
			b.acceptedSize.Add(1)
		}
	}
	return l
}

func (b *bundle) matchAcceptUncached(header string) string {
	tags, _, err := language.ParseAcceptLanguage(header)
	if err != nil {
		// One language the parser does not know ("xx;q=1, en;q=0.5")
		// fails the whole header: judge the rest without it.
		tags, _, err = language.ParseAcceptLanguage(knownRanges(header))
	}
	if err != nil || len(tags) == 0 {
		return ""
	}
	_, i, conf := b.matcher.Match(tags...)
	if conf == language.No {
		return ""
	}
	return b.locales[i]
}

// knownRanges returns the Accept-Language header without the language
// ranges whose tag does not parse, keeping the others and their weights.
func knownRanges(header string) string {
	var kept []string
	for r := range strings.SplitSeq(header, ",") {
		tag, _, _ := strings.Cut(r, ";")
		if tag = strings.TrimSpace(tag); tag == "*" {
			kept = append(kept, r)
		} else if _, err := language.Parse(tag); err == nil {
			kept = append(kept, r)
		}
	}
	return strings.Join(kept, ",")
}

// template is a compiled message: literal text and parameter names in turn.
type template struct {
	parts  []part
	static string // the whole text when there are no parameters
	size   int    // bytes of literal text plus room for the parameters
}

type part struct {
	text  string // literal text, when param is ""
	param string
}

// compile splits s at its {name} parameters. A name is one or more ASCII
// letters, digits or underscores; any other brace is literal.
func compile(s string) *template {
	t := &template{}
	lit := 0
	for i := 0; i < len(s); i++ {
		if s[i] != '{' {
			continue
		}
		j := i + 1
		for j < len(s) && isNameByte(s[j]) {
			j++
		}
		if j == i+1 || j >= len(s) || s[j] != '}' {
			continue
		}
		if lit < i {
			t.parts = append(t.parts, part{text: s[lit:i]})
		}
		t.parts = append(t.parts, part{param: s[i+1 : j]})
		lit = j + 1
		i = j
	}
	if len(t.parts) == 0 {
		t.static = s
		return t
	}
	if lit < len(s) {
		t.parts = append(t.parts, part{text: s[lit:]})
	}
	t.size = len(s) + 16*len(t.parts)
	return t
}

func isNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}

// params returns the names of t's parameters in order of appearance.
func (t *template) params() []string {
	var names []string
	for _, p := range t.parts {
		if p.param != "" {
			names = append(names, p.param)
		}
	}
	return names
}

// count returns the value of t's first parameter, in the order of its text,
// that params give as a whole number: the count its plural form follows.
func (t *template) count(params map[string]any) (int, bool) {
	for _, p := range t.parts {
		if p.param == "" {
			continue
		}
		switch v := params[p.param].(type) {
		case int:
			return v, true
		case int32:
			return int(v), true
		case int64:
			return int(v), true
		case uint:
			return int(v), true
		case uint32:
			return int(v), true
		case time.Duration:
			return int((v + time.Second - 1) / time.Second), true
		}
	}
	return 0, false
}

func (t *template) render(locale string, params map[string]any) string {
	if t.parts == nil {
		return t.static
	}
	var sb strings.Builder
	sb.Grow(t.size)
	for _, p := range t.parts {
		if p.param == "" {
			sb.WriteString(p.text)
		} else {
			sb.WriteString(formatValue(locale, params[p.param]))
		}
	}
	return sb.String()
}

// formatValue renders one parameter. Times are written the way each language
// writes them, in the time's own location: convert to the person's time zone
// before passing one.
func formatValue(locale string, v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case time.Time:
		// Times in messages are ends ("locked until …"): round up to the
		// minute, so that the time shown has passed when the lock has.
		if r := v.Truncate(time.Minute); r.Before(v) {
			v = r.Add(time.Minute)
		}
		if locale == "ja" {
			// Japanese readers get Japan time, whatever zone the value has.
			return v.In(jst).Format("2006年1月2日 15:04 (MST)")
		}
		return v.Format("January 2, 2006, 15:04 MST")
	case time.Duration:
		return strconv.FormatInt(int64((v+time.Second-1)/time.Second), 10)
	case fmt.Stringer:
		return v.String()
	}
	return fmt.Sprint(v)
}

// jst is Japan Standard Time (no daylight saving).
var jst = time.FixedZone("JST", 9*60*60)
