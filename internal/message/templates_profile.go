package message

// Template ids of the account's settings (internal/profile).
const (
	// TemplateIdentifierRemoved tells the owner that the account's e-mail
	// address or mobile phone number was removed, with a "this wasn't me"
	// link. E-mail and SMS; sent to the removed address too. Variables:
	// name, time, device, network, link, host, kind ("email" or "phone")
	// and identifier (the removed one, masked); undo "1" (the removed
	// address's alert) when link is the removal's contact undo link, which
	// also puts the address back.
	TemplateIdentifierRemoved = "identifier_removed"
)
