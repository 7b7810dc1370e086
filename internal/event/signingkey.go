package event

// Events of the OpenID Connect signing keys (internal/signingkey); data kid
// and alg, never key material.
const (
	// TypeSigningKeyAdded: a new signing key was made for a realm (data also
	// active_from, when it starts signing).
	TypeSigningKeyAdded = "signing_key.added"
	// TypeSigningKeyPurged: a retired key was deleted from the store.
	TypeSigningKeyPurged = "signing_key.purged"
)
