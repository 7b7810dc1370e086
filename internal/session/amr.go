package session

import "time"

// Authentication methods, as a session's Methods name them: the
// "Authentication Method Reference" values of RFC 8176 §2, plus Ninsho's own
// values where RFC 8176 has none. They are the one vocabulary of sessions,
// events and GET /api/v1/me; nothing else spells them.
const (
	MethodPassword = "pwd"    // RFC 8176: password
	MethodOTP      = "otp"    // RFC 8176: one-time password (the authenticator app, TOTP)
	MethodSMS      = "sms"    // RFC 8176: a code sent by SMS
	MethodVoice    = "tel"    // RFC 8176: a code read out in a voice call
	MethodHWK      = "hwk"    // RFC 8176: a passkey held by a hardware authenticator
	MethodSWK      = "swk"    // RFC 8176: a passkey held by software (a synced passkey)
	MethodBackup   = "backup" // Ninsho: a single-use backup code
	// MethodEmail is Ninsho's value for a code sent by e-mail. RFC 8176 has
	// none; an e-mail code is never a second factor (NIST SP 800-63B).
	MethodEmail = "email"
)

// CodeMethod returns the method of a verification code sent on channel
// ("email", "sms" or "voice", as code.Channel spells them), or "" for
// another channel.
func CodeMethod(channel string) string {
	switch channel {
	case "email":
		return MethodEmail
	case "sms":
		return MethodSMS
	case "voice":
		return MethodVoice
	}
	return ""
}

// legacyMethods maps the method names sessions were stored with before
// issue 10 to their RFC 8176 values.
var legacyMethods = map[string]string{
	"password":   MethodPassword,
	"email_code": MethodEmail,
	"sms_code":   MethodSMS,
	"voice_code": MethodVoice,
}

// ReadMethods returns stored methods in today's vocabulary: rows written
// before issue 10 say "password", "email_code" and "sms_code". Stores call
// it on every session they read. Values already current pass unchanged.
func ReadMethods(stored []string) []string {
	for i, m := range stored {
		if v, ok := legacyMethods[m]; ok {
			stored[i] = v
		}
	}
	return stored
}

// Recent reports whether the person of s proved who they are within window
// before now: re-authentication is needed for sensitive changes otherwise.
// A window of zero or less is never recent; a time after now (the clocks of
// two instances differ a little) is.
func Recent(s *Session, now time.Time, window time.Duration) bool {
	if s == nil || window <= 0 || s.AuthenticatedAt.IsZero() {
		return false
	}
	return now.Sub(s.AuthenticatedAt) < window
}
