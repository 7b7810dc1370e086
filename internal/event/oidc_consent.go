package event

// Events of consent to third-party clients (internal/consent); data carries
// the client id and the scopes, never tokens.
const (
	// TypeOIDCConsentGranted: a person allowed a third-party client the
	// scopes it asked for (data client_id, scopes: every scope the client
	// now holds).
	TypeOIDCConsentGranted = "oidc.consent_granted"
	// TypeOIDCConsentRevoked: a person revoked a client's consent on
	// /account or through the API; the client's tokens of that person were
	// revoked too (data client_id, scopes, revoked: how many tokens).
	TypeOIDCConsentRevoked = "oidc.consent_revoked"
)
