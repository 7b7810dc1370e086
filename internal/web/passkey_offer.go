package web

import (
	"context"
	"net/http"
	"slices"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/device"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/session"
	"github.com/ninsho/ninsho/internal/twostep"
	"github.com/ninsho/ninsho/internal/web/webreq"
)

// PasskeyOfferPath is the page that offers, once per device, to create a
// passkey right after a password sign-in; ?return_to= is where the sign-in
// was going (checked against the realm's allow-list like every return_to).
//
// The offer is made when a page sign-in completes with a session made with
// the password and no passkey (methods contain pwd, neither hwk nor swk),
// from a browser whose sign-in page found a platform authenticator
// (PlatformAuthenticatorCookie), in
// a realm that lets passkeys sign in, for an account without a passkey, on
// a stored device that was never offered one: the completing POST records
// the offer on the device row (device.Service.Offer, one compare-and-set),
// so the device is never offered again, whether the person creates a
// passkey, says "not now" (POST PasskeyOfferPath, recorded as declined) or
// closes the tab. The page itself decides nothing more: its heading and
// offer stay hidden and static/passkey.js shows them only when the browser
// has a platform authenticator with user verification
// (PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable);
// otherwise the script, or without JavaScript a <noscript> refresh and link,
// goes on at once to where the sign-in was going.
const PasskeyOfferPath = "/account/passkey-offer"

// PlatformAuthenticatorCookie is the hint that static/passkey.js sets on
// the sign-in page: "1" when the browser has a platform authenticator with
// user verification, "0" when not. Only a sign-in whose browser says "1" is
// sent to the offer, so browsers that cannot make a passkey here (and those
// without JavaScript) go where they were going without a detour, and their
// device is not counted as offered. It is a hint, not a proof: the offer page
// asks the browser again before it shows anything.
const PlatformAuthenticatorCookie = "ninsho_platform_authenticator"

// passkeyOfferView is the offer page's part of passkeyView.
type passkeyOfferView struct {
	// Continue is where the sign-in was going: the checked return_to, or
	// the account page.
	Continue string
	// Label names the passkey the offer creates: the browser and system
	// in words (device.Describe), which the person recognises in the list
	// of passkeys later.
	Label string
}

func (h *Handler) routesPasskeyOffer() {
	h.mux.Handle("GET "+PasskeyOfferPath, h.handle(h.passkeyOfferPage))
	h.mux.Handle("POST "+PasskeyOfferPath, h.handle(h.passkeyOfferDecline))
}

// passkeysOn reports whether pages of rl offer passkeys to sign in with.
func (h *Handler) passkeysOn(rl *realm.Realm) bool {
	return rl != nil && rl.TwoStep.PasskeySignIn && h.d.TwoStep != nil && h.d.TwoStep.Passkeys != nil
}

// passkeyOfferFor returns where a browser goes first after ans, a page flow
// that completed with a session: PasskeyOfferPath when the offer is made
// now (see PasskeyOfferPath; making it records it on the device), else "".
func (h *Handler) passkeyOfferFor(r *http.Request, ans *flow.Answer) (string, error) {
	if ans.Session == nil || ans.Flow == nil || ans.Flow.Kind != flow.KindSignin {
		return "", nil
	}
	rl := h.d.Realms.ByID(ans.Flow.Realm)
	if !h.passkeysOn(rl) {
		return "", nil
	}
	if c, err := r.Cookie(PlatformAuthenticatorCookie); err != nil || c.Value != "1" {
		// No sign that this browser can make a passkey: no offer, no hop.
		return "", nil
	}
	ctx := r.Context()
	// The device first: a device offered before costs one read.
	token := ans.DeviceToken
	if token == "" {
		token = webreq.DeviceToken(r)
	}
	devices := h.d.Signin.Kit.Devices
	d, _, err := devices.Resolve(ctx, rl.ID, token, r.UserAgent())
	if err != nil {
		return "", err
	}
	if !d.Stored || d.PasskeyOffer != device.PasskeyNotOffered {
		return "", nil
	}
	pr, err := h.d.Signin.Authenticate(ctx, rl, ans.Session.Token)
	if err != nil || pr == nil || pr.Session == nil || pr.Account == nil {
		return "", err
	}
	if !passwordOnly(pr.Session.Methods) || pr.Session.DeviceID != d.ID {
		return "", nil
	}
	if has, err := h.hasPasskey(ctx, rl, pr.Account); has || err != nil {
		return "", err
	}
	if ok, err := devices.Offer(ctx, d.ID); !ok || err != nil {
		return "", err
	}
	return withReturnTo(PasskeyOfferPath, checkReturnTo(rl, ans.Flow.ReturnTo)), nil
}

// passwordOnly reports whether a session made with methods was signed in
// with the password and without a passkey.
func passwordOnly(methods []string) bool {
	return slices.Contains(methods, session.MethodPassword) &&
		!slices.Contains(methods, session.MethodHWK) && !slices.Contains(methods, session.MethodSWK)
}

// hasPasskey reports whether a has a passkey in rl. An account with one
// is not offered another (and so is never near twostep.PasskeyLimit).
func (h *Handler) hasPasskey(ctx context.Context, rl *realm.Realm, a *account.Account) (bool, error) {
	ms, err := h.d.TwoStep.Methods(ctx, rl, a)
	if err != nil {
		return false, err
	}
	for _, m := range ms {
		if m.Kind == twostep.MethodPasskey {
			return true, nil
		}
	}
	return false, nil
}

// passkeyContinue is where the offer page goes on to: the checked
// return_to of the request, else the account page.
func passkeyContinue(rl *realm.Realm, raw string) string {
	if u := checkReturnTo(rl, raw); u != "" {
		return u
	}
	return "/account"
}

// passkeyOfferPage shows the offer to a signed-in person. Where passkeys
// are off, or the account has a passkey by now, it goes on at once (303).
func (h *Handler) passkeyOfferPage(w http.ResponseWriter, r *http.Request, c *call) error {
	pr, err := h.signedIn(w, r, c)
	if pr == nil || err != nil {
		return err
	}
	next := passkeyContinue(c.realm, r.URL.Query().Get(returnToParam))
	if !h.passkeysOn(c.realm) {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return nil
	}
	if has, err := h.hasPasskey(r.Context(), c.realm, pr.Account); has || err != nil {
		if err == nil {
			http.Redirect(w, r, next, http.StatusSeeOther)
		}
		return err
	}
	p := h.newPage(r, c.realm, c.locale, "page.passkey_offer.title")
	p.Account = pr.Account
	label, _ := device.Describe(c.locale, r.UserAgent())
	p.Passkey = &passkeyView{Offer: &passkeyOfferView{Continue: next, Label: label}, Max: twostep.PasskeyLimit}
	h.render(w, r, http.StatusOK, "passkey_offer", p)
	return nil
}

// passkeyOfferDecline is "not now": it records the decline on the
// signed-in session's device, which is then never offered a passkey again,
// and goes on (303) to the checked return_to, else the account page.
func (h *Handler) passkeyOfferDecline(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	pr, err := h.signedIn(w, r, c)
	if pr == nil || err != nil {
		return err
	}
	if err := h.d.Signin.Kit.Devices.Decline(r.Context(), pr.Session.DeviceID); err != nil {
		return err
	}
	http.Redirect(w, r, passkeyContinue(c.realm, r.PostForm.Get(returnToParam)), http.StatusSeeOther)
	return nil
}

// HoldHeading reports whether the page's heading stays hidden until its
// script shows it (the passkey offer, which may go on at once instead).
func (p *page) HoldHeading() bool { return p.Passkey != nil && p.Passkey.Offer != nil }
