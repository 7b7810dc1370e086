package event

// Events of registered OAuth / OpenID Connect clients (internal/oauthclient);
// data client_id and what the client is, never its secret or its hash.
const (
	// TypeOAuthClientCreated: an operator (actor "operator") or an admin in
	// the console (actor "staff:<id>", data staff) registered a client (data
	// client_id, name, kind, auth_method, first_party).
	TypeOAuthClientCreated = "oauth_client.created"
	// TypeOAuthClientDeleted: an operator or an admin deleted a client (data
	// client_id, name; from the console also staff and the written reason).
	TypeOAuthClientDeleted = "oauth_client.deleted"
)
