package web

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/twostep"
)

// PasskeysPath is the page where a signed-in person adds passkeys.
const PasskeysPath = "/account/two-step/passkeys"

// passkeyView is what a page shows of passkeys. Passkeys need JavaScript
// (static/passkey.js, served from this origin): the page's elements carry
// data-passkey and stay hidden until the script finds WebAuthn in the
// browser. The script talks to the JSON API (docs/api.md, "Sign in with a
// passkey" and "Passkeys") with the page's cookies.
type passkeyView struct {
	// SignIn offers "sign in with a passkey" and the identifier field's
	// passkey autofill (WebAuthn conditional mediation) on the sign-in page.
	SignIn bool
	// List is the account's passkeys on PasskeysPath; Max how many it may
	// have.
	List []passkeyRow
	Max  int
	// Assert is the request options (JSON) of the second-factor page's
	// passkey ceremony.
	Assert string
	// Offer is the offer to create a passkey after a password sign-in
	// (passkey_offer.go).
	Offer *passkeyOfferView
}

type passkeyRow struct {
	Label    string
	Added    string
	LastUsed string
}

func (h *Handler) routesPasskey() {
	h.mux.Handle("GET "+PasskeysPath, h.handle(h.passkeysPage))
	h.routesPasskeyOffer()
}

// passkeyPage sets p.Passkey for a sign-in page of a realm that lets
// passkeys sign in.
func (h *Handler) passkeyPage(p *page, rl *realm.Realm) {
	if rl != nil && rl.TwoStep.PasskeySignIn && h.d.TwoStep != nil && h.d.TwoStep.Passkeys != nil && p.Title == "page.signin.title" {
		p.Passkey = &passkeyView{SignIn: true}
	}
}

func (h *Handler) passkeysPage(w http.ResponseWriter, r *http.Request, c *call) error {
	pr, err := h.recentlySignedIn(w, r, c)
	if pr == nil || err != nil {
		return err
	}
	if h.d.TwoStep == nil || h.d.TwoStep.Passkeys == nil {
		return ninsho.E(ninsho.CodeNotFound)
	}
	ms, err := h.d.TwoStep.Methods(r.Context(), c.realm, pr.Account)
	if err != nil {
		return err
	}
	p := h.newPage(r, c.realm, c.locale, "page.passkeys.title")
	p.Account = pr.Account
	v := &passkeyView{Max: twostep.PasskeyLimit}
	zone, _ := realmZone(c.realm)
	for _, m := range ms {
		if m.Kind != twostep.MethodPasskey {
			continue
		}
		row := passkeyRow{Label: m.Label, Added: m.CreatedAt.In(zone).Format(time.DateTime)}
		if m.LastUsedAt != nil {
			row.LastUsed = m.LastUsedAt.In(zone).Format(time.DateTime)
		}
		v.List = append(v.List, row)
	}
	p.Passkey = v
	h.render(w, r, http.StatusOK, "passkeys", p)
	return nil
}

// maxCredentialBytes bounds a passkey answer posted by a page.
const maxCredentialBytes = 16 << 10

// postedCredential is the passkey answer a second-factor form posts
// (PublicKeyCredential.toJSON(), as JSON text in the field credential), or
// nil when the form has none.
func postedCredential(r *http.Request) (json.RawMessage, error) {
	v := r.PostForm.Get("credential")
	if v == "" {
		return nil, nil
	}
	if len(v) > maxCredentialBytes || !json.Valid([]byte(v)) {
		return nil, ninsho.FieldError(ninsho.CodePasskeyFailed, "credential")
	}
	return json.RawMessage(v), nil
}

// passkeyAssert lets the second-factor page of ans run the passkey
// ceremony when the method asked for is a passkey.
func passkeyAssert(p *page, ans *flow.Answer) {
	if ans.Next != nil && ans.Next.Method == string(twostep.MethodPasskey) && len(ans.Next.PublicKey) > 0 {
		p.Passkey = &passkeyView{Assert: string(ans.Next.PublicKey)}
	}
}
