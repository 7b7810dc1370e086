package event

// TypeAccountImported: `ninsho import` created the account (actor "cli";
// data line, password — the hash format or "none" —, totp). One per
// account created; a skipped or refused line records nothing.
const TypeAccountImported = "account.imported"
