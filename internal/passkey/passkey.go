// Package passkey is the WebAuthn relying party of Ninsho: it turns the
// browser's PublicKeyCredential JSON into verified facts and back, through
// github.com/go-webauthn/webauthn. It is an adapter (the library reaches
// net/http): the rules — which passkeys an account has, how long a ceremony
// lives, what a sign count going backwards means — are in twostep.Service,
// which uses it through the twostep.RelyingParty port.
//
// The relying party of a realm is its public host (RP ID) and its base URL
// (origin); a realm served as localhost also accepts the
// http://localhost origin on the base URL's port, which browsers treat as
// secure for development.
package passkey

import (
	"encoding/json"
	"errors"
	"net/netip"
	"net/url"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/twostep"
)

// RelyingParty implements twostep.RelyingParty. The zero value is ready.
type RelyingParty struct{}

var _ twostep.RelyingParty = RelyingParty{}

// Origins returns the origins a passkey ceremony of rl may come from.
func Origins(rl *realm.Realm) []string {
	base := strings.TrimRight(rl.BaseURL, "/")
	if base == "" {
		base = "https://" + rl.PublicHost
	}
	out := []string{base}
	if u, err := url.Parse(base); err == nil && rl.PublicHost == "localhost" && u.Hostname() != "localhost" {
		host := "localhost"
		if p := u.Port(); p != "" {
			host += ":" + p
		}
		out = append(out, u.Scheme+"://"+host)
	}
	return out
}

func (RelyingParty) relyingParty(rl *realm.Realm) (*webauthn.WebAuthn, error) {
	if _, err := netip.ParseAddr(strings.Trim(rl.PublicHost, "[]")); err == nil {
		// WebAuthn names a relying party by a domain, never an address.
		return nil, ninsho.E(ninsho.CodePasskeyUnavailable)
	}
	name := rl.Name
	if name == "" {
		name = rl.PublicHost
	}
	w, err := webauthn.New(&webauthn.Config{
		RPID: rl.PublicHost, RPDisplayName: name, RPOrigins: Origins(rl),
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementRequired, RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification: protocol.VerificationPreferred,
		},
		AttestationPreference: protocol.PreferNoAttestation,
	})
	if err != nil {
		return nil, ninsho.Internal("passkey: relying party of realm %s", rl.ID).Wrap(err)
	}
	return w, nil
}

// user is an account as go-webauthn sees it.
type user struct {
	handle []byte
	name   string
	creds  []webauthn.Credential
}

func (u *user) WebAuthnID() []byte                         { return u.handle }
func (u *user) WebAuthnName() string                       { return u.name }
func (u *user) WebAuthnDisplayName() string                { return u.name }
func (u *user) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// toUser opens the stored credential data of p (JSON of webauthn.Credential)
// with the sign count the store keeps.
func toUser(p *twostep.PasskeyUser) (*user, error) {
	u := &user{handle: p.Handle, name: p.Name}
	for _, c := range p.Credentials {
		var wc webauthn.Credential
		if err := json.Unmarshal(c.Data, &wc); err != nil {
			return nil, ninsho.Internal("passkey: stored credential").Wrap(err)
		}
		wc.Authenticator.SignCount = c.SignCount
		u.creds = append(u.creds, wc)
	}
	return u, nil
}

// refused is the catalogue error for an answer that does not verify; the
// library's reason is kept as the cause (for logs, never shown).
func refused(err error) error {
	return ninsho.FieldError(ninsho.CodePasskeyFailed, "credential").Wrap(err)
}

// BeginRegistration implements twostep.RelyingParty.
func (r RelyingParty) BeginRegistration(rl *realm.Realm, p *twostep.PasskeyUser, residentKey bool) (options, session []byte, err error) {
	w, err := r.relyingParty(rl)
	if err != nil {
		return nil, nil, err
	}
	u, err := toUser(p)
	if err != nil {
		return nil, nil, err
	}
	rk := protocol.ResidentKeyRequirementPreferred
	if residentKey {
		rk = protocol.ResidentKeyRequirementRequired
	}
	creation, sd, err := w.BeginRegistration(u,
		webauthn.WithResidentKeyRequirement(rk),
		webauthn.WithExclusions(webauthn.Credentials(u.creds).CredentialDescriptors()),
		webauthn.WithExtensions(webauthn.WithExtensionCredProps()))
	if err != nil {
		return nil, nil, ninsho.Internal("passkey: begin registration").Wrap(err)
	}
	return marshal(creation.Response, sd)
}

// resume is what finishing a ceremony needs: the realm's relying party,
// the account as go-webauthn sees it, and the ceremony's server half.
func (r RelyingParty) resume(rl *realm.Realm, p *twostep.PasskeyUser, session []byte) (*webauthn.WebAuthn, *user, webauthn.SessionData, error) {
	var sd webauthn.SessionData
	w, err := r.relyingParty(rl)
	if err != nil {
		return nil, nil, sd, err
	}
	u, err := toUser(p)
	if err != nil {
		return nil, nil, sd, err
	}
	if err := json.Unmarshal(session, &sd); err != nil {
		return nil, nil, sd, ninsho.Internal("passkey: session data").Wrap(err)
	}
	return w, u, sd, nil
}

// FinishRegistration implements twostep.RelyingParty.
func (r RelyingParty) FinishRegistration(rl *realm.Realm, p *twostep.PasskeyUser, session, response []byte) (*twostep.Registered, error) {
	w, u, sd, err := r.resume(rl, p, session)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return nil, refused(err)
	}
	c, err := w.CreateCredential(u, sd, parsed)
	if err != nil {
		return nil, refused(err)
	}
	data, err := json.Marshal(c)
	if err != nil {
		return nil, ninsho.Internal("passkey: credential").Wrap(err)
	}
	return &twostep.Registered{
		ID: c.ID, Data: data, SignCount: c.Authenticator.SignCount,
		BackupEligible: c.Flags.BackupEligible, Platform: c.Authenticator.Attachment == protocol.Platform,
	}, nil
}

// BeginLogin implements twostep.RelyingParty.
func (r RelyingParty) BeginLogin(rl *realm.Realm, p *twostep.PasskeyUser) (options, session []byte, err error) {
	w, err := r.relyingParty(rl)
	if err != nil {
		return nil, nil, err
	}
	var (
		assertion *protocol.CredentialAssertion
		sd        *webauthn.SessionData
	)
	if p == nil {
		assertion, sd, err = w.BeginDiscoverableLogin()
	} else {
		u, uerr := toUser(p)
		if uerr != nil {
			return nil, nil, uerr
		}
		assertion, sd, err = w.BeginLogin(u)
	}
	if err != nil {
		return nil, nil, ninsho.Internal("passkey: begin login").Wrap(err)
	}
	return marshal(assertion.Response, sd)
}

// AssertedID implements twostep.RelyingParty.
func (RelyingParty) AssertedID(response []byte) (id, userHandle []byte, err error) {
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return nil, nil, refused(err)
	}
	return parsed.RawID, parsed.Response.UserHandle, nil
}

// FinishLogin implements twostep.RelyingParty.
func (r RelyingParty) FinishLogin(rl *realm.Realm, p *twostep.PasskeyUser, discoverable bool, session, response []byte) (*twostep.Asserted, error) {
	w, u, sd, err := r.resume(rl, p, session)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return nil, refused(err)
	}
	var c *webauthn.Credential
	if discoverable {
		c, err = w.ValidateDiscoverableLogin(func(_, _ []byte) (webauthn.User, error) { return u, nil }, sd, parsed)
	} else {
		c, err = w.ValidateLogin(u, sd, parsed)
	}
	var unknown *protocol.ErrorUnknownCredential
	switch {
	case errors.As(err, &unknown):
		return nil, ninsho.FieldError(ninsho.CodePasskeyUnknown, "credential").Wrap(err)
	case err != nil:
		return nil, refused(err)
	}
	return &twostep.Asserted{
		ID: c.ID, SignCount: c.Authenticator.SignCount, CloneWarning: c.Authenticator.CloneWarning,
		BackupEligible: c.Flags.BackupEligible,
	}, nil
}

func marshal(options any, sd *webauthn.SessionData) ([]byte, []byte, error) {
	o, err := json.Marshal(options)
	if err != nil {
		return nil, nil, ninsho.Internal("passkey: options").Wrap(err)
	}
	s, err := json.Marshal(sd)
	if err != nil {
		return nil, nil, ninsho.Internal("passkey: session data").Wrap(err)
	}
	return o, s, nil
}
