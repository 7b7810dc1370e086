package oauthclient

import (
	"bytes"
	"crypto/rsa"
	"encoding/json"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-jose/go-jose/v4"

	"github.com/ninsho/ninsho/internal/ninsho"
)

// Reasons of a request_invalid refusal of a registration, in its
// "reason" parameter (docs/oidc.md, "Clients").
const (
	ReasonUnknown           = "unknown"              // not one of the values accepted
	ReasonControlCharacter  = "control_character"    // a name with a control character
	ReasonAuthMethodForKind = "auth_method_for_kind" // e.g. none for a confidential client
	ReasonJWKSNotUsed       = "jwks_not_used"        // a JWK Set for a method other than private_key_jwt
	ReasonJWKSTooLarge      = "too_large"            // a JWK Set over MaxJWKSBytes
	ReasonNotJWKS           = "not_jwks"             // not a JWK Set, or a key go-jose cannot read
	ReasonPrivateKey        = "private_key"          // a private or symmetric key in the JWK Set
	ReasonNoSigningKey      = "no_signing_key"       // no public key that can verify a signature
	ReasonTooMany           = "too_many"             // more than MaxURIs
	ReasonTooLong           = "too_long"             // a URI over MaxURIBytes
	ReasonInvalidCharacter  = "invalid_character"    // a space, control or non-ASCII character in a URI
	ReasonNotAbsolute       = "not_absolute"         // not an absolute URI
	ReasonSchemeCase        = "scheme_not_lowercase" // HTTPS://…: exact matching needs one spelling
	ReasonFragment          = "fragment"             // a URI with a fragment (#)
	ReasonUserinfo          = "userinfo"             // a URI with user:password@
	ReasonHostRequired      = "host_required"        // https:// without a host
	ReasonHTTPSRequired     = "https_required"       // a scheme the client's kind may not use
	ReasonPrivateUseScheme  = "private_use_scheme"   // a private-use scheme not in reverse-domain form, or not scheme:/path
	ReasonDuplicate         = "duplicate"            // the same URI twice in one list
	ReasonNotRedirectOrigin = "not_redirect_origin"  // a front-channel logout URI whose origin no redirect URI has
)

// Fields of a registration, as refusals name them.
const (
	FieldRealm                  = "realm"
	FieldName                   = "name"
	FieldKind                   = "kind"
	FieldAuthMethod             = "auth_method"
	FieldJWKS                   = "jwks"
	FieldRedirectURIs           = "redirect_uris"
	FieldPostLogoutRedirectURIs = "post_logout_redirect_uris"
	FieldBackchannelLogoutURI   = "backchannel_logout_uri"
	FieldFrontchannelLogoutURI  = "frontchannel_logout_uri"
	FieldWithoutTwoStep         = "without_two_step"
)

// signingAlgs are the JWS algorithms a client's key may name ("" names
// none).
var signingAlgs = map[string]bool{
	"": true, "RS256": true, "RS384": true, "RS512": true, "PS256": true, "PS384": true, "PS512": true,
	"ES256": true, "ES384": true, "ES512": true, "EdDSA": true,
}

// minRSABits is the smallest RSA key that counts as a signing key.
const minRSABits = 2048

// Validate checks a registration and returns the client it makes, without
// id, secret or creation time, or every refusal at once (ninsho.Fields).
func Validate(n New) (*Client, error) {
	c := &Client{
		Realm: n.Realm, Name: strings.TrimSpace(n.Name), Kind: n.Kind, AuthMethod: n.AuthMethod,
		RedirectURIs: n.RedirectURIs, PostLogoutRedirectURIs: n.PostLogoutRedirectURIs, FirstParty: n.FirstParty,
		BackchannelLogoutURI: n.BackchannelLogoutURI, FrontchannelLogoutURI: n.FrontchannelLogoutURI,
		WithoutTwoStep: n.WithoutTwoStep,
	}
	if c.RedirectURIs == nil {
		c.RedirectURIs = []string{}
	}
	if c.PostLogoutRedirectURIs == nil {
		c.PostLogoutRedirectURIs = []string{}
	}
	if c.WithoutTwoStep == "" {
		c.WithoutTwoStep = Enrol
	}
	var errs []error
	add := func(err error) { errs = append(errs, err) }
	if c.Realm == "" {
		add(ninsho.FieldError(ninsho.CodeFieldRequired, FieldRealm))
	}
	switch {
	case c.Name == "":
		add(ninsho.FieldError(ninsho.CodeFieldRequired, FieldName))
	case utf8.RuneCountInString(c.Name) > MaxName:
		add(ninsho.FieldError(ninsho.CodeFieldTooLong, FieldName).WithParam("max", MaxName))
	case !utf8.ValidString(c.Name) || strings.IndexFunc(c.Name, unicode.IsControl) >= 0:
		add(invalid(FieldName, ReasonControlCharacter))
	}
	kindOK := true
	switch c.Kind {
	case Confidential, Public:
	case "":
		kindOK = false
		add(ninsho.FieldError(ninsho.CodeFieldRequired, FieldKind))
	default:
		kindOK = false
		add(invalid(FieldKind, ReasonUnknown))
	}
	if c.AuthMethod == "" && kindOK {
		c.AuthMethod = AuthSecretBasic
		if c.Kind == Public {
			c.AuthMethod = AuthNone
		}
	}
	switch c.AuthMethod {
	case AuthSecretBasic, AuthSecretPost, AuthPrivateKeyJWT:
		if c.Kind == Public {
			add(invalid(FieldAuthMethod, ReasonAuthMethodForKind))
		}
	case AuthNone:
		if c.Kind == Confidential {
			add(invalid(FieldAuthMethod, ReasonAuthMethodForKind))
		}
	case "": // no kind either, refused above
	default:
		add(invalid(FieldAuthMethod, ReasonUnknown))
	}
	switch {
	case c.AuthMethod == AuthPrivateKeyJWT && len(n.JWKS) == 0:
		add(ninsho.FieldError(ninsho.CodeFieldRequired, FieldJWKS))
	case c.AuthMethod == AuthPrivateKeyJWT:
		jwks, err := publicJWKS(n.JWKS)
		if err != nil {
			add(err)
		}
		c.JWKS = jwks
	case len(n.JWKS) > 0:
		add(invalid(FieldJWKS, ReasonJWKSNotUsed))
	}
	errs = append(errs, uriList(FieldRedirectURIs, c.RedirectURIs, true, c.Kind)...)
	errs = append(errs, uriList(FieldPostLogoutRedirectURIs, c.PostLogoutRedirectURIs, false, c.Kind)...)
	if c.BackchannelLogoutURI != "" {
		if _, err := checkURI(FieldBackchannelLogoutURI, c.BackchannelLogoutURI, false); err != nil {
			add(err)
		}
	}
	if c.FrontchannelLogoutURI != "" {
		u, err := checkURI(FieldFrontchannelLogoutURI, c.FrontchannelLogoutURI, false)
		switch {
		case err != nil:
			add(err)
		case !sameOriginAsOne(u, c.RedirectURIs):
			add(invalidURI(FieldFrontchannelLogoutURI, ReasonNotRedirectOrigin, c.FrontchannelLogoutURI))
		}
	}
	switch c.WithoutTwoStep {
	case Enrol, Refuse:
	default:
		add(invalid(FieldWithoutTwoStep, ReasonUnknown))
	}
	if err := ninsho.Fields(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

func invalid(field, reason string) *ninsho.Error {
	return ninsho.FieldError(ninsho.CodeRequestInvalid, field).WithParam("reason", reason)
}

// invalidURI is a refusal of one URI, which it names (cut to 100
// characters).
func invalidURI(field, reason, uri string) *ninsho.Error {
	if r := []rune(uri); len(r) > 100 {
		uri = string(r[:100]) + "…"
	}
	return invalid(field, reason).WithParam("value", uri)
}

// uriList checks a list of redirect or post-logout URIs: at most MaxURIs,
// at least one when required, each valid for the kind and none twice.
func uriList(field string, uris []string, required bool, kind string) []error {
	if len(uris) == 0 && required {
		return []error{ninsho.FieldError(ninsho.CodeFieldRequired, field)}
	}
	if len(uris) > MaxURIs {
		return []error{invalid(field, ReasonTooMany).WithParam("max", MaxURIs)}
	}
	var errs []error
	seen := map[string]bool{}
	for _, raw := range uris {
		if seen[raw] {
			errs = append(errs, invalidURI(field, ReasonDuplicate, raw))
			continue
		}
		seen[raw] = true
		if _, err := checkURI(field, raw, kind == Public); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// checkURI checks one URI: absolute, ASCII without spaces or controls, no
// fragment or userinfo, a lowercase scheme, at most MaxURIBytes; https
// with a host, or http to a loopback host (127.0.0.1, [::1], localhost;
// any port) when public or for a logout URI; a private-use scheme in
// reverse-domain form (scheme:/path) only when public and not for a
// logout URI.
func checkURI(field, raw string, public bool) (*url.URL, *ninsho.Error) {
	if len(raw) > MaxURIBytes {
		return nil, invalidURI(field, ReasonTooLong, raw).WithParam("max", MaxURIBytes)
	}
	for i := 0; i < len(raw); i++ {
		if b := raw[i]; b <= ' ' || b >= 0x7f {
			return nil, invalidURI(field, ReasonInvalidCharacter, raw)
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return nil, invalidURI(field, ReasonNotAbsolute, raw)
	}
	if raw[:len(u.Scheme)] != u.Scheme { // url.Parse lowercases the scheme
		return nil, invalidURI(field, ReasonSchemeCase, raw)
	}
	if strings.Contains(raw, "#") {
		return nil, invalidURI(field, ReasonFragment, raw)
	}
	if u.User != nil {
		return nil, invalidURI(field, ReasonUserinfo, raw)
	}
	logout := field == FieldBackchannelLogoutURI || field == FieldFrontchannelLogoutURI
	switch u.Scheme {
	case "https":
		if u.Host == "" || u.Hostname() == "" {
			return nil, invalidURI(field, ReasonHostRequired, raw)
		}
		return u, nil
	case "http":
		if (public || logout) && isLoopback(u.Hostname()) {
			return u, nil
		}
		return nil, invalidURI(field, ReasonHTTPSRequired, raw)
	}
	if !public || logout {
		return nil, invalidURI(field, ReasonHTTPSRequired, raw)
	}
	rest := raw[len(u.Scheme)+1:]
	if !reverseDomain(u.Scheme) || u.Opaque != "" || u.Host != "" || !strings.HasPrefix(rest, "/") || strings.HasPrefix(rest, "//") {
		return nil, invalidURI(field, ReasonPrivateUseScheme, raw)
	}
	return u, nil
}

// isLoopback reports whether host is a loopback host an http redirect
// may go to.
func isLoopback(host string) bool {
	return host == "127.0.0.1" || host == "::1" || host == "localhost"
}

// reverseDomain reports whether scheme is a domain name in reverse order
// (RFC 8252 §7.1): two or more dot-separated lowercase labels of letters,
// digits and inner hyphens, the first (a top-level domain) of letters only.
func reverseDomain(scheme string) bool {
	labels := strings.Split(scheme, ".")
	if len(labels) < 2 {
		return false
	}
	for i, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for j := 0; j < len(l); j++ {
			b := l[j]
			letter := b >= 'a' && b <= 'z'
			if !letter && (i == 0 || !(b >= '0' && b <= '9' || b == '-')) {
				return false
			}
		}
	}
	return true
}

// sameOriginAsOne reports whether u has the scheme, host and port of one
// of the redirect URIs (OpenID Connect Front-Channel Logout 1.0 §2).
func sameOriginAsOne(u *url.URL, redirects []string) bool {
	for _, r := range redirects {
		ru, err := url.Parse(r)
		if err == nil && ru.Scheme == u.Scheme && ru.Host != "" && strings.EqualFold(ru.Host, u.Host) {
			return true
		}
	}
	return false
}

// privateMembers are the JWK members of private and symmetric keys (RFC
// 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2).
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// publicKeyTypes are the key types a client's JWK Set may hold.
var publicKeyTypes = map[string]bool{"EC": true, "RSA": true, "OKP": true}

// publicJWKS reads a JWK Set of public keys, at least one of which can
// verify a client's signature, and returns it as go-jose writes it (the
// members it knows, public ones only).
func publicJWKS(raw []byte) ([]byte, *ninsho.Error) {
	if len(raw) > MaxJWKSBytes {
		return nil, invalid(FieldJWKS, ReasonJWKSTooLarge).WithParam("max", MaxJWKSBytes)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&set); err != nil || set.Keys == nil || dec.More() {
		return nil, invalid(FieldJWKS, ReasonNotJWKS)
	}
	out := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(set.Keys))}
	signing := false
	for _, k := range set.Keys {
		var members map[string]json.RawMessage
		if err := json.Unmarshal(k, &members); err != nil {
			return nil, invalid(FieldJWKS, ReasonNotJWKS)
		}
		for _, m := range privateMembers {
			if _, ok := members[m]; ok {
				return nil, invalid(FieldJWKS, ReasonPrivateKey)
			}
		}
		var kty string
		if err := json.Unmarshal(members["kty"], &kty); err != nil || !publicKeyTypes[kty] {
			return nil, invalid(FieldJWKS, ReasonNotJWKS)
		}
		var key jose.JSONWebKey
		if err := key.UnmarshalJSON(k); err != nil {
			return nil, invalid(FieldJWKS, ReasonNotJWKS)
		}
		if !key.IsPublic() {
			return nil, invalid(FieldJWKS, ReasonPrivateKey)
		}
		if key.Valid() && (key.Use == "" || key.Use == "sig") && signingAlgs[key.Algorithm] && bigEnough(key) {
			signing = true
		}
		out.Keys = append(out.Keys, key)
	}
	if !signing {
		return nil, invalid(FieldJWKS, ReasonNoSigningKey)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, invalid(FieldJWKS, ReasonNotJWKS)
	}
	return b, nil
}

// bigEnough reports whether an RSA key has at least minRSABits; other
// keys are.
func bigEnough(k jose.JSONWebKey) bool {
	if pub, ok := k.Key.(*rsa.PublicKey); ok {
		return pub.N.BitLen() >= minRSABits
	}
	return true
}
