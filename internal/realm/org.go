package realm

// Organisations are a realm's settings of organisations
// (realms[].organisations, internal/org).
type Organisations struct {
	// BusinessApproval makes a new business organisation wait for an
	// approval (pending_approval) before it can invite members.
	BusinessApproval bool
	// Approvers are the e-mail addresses the approval link goes to
	// (required with BusinessApproval).
	Approvers []string
}
