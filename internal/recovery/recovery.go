// Package recovery is document recovery of two-step verification (issue
// 13): an owner who lost every second factor proves the password (the
// second factor is not asked), uploads an identity document and submits a
// case; staff decide it within the realm's due time. Approval turns
// two-step verification off, forgets the trusted devices and revokes every
// session; the next sign-in leads through enrolment where the realm
// requires 2SV. The flow (flow.KindRecovery) is the only thing the password
// opens: it issues no session. Documents are sealed with secret.Box bound
// to realm, case and document, and purged 30 days after the decision.
package recovery

import (
	"context"
	"time"

	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// Status is a case's state.
type Status string

// Statuses. A case is a draft while its flow collects the documents, open
// once submitted (at most one open case per account), then approved,
// rejected or cancelled (by its owner) for good. A draft never submitted
// that its owner dropped, or that a new start superseded, is dropped: like
// a draft, staff never see it and it is purged with the drafts.
const (
	StatusDraft     Status = "draft"
	StatusDropped   Status = "dropped"
	StatusOpen      Status = "open"
	StatusApproved  Status = "approved"
	StatusRejected  Status = "rejected"
	StatusCancelled Status = "cancelled"
)

// Unsubmitted reports whether st is a case never sent for review (draft or
// dropped): staff never see one.
func (st Status) Unsubmitted() bool { return st == StatusDraft || st == StatusDropped }

// Case is one recovery request.
type Case struct {
	ID           string
	Realm        string
	AccountID    string
	Reference    string // caseref.KindRecovery, e.g. "R-7KP4-MX3C"
	FlowID       string
	Status       Status
	DocumentType DocumentType // "" until the first upload names it
	CreatedAt    time.Time
	SubmittedAt  *time.Time
	DueAt        *time.Time
	DecidedAt    *time.Time
	DecidedBy    string // the actor who decided or cancelled ("staff:<id>", "account:<id>")
	Reason       string // the decision's written reason
	Instead      string // on rejection: what to send instead
}

// Overdue reports whether c is open past its due time at now.
func (c *Case) Overdue(now time.Time) bool {
	return c.Status == StatusOpen && c.DueAt != nil && !now.Before(*c.DueAt)
}

// Document is one uploaded file of a case. Sealed is its content sealed by
// secret.Box (AdditionalData); it is filled only by DocumentStore.Document.
type Document struct {
	ID        string
	CaseID    string
	Realm     string
	AccountID string
	Slot      Slot
	Mime      string // detected from the content
	Size      int64
	SHA256    []byte // of the plaintext
	Sealed    []byte
	CreatedAt time.Time
}

// AdditionalData binds a sealed document to its realm, case and id: a row
// copied to another case or realm does not open.
func AdditionalData(realm, caseID, docID string) []byte {
	return []byte("recovery-document\x00" + realm + "\x00" + caseID + "\x00" + docID)
}

// Store keeps cases. Methods take part in the transaction carried by ctx.
type Store interface {
	// CreateCase inserts c.
	CreateCase(ctx context.Context, c *Case) error
	// Case returns the realm's case with the reference, or
	// ninsho.CodeNotFound; realm "" matches every realm.
	Case(ctx context.Context, realm, reference string) (*Case, error)
	// OpenCase returns the account's open case, or nil when it has none.
	OpenCase(ctx context.Context, realm, accountID string) (*Case, error)
	// Drafts returns the account's draft cases, the oldest first (ties by
	// id).
	Drafts(ctx context.Context, realm, accountID string) ([]*Case, error)
	// UpdateCase writes c's status, document type, submission, due and
	// decision fields if the stored status is still from; otherwise it
	// fails with ninsho.CodeRecoveryCaseDecided. Opening a second case of
	// an account fails with ninsho.CodeRecoveryCaseOpen.
	UpdateCase(ctx context.Context, c *Case, from Status) error
	// OpenCases returns up to limit open cases of every realm, the
	// earliest due first (ties by id).
	OpenCases(ctx context.Context, limit int) ([]*Case, error)
	// CountDueBefore counts the open cases due at or before t.
	CountDueBefore(ctx context.Context, t time.Time) (int, error)
	// AccountCases returns up to limit cases of the account that are not
	// drafts, newest first (ties by id).
	AccountCases(ctx context.Context, accountID string, limit int) ([]*Case, error)
}

// DocumentStore keeps the documents of cases.
type DocumentStore interface {
	// PutDocument stores d, replacing the case's document in the same
	// slot.
	PutDocument(ctx context.Context, d *Document) error
	// Documents lists the case's documents without their content, by
	// slot.
	Documents(ctx context.Context, caseID string) ([]*Document, error)
	// Document returns the case's document with the id, with its sealed
	// content, or ninsho.CodeNotFound.
	Document(ctx context.Context, caseID, docID string) (*Document, error)
	// DeleteDocuments deletes every document of the case and returns how
	// many it deleted.
	DeleteDocuments(ctx context.Context, caseID string) (int, error)
	// PurgeDocuments deletes up to limit documents of cases decided
	// before t and returns how many it deleted.
	PurgeDocuments(ctx context.Context, decidedBefore time.Time, limit int) (int, error)
	// PurgeDrafts deletes up to limit draft cases created before t, with
	// their documents, and returns how many cases it deleted.
	PurgeDrafts(ctx context.Context, createdBefore time.Time, limit int) (int, error)
}

// DocumentRetention is how long documents are kept after their case was
// decided or cancelled.
const DocumentRetention = 30 * 24 * time.Hour

// FlowLifetime is how long a recovery flow collects documents; a draft
// left longer is purged with its documents.
const FlowLifetime = time.Hour

// Purge batches: one Purge deletes at most PurgeBatch × PurgeBatches rows
// of each kind.
const (
	PurgeBatch   = 100
	PurgeBatches = 10
)

// MaxReason is the most characters a decision's reason (and a rejection's
// "what to send instead") may have.
const MaxReason = 2000

// Events.
const (
	EventStarted   = "recovery.started"
	EventUploaded  = "recovery.document_uploaded"
	EventSubmitted = event.TypeRecoverySubmitted
	EventApproved  = event.TypeRecoveryApproved
	EventRejected  = event.TypeRecoveryRejected
	EventCancelled = event.TypeRecoveryCancelled
	// EventDraftDropped: a draft never submitted was cancelled by its
	// owner or superseded by a new start. It is not in the owner's
	// history (nothing was ever sent for review), unlike EventCancelled.
	EventDraftDropped   = "recovery.draft_dropped"
	EventDocumentOpened = "recovery.document_opened"
)

var errNotFound = ninsho.E(ninsho.CodeNotFound)
