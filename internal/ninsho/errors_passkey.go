package ninsho

// Catalogue codes of passkeys (WebAuthn), kept apart from errors.go so that
// the engineers of issue 10 do not write into one list.
const (
	// CodePasskeyFailed: the passkey's answer (a registration or an
	// assertion) could not be verified: another challenge, another site,
	// a bad signature, an expired ceremony or a signature counter that went
	// backwards (a possible clone).
	CodePasskeyFailed Code = "passkey_failed"
	// CodePasskeyUnknown: the passkey is not registered in this realm (or
	// no longer), told without saying whether any account exists.
	CodePasskeyUnknown Code = "passkey_unknown"
	// CodePasskeyLimit: the account has the most passkeys it may have.
	CodePasskeyLimit Code = "passkey_limit"
	// CodePasskeyUnavailable: the realm's public host is an IP address,
	// which WebAuthn cannot name as a relying party, so passkeys cannot be
	// made or used there (the operator gives the realm a host name).
	CodePasskeyUnavailable Code = "passkey_unavailable"
)
