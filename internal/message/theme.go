package message

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	htmltemplate "html/template"
	texttemplate "text/template"
)

// ThemeMessagesDir is the directory of a theme that holds message templates:
// <theme>/messages/<ja|en>/<file>, with the file names of the built-in
// templates.
const ThemeMessagesDir = "messages"

// LoadTheme returns the templates of a realm whose operator theme is the
// directory dir: the built-in templates, with each file of
// dir/messages/ja/ and dir/messages/en/ in place of the built-in file of the
// same name (including _layout.html and _partials.txt). It returns nil and
// no error when dir has no messages directory: the realm uses the built-in
// templates. Names starting with "." are ignored. Any other file or
// directory that does not name a built-in template file, a file that does
// not parse, an e-mail HTML file that does not define "content", a layout
// that does not define "layout", and a template that fails its trial
// rendering (see ParseTemplates) is an error naming the operator's file and,
// where the problem has one, its line.
func LoadTheme(dir string) (*Templates, error) {
	root := filepath.Join(dir, ThemeMessagesDir)
	entries, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("message: theme: %w", err)
	}
	base := builtin()
	files, err := readLocales(base, func(loc, name string) string { return loc + "/" + name })
	if err != nil {
		return nil, err
	}
	overridden := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		loc := e.Name()
		if !e.IsDir() || (loc != LocaleJA && loc != LocaleEN) {
			return nil, fmt.Errorf("message: theme: %s: unknown file; %s holds only the directories ja and en", filepath.Join(root, loc), root)
		}
		locEntries, err := os.ReadDir(filepath.Join(root, loc))
		if err != nil {
			return nil, fmt.Errorf("message: theme: %w", err)
		}
		sort.Slice(locEntries, func(i, j int) bool { return locEntries[i].Name() < locEntries[j].Name() })
		for _, f := range locEntries {
			name := f.Name()
			if strings.HasPrefix(name, ".") {
				continue
			}
			path := filepath.Join(root, loc, name)
			i := fileIndex(files[loc], name)
			if f.IsDir() || i < 0 {
				return nil, fmt.Errorf("message: theme: %s: unknown file; a theme replaces built-in template files by their names, such as signup_code.email.html", path)
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("message: theme: %w", err)
			}
			if err := sameDefinitions(files[loc][i], path, string(src)); err != nil {
				return nil, fmt.Errorf("message: theme %s: %w", dir, err)
			}
			files[loc][i] = templateFile{name: name, path: path, src: string(src)}
			overridden++
		}
	}
	if overridden == 0 {
		return nil, nil
	}
	t, err := parseFiles(files)
	if err != nil {
		return nil, fmt.Errorf("message: theme %s: %s", dir, strings.TrimPrefix(err.Error(), "message: templates: "))
	}
	return t, nil
}

// sameDefinitions checks that an override of a shared file (_partials.txt,
// _layout.html) defines every template the built-in file defines ("layout",
// "greeting", "footer" …, but not the optional "title" block): the other
// templates use them.
func sameDefinitions(builtin templateFile, path, src string) error {
	if !strings.HasPrefix(builtin.name, "_") {
		return nil
	}
	want, err := definitions(builtin.name, builtin.src)
	if err != nil {
		return err
	}
	have, err := definitions(path, src)
	if err != nil {
		return err
	}
	// "layout" first: without it nothing else matters.
	slices.SortStableFunc(want, func(a, b string) int { return boolInt(b == "layout") - boolInt(a == "layout") })
	for _, name := range want {
		if !slices.Contains(have, name) {
			return fmt.Errorf("%s: does not define %q", path, name)
		}
	}
	return nil
}

// definitions lists the templates that src defines with a body.
func definitions(name, src string) ([]string, error) {
	var names []string
	if strings.HasSuffix(name, ".html") {
		t, err := htmltemplate.New(name).Funcs(templateFuncs).Parse(src)
		if err != nil {
			return nil, err
		}
		for _, d := range t.Templates() {
			if d.Name() != name && d.Name() != "title" && d.Tree != nil {
				names = append(names, d.Name())
			}
		}
	} else {
		t, err := texttemplate.New(name).Funcs(templateFuncs).Parse(src)
		if err != nil {
			return nil, err
		}
		for _, d := range t.Templates() {
			if d.Name() != name && d.Name() != "title" && d.Tree != nil {
				names = append(names, d.Name())
			}
		}
	}
	sort.Strings(names)
	return names, nil
}

func fileIndex(files []templateFile, name string) int {
	for i, f := range files {
		if f.name == name {
			return i
		}
	}
	return -1
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
