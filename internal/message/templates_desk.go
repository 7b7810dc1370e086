package message

// Template ids of the notices customer service's actions send the owner
// (internal/desk).
const (
	// TemplateAccountSuspended tells the owner the account was suspended,
	// why (the public reason), the suspension's reference number and
	// where to send a help request. Variables: name, link (the help
	// request form with the reference and the step "suspended"), host,
	// reference, reason (unusual_activity, payment_problem, terms_of_use,
	// owner_request).
	TemplateAccountSuspended = "account_suspended"
	// TemplateAccountReinstated tells the owner the suspension was lifted.
	// Variables: name, link (the sign-in page), host, reference ("" for
	// a suspension recorded before references existed).
	TemplateAccountReinstated = "account_reinstated"
)
