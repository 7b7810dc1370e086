package flow

import "time"

// KindRecovery is document recovery of two-step verification
// (internal/recovery): the owner proves the password, uploads an identity
// document and submits a case that staff review. It never issues a session:
// the flow itself is the only thing the password opened.
const KindRecovery Kind = "recovery"

// StepUpload waits for the documents of a recovery case (uploaded one by
// one beside the flow) and for ActionSubmitDocuments.
const StepUpload Step = "upload"

// ActionSubmitDocuments submits the uploaded documents as a recovery case.
const ActionSubmitDocuments = "submit_documents"

// Recovery is what a recovery flow shows of its case: the document type and
// the uploads so far while it waits at StepUpload, then the reference
// number, status and due time once submitted.
type Recovery struct {
	Reference    string             `json:"reference,omitempty"`
	Status       string             `json:"status"`
	DocumentType string             `json:"document_type,omitempty"`
	NeedsAddress bool               `json:"needs_address"`
	Documents    []RecoveryDocument `json:"documents"`
	DueAt        *time.Time         `json:"due_at,omitempty"`
	DecidedAt    *time.Time         `json:"decided_at,omitempty"`
}

// RecoveryDocument is one uploaded file as its owner sees it: the slot it
// fills, the format found in its content and its size. Never the content.
type RecoveryDocument struct {
	Slot string `json:"slot"`
	Mime string `json:"mime"`
	Size int64  `json:"size"`
}
