package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/theme"
)

// Paths of a realm's brand assets, chosen by the request's host. LogoPath is
// also what messages link to ({base_url}/brand/logo): keep it.
const (
	LogoPath      = "/brand/logo"
	ThemeCSSPath  = "/brand/theme.css"
	CustomCSSPath = "/brand/custom.css"
)

// Bounds of the files read from a theme directory at start.
const (
	maxLogoBytes = 1 << 20
	maxCSSBytes  = 512 << 10
)

// logoCSP is the policy of the logo answer: an SVG opened on its own runs
// no script and loads nothing.
const logoCSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"

// look is how one realm's pages look, prepared once at start.
type look struct {
	pages pageSet
	csp   string // Content-Security-Policy of the realm's pages
	// formSources are the origins of the realm's return_to allow-list,
	// added to form-action (Handler.csp).
	formSources []string
	brand       *brandView
	themeCSS    *asset // the palette from the brand colour
	customCSS   *asset // the theme directory's theme.css, or nil
	logo        *asset // the logo file, or nil (none, or an external URL)
}

// asset is a file served from memory.
type asset struct {
	body  []byte
	ctype string
	etag  string
}

func newAsset(body []byte, ctype string) *asset {
	sum := sha256.Sum256(body)
	return &asset{body: body, ctype: ctype, etag: hex.EncodeToString(sum[:8])}
}

// versioned is path with the asset's version, so that a browser fetches a
// changed file after a restart although it caches for a day.
func (a *asset) versioned(path string) string { return path + "?v=" + a.etag }

// brandView is what the layout shows of the realm's branding.
type brandView struct {
	// Logo is the header logo's src: the served file (versioned), an
	// external URL, or "" for none.
	Logo      string
	ThemeCSS  string // href of the palette stylesheet
	CustomCSS string // href of the operator's stylesheet, or ""

	SupportURL     string
	SupportContact string
	TermsURL       string
	PrivacyURL     string
	PoweredBy      bool
}

// newLook prepares rl's pages, stylesheets, logo and policy; it reads the
// logo and the theme directory and parses its page templates. Any problem
// is an error naming the file.
func newLook(rl *realm.Realm) (*look, error) {
	b := rl.Brand
	ps, err := theme.NewPalettes(b.PrimaryColor)
	if err != nil {
		return nil, err
	}
	lk := &look{
		csp:         ContentSecurityPolicy,
		formSources: rl.ReturnOrigins(),
		themeCSS:    newAsset([]byte(ps.CSS()), "text/css; charset=utf-8"),
		brand: &brandView{
			SupportURL: b.SupportURL, SupportContact: b.SupportContact,
			TermsURL: b.TermsURL, PrivacyURL: b.PrivacyURL, PoweredBy: b.PoweredBy,
		},
	}
	lk.brand.ThemeCSS = lk.themeCSS.versioned(ThemeCSSPath)
	if lk.pages, err = loadPages(rl.ThemeDir); err != nil {
		return nil, err
	}
	if rl.ThemeDir != "" {
		path := filepath.Join(rl.ThemeDir, theme.CustomCSSFile)
		css, err := readBounded(path, maxCSSBytes)
		switch {
		case err == nil:
			lk.customCSS = newAsset(css, "text/css; charset=utf-8")
			lk.brand.CustomCSS = lk.customCSS.versioned(CustomCSSPath)
		case !errors.Is(err, os.ErrNotExist):
			return nil, fmt.Errorf("web: theme: %w", err)
		}
	}
	switch {
	case b.LogoURL != "":
		u, err := url.Parse(b.LogoURL)
		if err != nil || u.Scheme != "https" || u.Host == "" || strings.Trim(u.Host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") != "" {
			return nil, fmt.Errorf("web: logo %q: not an https URL", b.LogoURL)
		}
		lk.brand.Logo = b.LogoURL
		lk.csp = ContentSecurityPolicy + "; img-src 'self' https://" + u.Host
	case b.LogoFile != "":
		body, err := readBounded(b.LogoFile, maxLogoBytes)
		if err != nil {
			return nil, fmt.Errorf("web: logo: %w", err)
		}
		ctype, err := logoType(b.LogoFile, body)
		if err != nil {
			return nil, err
		}
		lk.logo = newAsset(body, ctype)
		lk.brand.Logo = lk.logo.versioned(LogoPath)
	}
	return lk, nil
}

// logoType returns the Content-Type of a logo: SVG by its name and content,
// PNG, JPEG, GIF and WebP by their content.
func logoType(path string, body []byte) (string, error) {
	if strings.EqualFold(filepath.Ext(path), ".svg") {
		if bytes.Contains(body, []byte("<svg")) {
			return "image/svg+xml", nil
		}
	} else {
		switch ct := http.DetectContentType(body); ct {
		case "image/png", "image/jpeg", "image/gif", "image/webp":
			return ct, nil
		}
	}
	return "", fmt.Errorf("web: logo %s: not an SVG, PNG, JPEG, GIF or WebP image", path)
}

// lookFor returns the look of rl (the built-in one for nil or an unknown
// realm).
func (h *Handler) lookFor(rl *realm.Realm) *look {
	if rl == nil {
		return h.plain
	}
	var prev *look
	if v, ok := h.looks.Load(rl.ID); ok {
		if rk := v.(*realmLook); rk.rl == rl {
			return rk.lk
		} else {
			prev = rk.lk
		}
	}
	// The realm was changed or created at run time (a new *realm.Realm in
	// the registry's snapshot): its colours, footer and return_to origins
	// are built again. The theme and a logo file are read at start only
	// (realmset.Fixed), so this reads the same files New read; should it
	// fail, the realm keeps its previous look (or the built-in one).
	lk, err := newLook(rl)
	if err != nil {
		if prev != nil {
			return prev
		}
		return h.plain
	}
	h.looks.Store(rl.ID, &realmLook{rl: rl, lk: lk})
	return lk
}

// realmLook is the look built for one *realm.Realm.
type realmLook struct {
	rl *realm.Realm
	lk *look
}

func (h *Handler) themeCSS(w http.ResponseWriter, r *http.Request) {
	h.serveAsset(w, r, h.lookFor(h.d.Realms.ForHost(r.Host)).themeCSS)
}

func (h *Handler) customCSS(w http.ResponseWriter, r *http.Request) {
	h.serveAsset(w, r, h.lookFor(h.d.Realms.ForHost(r.Host)).customCSS)
}

func (h *Handler) logo(w http.ResponseWriter, r *http.Request) {
	a := h.lookFor(h.d.Realms.ForHost(r.Host)).logo
	if a != nil {
		w.Header().Set("Content-Security-Policy", logoCSP)
	}
	h.serveAsset(w, r, a)
}

// serveAsset answers a brand file from memory, cached for a day and
// revalidated by its ETag; nil is not found.
func (h *Handler) serveAsset(w http.ResponseWriter, r *http.Request, a *asset) {
	if a == nil {
		h.WriteError(w, r, ninsho.E(ninsho.CodeNotFound))
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", a.ctype)
	hd.Set("Cache-Control", "public, max-age=86400")
	hd.Set("ETag", `"`+a.etag+`"`)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}
