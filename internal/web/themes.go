package web

import (
	"errors"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ninsho/ninsho/internal/theme"
)

// layoutFile is the template file every page is rendered through; it must
// define the "layout" template, and every other page file "content".
const layoutFile = "layout.html"

// maxTemplateBytes bounds one operator page template.
const maxTemplateBytes = 256 << 10

// source is one template file: where it came from (for error messages) and
// its text.
type source struct {
	path string
	text string
}

// pageSet is the parsed templates of one theme, by page name ("signin").
type pageSet map[string]*template.Template

// builtinSources are the embedded templates by file name ("signin.html").
var builtinSources = func() map[string]source {
	entries, err := templateFS.ReadDir("templates")
	if err != nil {
		panic(err)
	}
	out := map[string]source{}
	for _, e := range entries {
		b, err := templateFS.ReadFile("templates/" + e.Name())
		if err != nil {
			panic(err)
		}
		out[e.Name()] = source{path: e.Name(), text: string(b)}
	}
	return out
}()

// builtinPages are the built-in templates parsed once; the embedded files
// are checked by the package's tests, so a failure is a programming error.
var builtinPages = func() pageSet {
	p, err := parsePageSet(nil)
	if err != nil {
		panic(err)
	}
	return p
}()

// PageNames returns the names of the page template files an operator's
// theme may override ("layout.html", "signin.html", …).
func PageNames() []string {
	var names []string
	for name := range builtinSources {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// loadPages parses the built-in templates with the overrides of the theme
// directory dir's pages/ folder. With no such folder (or dir "") it returns
// the shared built-in set. A file that is not a known page, fails to parse,
// lacks its required block or cannot be escaped safely is an error naming
// the file (and line).
func loadPages(dir string) (pageSet, error) {
	if dir == "" {
		return builtinPages, nil
	}
	pagesDir := filepath.Join(dir, theme.PagesDir)
	entries, err := os.ReadDir(pagesDir)
	if errors.Is(err, os.ErrNotExist) {
		return builtinPages, nil
	}
	if err != nil {
		return nil, fmt.Errorf("web: theme: %w", err)
	}
	overrides := map[string]source{}
	for _, e := range entries {
		path := filepath.Join(pagesDir, e.Name())
		if _, ok := builtinSources[e.Name()]; !ok || !e.Type().IsRegular() {
			return nil, fmt.Errorf("web: theme: %s: not a page template; the pages are %s", path, strings.Join(PageNames(), ", "))
		}
		b, err := readBounded(path, maxTemplateBytes)
		if err != nil {
			return nil, fmt.Errorf("web: theme: %w", err)
		}
		overrides[e.Name()] = source{path: path, text: string(b)}
	}
	if len(overrides) == 0 {
		return builtinPages, nil
	}
	return parsePageSet(overrides)
}

// parsePageSet parses every page: the layout file (the built-in one, then
// an override on top, which may redefine any of its templates), cloned once
// per page with the page's file (an override instead of the built-in one).
func parsePageSet(overrides map[string]source) (pageSet, error) {
	funcs := template.FuncMap{"t": translate, "clock": clock}
	base := template.New("layout").Funcs(funcs)
	if _, err := base.New(layoutFile).Parse(builtinSources[layoutFile].text); err != nil {
		return nil, fmt.Errorf("web: template %s: %w", layoutFile, err)
	}
	if o, ok := overrides[layoutFile]; ok {
		if err := parseChecked(base, o, "layout"); err != nil {
			return nil, err
		}
	}
	set := pageSet{}
	for file, src := range builtinSources {
		if file == layoutFile {
			continue
		}
		t, err := base.Clone()
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", file, err)
		}
		if o, ok := overrides[file]; ok {
			src = o
			err = parseChecked(t, o, "content")
		} else if _, err = t.New(file).Parse(src.text); err != nil {
			err = fmt.Errorf("web: template %s: %w", file, err)
		}
		if err != nil {
			return nil, err
		}
		if err := tryEscape(t, src.path); err != nil {
			return nil, err
		}
		set[strings.TrimSuffix(file, ".html")] = t
	}
	return set, nil
}

// parseChecked parses an operator's file into t and checks that it defines
// the block required of it.
func parseChecked(t *template.Template, src source, required string) error {
	// Parsed alone first, so that the check sees only this file's blocks.
	alone, err := template.New(src.path).Funcs(template.FuncMap{"t": translate, "clock": clock}).Parse(src.text)
	if err != nil {
		return fmt.Errorf("web: theme page %w", trimTemplatePrefix(err))
	}
	if alone.Lookup(required) == nil {
		return fmt.Errorf("web: theme page %s: defines no {{define %q}} block, which this page needs", src.path, required)
	}
	if _, err := t.New(src.path).Parse(src.text); err != nil {
		return fmt.Errorf("web: theme page %w", trimTemplatePrefix(err))
	}
	return nil
}

// tryEscape renders the page once with an empty page so that html/template
// escapes it now: a template whose output could not be escaped safely
// (an action inside an unquoted attribute that changes the context, say)
// refuses the start instead of failing a customer's request. Execution
// errors of the empty page (a nil field) are not the template's fault.
func tryEscape(t *template.Template, file string) error {
	p := &page{Locale: "ja", Title: "page.signin.title", Form: map[string]string{}, Brand: &brandView{}}
	err := t.ExecuteTemplate(io.Discard, "layout", p)
	if tErr, ok := errors.AsType[*template.Error](err); ok {
		return fmt.Errorf("web: theme page %s: %w", file, tErr)
	}
	return nil
}

// trimTemplatePrefix turns "template: path:3: …" into "path:3: …".
func trimTemplatePrefix(err error) error {
	msg := strings.TrimPrefix(err.Error(), "template: ")
	return errors.New(msg)
}

// readBounded reads a file of at most max bytes.
func readBounded(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, max)
	}
	return b, nil
}
