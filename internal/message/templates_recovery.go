package message

// Template ids of document recovery of two-step verification
// (internal/recovery).
const (
	// TemplateRecoveryOpened confirms a submitted recovery case to every
	// verified channel of the account. Variables: name, time, device,
	// network, link (cancels the case), host, reference, due.
	TemplateRecoveryOpened = "recovery_opened"
	// TemplateRecoveryApproved tells the owner two-step verification was
	// turned off and asks to set it up again. Variables: name, link (the
	// sign-in page), host, reference.
	TemplateRecoveryApproved = "recovery_approved"
	// TemplateRecoveryRejected tells the owner the case was rejected, why
	// and what to send instead. Variables: name, link (the recovery
	// page), host, reference, reason, instead.
	TemplateRecoveryRejected = "recovery_rejected"
)
