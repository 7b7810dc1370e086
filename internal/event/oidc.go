package event

// Events of the OpenID Connect provider (internal/grant, internal/oidc);
// data carries client ids, scopes and counts, never codes or tokens.
const (
	// TypeOIDCAuthorized: a person signed in to a client (data client_id,
	// scopes, acr).
	TypeOIDCAuthorized = "oidc.authorized"
	// TypeOIDCCodeReused: an authorization code was presented again; every
	// token issued from it was revoked (data client_id, revoked).
	TypeOIDCCodeReused = "oidc.code_reused"
	// TypeOIDCRefreshReused: a rotated refresh token was presented again;
	// its family was revoked (data client_id, revoked).
	TypeOIDCRefreshReused = "oidc.refresh_reused"
	// TypeOIDCTokenRevoked: a client revoked a token (data client_id, kind).
	TypeOIDCTokenRevoked = "oidc.token_revoked"
	// TypeOIDCBackchannelLogoutSent: a client's back-channel logout URI
	// accepted the logout token of an ended session (data client_id,
	// attempts).
	TypeOIDCBackchannelLogoutSent = "oidc.backchannel_logout_sent"
	// TypeOIDCBackchannelLogoutFailed: a logout token was given up after
	// its last attempt, or its client no longer has a back-channel logout
	// URI (data client_id, attempts, reason).
	TypeOIDCBackchannelLogoutFailed = "oidc.backchannel_logout_failed"
)
