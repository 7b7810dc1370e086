package ninsho

// Catalogue codes of document recovery of two-step verification (issue 13,
// internal/recovery), kept apart from errors.go so that parallel work does
// not write into one list.
const (
	// CodeDocumentUnreadable: an uploaded file is of an accepted format by
	// its first bytes but cannot be read as one (a DOCX that is not a
	// Word document, a damaged or oversized archive).
	CodeDocumentUnreadable Code = "document_unreadable"
	// CodeDocumentsMissing: a recovery case is submitted without the
	// documents its document type needs (field: the missing slot).
	CodeDocumentsMissing Code = "documents_missing"
	// CodeRecoveryNotNeeded: document recovery was asked for an account
	// whose two-step verification is off; it signs in normally.
	CodeRecoveryNotNeeded Code = "recovery_not_needed"
	// CodeRecoveryCaseOpen: the account has an open recovery case
	// already (param reference: its reference number).
	CodeRecoveryCaseOpen Code = "recovery_case_open"
	// CodeRecoveryCaseDecided: the case was decided (or cancelled)
	// already; a decision is not made twice.
	CodeRecoveryCaseDecided Code = "recovery_case_decided"
)
