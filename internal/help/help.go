// Package help is "help me sign in": a request for support from someone who
// cannot sign in, made without an account, and the service staff answer
// such requests with. The person says what they tried (the identifier, the
// step that failed, the reference number an error page or a suspension
// showed) and gives a contact address or number that a code proves; the
// request then gets a reference number (caseref.KindHelp), a due time and a
// confirmation at that contact. When the identifier belongs to an account
// of the realm the request is linked to it, and nothing the person sees
// tells whether it was.
package help

import (
	"context"
	"time"
)

// Step is the step of signing in that failed, as the person chose it.
type Step string

// Steps, the fixed list a request chooses from.
const (
	StepSignIn          Step = "sign_in"
	StepCodeNotReceived Step = "code_not_received"
	StepTwoStep         Step = "two_step"
	StepLocked          Step = "locked"
	StepSuspended       Step = "suspended"
	StepClosed          Step = "closed"
	StepOther           Step = "other"
)

// Steps lists every Step in the order pages offer them.
var Steps = []Step{StepSignIn, StepCodeNotReceived, StepTwoStep, StepLocked, StepSuspended, StepClosed, StepOther}

// Valid reports whether s is one of Steps.
func (s Step) Valid() bool {
	for _, v := range Steps {
		if v == s {
			return true
		}
	}
	return false
}

// Status of a request.
type Status string

// Statuses.
const (
	StatusOpen   Status = "open"
	StatusClosed Status = "closed"
)

// Bounds of the input.
const (
	MaxDescription = 2000 // characters of a request's description
	MaxAnswer      = 2000 // characters of a staff answer
	MaxSMSAnswer   = 300  // … sent by SMS (at most five segments)
	MaxReason      = 500  // characters of a closing reason
	MaxIdentifier  = 320  // bytes of the identifier tried
	MaxRef         = 64   // bytes of a reference number quoted
)

// Request is one help request, as staff see it.
type Request struct {
	Ref   string // "H-7KP4-MX3C"
	Realm string
	// AccountID is the account of the realm whose identifier was typed, or
	// "" when none matched (or none was typed). Staff only.
	AccountID string
	// Identifier is the identifier tried: normalised when it parses,
	// otherwise as typed (trimmed), or "".
	Identifier string
	Step       Step
	// QuotedRef is the reference number the person quoted (an error
	// page's request id, a suspension's S-…), or "".
	QuotedRef   string
	Description string // plain text, never rendered as HTML
	Locale      string // the language of the person's messages
	// Channel ("email" or "sms") and Contact (normalised) are where the
	// person proved they can be reached, and where answers go.
	Channel   string
	Contact   string
	Status    Status
	CreatedAt time.Time
	DueAt     time.Time
	ClosedAt  *time.Time
	// ClosedBy and CloseReason say who closed the request and why.
	ClosedBy    string
	CloseReason string
	// Answers are the staff answers sent, oldest first (filled by
	// Service.Request and Store.HelpRequest).
	Answers []Answer
}

// QueueFilter selects open requests for the queue.
type QueueFilter struct {
	// Values, when not empty, keep the requests whose reference number,
	// contact or identifier tried is one of them (exactly).
	Values []string
	// Linked keeps only the requests linked to an account.
	Linked bool
	// Offset and Limit choose the page (Limit at least 1).
	Offset, Limit int
}

// Answer is one staff answer sent to the request's contact.
type Answer struct {
	ID        string
	Ref       string
	Actor     string // "staff:<id>"
	Text      string
	Channel   string
	MessageID string // the outbox message that carried it
	CreatedAt time.Time
}

// Store keeps help requests. Methods take part in the transaction carried
// by ctx.
type Store interface {
	// CreateHelpRequest inserts r (without answers). A reference number
	// already taken is ninsho.CodeConflict.
	CreateHelpRequest(ctx context.Context, r *Request) error
	// HelpRequest returns the request with the reference number and its
	// answers, or ninsho.CodeNotFound.
	HelpRequest(ctx context.Context, ref string) (*Request, error)
	// HelpQueue returns the open requests of every realm that match f, the
	// earliest due first, from f.Offset at most f.Limit of them (without
	// answers), and how many match in all.
	HelpQueue(ctx context.Context, f QueueFilter) ([]Request, int, error)
	// CountOverdueHelpRequests counts the open requests due before now.
	CountOverdueHelpRequests(ctx context.Context, now time.Time) (int, error)
	// CountOpenHelpRequestsTo counts the realm's open requests whose
	// contact is contact.
	CountOpenHelpRequestsTo(ctx context.Context, realm, contact string) (int, error)
	// AccountHelpRequests returns the realm's requests linked to the
	// account, newest first (without answers).
	AccountHelpRequests(ctx context.Context, realm, accountID string) ([]Request, error)
	// AddHelpAnswer stores a.
	AddHelpAnswer(ctx context.Context, a *Answer) error
	// CloseHelpRequest closes the open request ref at at, by and for
	// reason. A request already closed is ninsho.CodeConflict, an unknown
	// one ninsho.CodeNotFound.
	CloseHelpRequest(ctx context.Context, ref string, at time.Time, by, reason string) error
	// PurgeHelpRequests deletes at most limit requests closed before
	// before, with their answers, and returns how many it deleted.
	PurgeHelpRequests(ctx context.Context, before time.Time, limit int) (int, error)
}
