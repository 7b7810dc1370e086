package event

// Events of registered OAuth / OpenID Connect clients (internal/oauthclient);
// data client_id and what the client is, never its secret or its hash.
const (
	// TypeOAuthClientCreated: an operator registered a client (data
	// client_id, name, kind, auth_method, first_party).
	TypeOAuthClientCreated = "oauth_client.created"
	// TypeOAuthClientDeleted: an operator deleted a client (data
	// client_id, name).
	TypeOAuthClientDeleted = "oauth_client.deleted"
)
