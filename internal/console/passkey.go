package console

import (
	"encoding/json"
	"net/http"

	"github.com/ninsho/ninsho/internal/httperr"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/staff"
)

// SecurityPath is the page where a signed-in staff member lists, adds and
// removes passkeys.
const SecurityPath = Path + "/security"

// maxCredentialBytes bounds a passkey answer posted by a console page.
const maxCredentialBytes = 16 << 10

// passkeyRoutes serves staff passkeys (docs/console.md, "Passkeys") when
// the staff service has a relying party. Passkeys need JavaScript
// (static/passkey.js, the console part): the begin calls answer JSON, the
// finishing forms post the browser's answer in the field credential.
func (h *Handler) passkeyRoutes(m *http.ServeMux) {
	if h.d.Staff.RelyingParty == nil || h.d.Staff.PasskeyStore == nil {
		return
	}
	m.HandleFunc("GET "+SecurityPath, h.open(h.security))
	m.HandleFunc("POST "+SecurityPath+"/passkeys/begin", h.signedInJSON(h.addPasskeyBegin))
	m.HandleFunc("POST "+SecurityPath+"/passkeys", h.open(h.addPasskey))
	m.HandleFunc("POST "+SecurityPath+"/passkeys/{id}/remove", h.open(h.removePasskey))
	m.HandleFunc("POST "+Path+"/signin/passkey/begin", h.public(h.signinPasskeyBegin))
	m.HandleFunc("POST "+Path+"/signin/passkey", h.public(h.signinPasskey))
}

// site is the relying party of the request: the public host and base URL
// of the realm served on the request's host, as for customer pages.
func (h *Handler) site(r *http.Request) *realm.Realm {
	return h.d.Staff.Site(h.d.Realms.ForHost(r.Host))
}

// publicKey is the JSON answer of the begin calls.
type publicKey struct {
	PublicKey json.RawMessage `json:"public_key"`
}

func writeJSON(w http.ResponseWriter, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(append(b, '\n'))
}

// signedInJSON serves a JSON call behind a console session: refusals are
// problem JSON (401 unauthenticated without a session).
func (h *Handler) signedInJSON(f handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := h.newCall(r)
		p, err := h.d.Staff.Check(r.Context(), token(r))
		if err == nil {
			c.who = p
			err = f(w, r, c)
		}
		if err != nil {
			httperr.WriteProblem(w, r, err, c.locale, httperr.RequestID(r.Context()))
		}
	}
}

// securityView is the security page's data.
type securityView struct {
	Passkeys []staff.Passkey
	CanAdd   bool
	Max      int
}

func (h *Handler) securityPage(r *http.Request, c *call) (*page, error) {
	keys, err := h.d.Staff.Passkeys(r.Context(), c.who.Staff.ID)
	if err != nil {
		return nil, err
	}
	p := h.newPage(r, c, "console.security.title")
	p.Data = securityView{Passkeys: keys, CanAdd: len(keys) < staff.PasskeyLimit, Max: staff.PasskeyLimit}
	return p, nil
}

func (h *Handler) security(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := h.securityPage(r, c)
	if err != nil {
		return err
	}
	switch r.URL.Query().Get("done") {
	case "added":
		p.Notice = "console.passkeys.added"
	case "removed":
		p.Notice = "console.passkeys.removed"
	}
	h.render(w, http.StatusOK, "passkeys", p)
	return nil
}

func (h *Handler) addPasskeyBegin(w http.ResponseWriter, r *http.Request, c *call) error {
	opts, err := h.d.Staff.BeginAddPasskey(r.Context(), h.site(r), c.who)
	if err != nil {
		return err
	}
	writeJSON(w, publicKey{PublicKey: opts})
	return nil
}

// credential is the browser's answer posted in the field credential.
func credential(r *http.Request) ([]byte, error) {
	v := r.PostForm.Get("credential")
	if len(v) > maxCredentialBytes {
		return nil, ninsho.FieldError(ninsho.CodePasskeyFailed, "credential")
	}
	return []byte(v), nil
}

func (h *Handler) addPasskey(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := form(w, r); err != nil {
		return err
	}
	cred, err := credential(r)
	if err == nil {
		_, err = h.d.Staff.FinishAddPasskey(r.Context(), h.site(r), c.req, c.who, r.PostForm.Get("label"), cred)
	}
	if err != nil {
		return h.securityError(w, r, c, err)
	}
	http.Redirect(w, r, SecurityPath+"?done=added", http.StatusSeeOther)
	return nil
}

func (h *Handler) removePasskey(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := form(w, r); err != nil {
		return err
	}
	if err := h.d.Staff.RemovePasskey(r.Context(), c.req, c.who, r.PathValue("id"), r.PostForm.Get("code")); err != nil {
		return h.securityError(w, r, c, err)
	}
	http.Redirect(w, r, SecurityPath+"?done=removed", http.StatusSeeOther)
	return nil
}

// securityError shows the security page again with the refusal.
func (h *Handler) securityError(w http.ResponseWriter, r *http.Request, c *call, refusal error) error {
	p, err := h.securityPage(r, c)
	if err != nil {
		return err
	}
	h.render(w, p.withError(r, refusal), "passkeys", p)
	return nil
}

// codeView is the code page's data: whether to offer a passkey.
type codeView struct {
	Passkey bool
}

// codePage is the page of the second sign-in step: the authenticator code
// and, when the staff member has a passkey for this host, "use a passkey".
func (h *Handler) codePage(r *http.Request, c *call) *page {
	p := h.newPage(r, c, "console.code.title")
	p.Data = codeView{Passkey: h.d.Staff.HasPasskey(r.Context(), h.site(r), token(r))}
	return p
}

func (h *Handler) signinPasskeyBegin(w http.ResponseWriter, r *http.Request, c *call) error {
	opts, err := h.d.Staff.BeginPasskeySignIn(r.Context(), h.site(r), c.req, token(r))
	if err != nil {
		httperr.WriteProblem(w, r, err, c.locale, httperr.RequestID(r.Context()))
		return nil
	}
	writeJSON(w, publicKey{PublicKey: opts})
	return nil
}

func (h *Handler) signinPasskey(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := form(w, r); err != nil {
		return err
	}
	cred, err := credential(r)
	var tok string
	if err == nil {
		tok, _, err = h.d.Staff.PasskeySignIn(r.Context(), h.site(r), c.req, token(r), cred)
	}
	h.secondStepDone(w, r, c, tok, err)
	return nil
}
