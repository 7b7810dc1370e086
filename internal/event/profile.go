package event

// Events of the owner's own settings (internal/profile). A password changed
// in the settings is TypePasswordChanged with via "settings".
const (
	// TypeIdentifierRemoved: the owner removed the account's e-mail
	// address or phone number (data: kind, verified; never the value).
	TypeIdentifierRemoved = "account.identifier_removed"
	// TypeProfileChanged: the owner changed the name or the preferred
	// language (data: the fields changed and, for the language, its new
	// value; never the name).
	TypeProfileChanged = "account.profile_changed"
)

func init() {
	SecurityTypes = append(SecurityTypes, TypeIdentifierRemoved)
}
