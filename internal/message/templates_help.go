package message

// Template ids of "help me sign in" requests (internal/help). Each is sent
// only to the contact address or number the request proved, never to an
// account's own, and never carries a name (the person is not signed in).
const (
	// TemplateHelpCode carries the code that proves a help request's
	// contact. E-mail and SMS. Variables: code, name (empty), minutes,
	// host.
	TemplateHelpCode = "help_code"
	// TemplateHelpReceived confirms a help request with its reference
	// number and the time support means to have answered by. E-mail and
	// SMS. Variables: name (empty), ref, due, host.
	TemplateHelpReceived = "help_received"
	// TemplateHelpAnswer carries a staff answer (plain text, at most
	// help.MaxAnswer characters). E-mail and SMS. Variables: name (empty),
	// ref, text, host.
	TemplateHelpAnswer = "help_answer"
)

func init() {
	templateVars[TemplateHelpCode] = []string{"code", "name", "minutes", "host", "base_url"}
	templateVars[TemplateHelpReceived] = []string{"name", "ref", "due", "host", "base_url"}
	templateVars[TemplateHelpAnswer] = []string{"name", "ref", "text", "host", "base_url"}
	checkValues["ref"], checkValues["due"], checkValues["text"] = "H-7KP4-MX3C", "2026-01-03 00:00 UTC", "T"
}
