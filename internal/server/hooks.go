package server

import (
	"net/http"
	"strings"

	"github.com/ninsho/ninsho/internal/message/providers/hook"
)

// hooksPattern is the route label (and r.Pattern) of every /hooks request.
const hooksPattern = "/hooks/"

// isHooksPath reports whether path is served by hooks: "/hooks" and all
// below it.
func isHooksPath(path string) bool {
	return path == "/hooks" || strings.HasPrefix(path, "/hooks/")
}

// hooks serves the providers' callbacks: "/hooks/<name>/…" goes to the
// handler of the provider name with the path below its name ("/status").
// Every other path under /hooks — an unknown name, "/hooks", "/hooks/<name>"
// without a trailing path, a path that is not in clean form — gets the same
// JSON 404 problem (hook.NotFound) a provider gives for an unknown path of
// its own, and never a redirect, so the answers do not tell which provider
// names are configured. It is served before the ServeMux, whose path
// cleaning and trailing-slash redirects would tell them apart.
type hooks map[string]http.Handler

func (hs hooks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.Pattern = hooksPattern
	rest, ok := strings.CutPrefix(r.URL.Path, "/hooks/")
	if !ok || strings.Contains(r.URL.EscapedPath(), "%2F") || strings.Contains(r.URL.EscapedPath(), "%2f") {
		// An encoded slash is a path not in clean form: "/hooks/gw%2Fstatus"
		// is not the callback of gw.
		hook.NotFound(w, r)
		return
	}
	name, sub, ok := strings.Cut(rest, "/")
	h := hs[name]
	if !ok || name == "" || h == nil {
		hook.NotFound(w, r)
		return
	}
	r2 := r.Clone(r.Context())
	r2.URL.Path, r2.URL.RawPath = "/"+sub, ""
	h.ServeHTTP(w, r2)
}
