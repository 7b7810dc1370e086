// Package flow is the flow engine: the flow record that every multi-step
// journey (sign-up, sign-in, password assistant, …) keeps in the store, the
// actions a person takes on it, the answer it gives, and the dispatch of
// actions to the service that owns each kind.
package flow

import (
	"context"
	"encoding/json"
	"time"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/secret"
)

// Kind names a flow type.
type Kind string

// Flow kinds.
const (
	KindSignup Kind = "signup"
	KindSignin Kind = "signin"
	KindUnlock Kind = "unlock"
	KindReset  Kind = "password_assistant"
	// KindReauth is a signed-in person proving who they are again
	// (internal/reauth); it completes without a new session.
	KindReauth Kind = "reauth"
	// KindContact changes or adds a signed-in person's e-mail address or
	// phone number (internal/contact); it completes without a new session.
	KindContact Kind = "contact"
	// KindHelp is a "help me sign in" request of someone who cannot sign
	// in (internal/help): its code proves the contact address given, and
	// it completes without a session, with the request's reference.
	KindHelp Kind = "help_request"
)

// Status is the coarse state a client sees.
type Status string

// Statuses (DESIGN §5).
const (
	StatusOpen      Status = "open"
	StatusChallenge Status = "challenge"
	StatusComplete  Status = "complete"
	StatusFailed    Status = "failed"
)

// Step is what the flow expects next.
type Step string

// Steps.
const (
	StepPassword         Step = "password"
	StepVerificationCode Step = "verification_code"
	StepCaptcha          Step = "captcha"
	StepNewPassword      Step = "new_password"
	StepChoose           Step = "choose" // "how do you want to sign in?" (Next.Options)
	// StepSecondFactor asks an account with two-step verification for its
	// second factor before any session is issued (authflow.SecondFactor).
	StepSecondFactor Step = "second_factor"
	// StepEnrolSecondFactor leads an account that must have two-step
	// verification and has none through adding a method before any
	// session (Next.Methods, Next.Enrolment).
	StepEnrolSecondFactor Step = "enrol_second_factor"
	// StepPasskey waits for a passkey's answer in a passwordless sign-in.
	StepPasskey Step = "passkey"
	StepDone    Step = "done"
	// StepReopenAccount: the account was closed by its owner and is in its
	// grace period; the right password (and second factor) may reopen it
	// (ActionReopen) or leave it closed (ActionCancel). Next.ClosedAt and
	// Next.PurgeAt say when it was closed and when it will be purged.
	StepReopenAccount Step = "reopen_account"
)

// Flow is one journey's persistent state. The password is never kept in it.
type Flow struct {
	ID        string
	Realm     string
	Kind      Kind
	Status    Status
	Step      Step
	AccountID string // the account the flow is about, once known
	DeviceID  string // the device that started the flow (bound to it)
	// DeviceHash is the keyed hash of that device's token: the device row
	// is written only when the flow completes on it.
	DeviceHash  []byte
	Identifier  string // normalised identifier (e-mail or E.164) the person typed
	Channel     string // channel of the current code ("email", "sms"), if any
	Destination string // normalised destination of the current code
	Attempts    int    // wrong answers so far; a resend does not reset it
	Sends       int    // codes sent in this flow
	LastSentAt  time.Time
	// Locale is the language the person chose in this flow: that of the
	// latest request about it that expressed one (ninsho.Request.LocaleChosen,
	// recorded by NewFlow and Engine.Act), or "" when none did. The language
	// of the flow's messages follows from it (authflow.Locale).
	Locale    string
	CreatedAt time.Time
	UpdatedAt time.Time
	ExpiresAt time.Time
	Version   int // optimistic concurrency: bumped by every update
	// Client is the kind of client that started the flow; only requests of
	// that kind may view or act on it.
	Client ninsho.Client
	// BindingHash is the keyed hash of the binding secret of a flow started
	// by a page (nil for API flows).
	BindingHash []byte
	// ReturnTo is where a page flow sends the browser once it completes:
	// the return_to it was started with, already checked against the
	// realm's allow-list (realm.Realm.ReturnURL), or "" for the account
	// page. Set when the flow is made; never changed, never put in a
	// message.
	ReturnTo string
	// Secret is the binding secret of a page flow, set only on the flow
	// value that Binder.Bind created; it is never stored and never read
	// back. The page adapter hands it to the browser as the flow's cookie.
	Secret string `json:"-"`
	// Fresh is set only on the flow value that was made in the current
	// request (authflow.Kit.NewFlow); never stored. A flow that completes
	// in the request that started it completes on the device it is bound
	// to.
	Fresh bool `json:"-"`
	// DeviceStored is set only on a Fresh flow whose device already has its
	// row (so completing it needs no insert); never stored.
	DeviceStored bool `json:"-"`
	// State holds what one kind of flow needs to remember between steps
	// (e.g. a CAPTCHA passed, the purpose of the current code). Never secrets.
	State map[string]string
}

// Get returns f.State[key], "" when unset.
func (f *Flow) Get(key string) string { return f.State[key] }

// Set stores f.State[key] = value ("" deletes it).
func (f *Flow) Set(key, value string) {
	if value == "" {
		delete(f.State, key)
		return
	}
	if f.State == nil {
		f.State = map[string]string{}
	}
	f.State[key] = value
}

// Expired reports whether the flow's life has ended at now.
func (f *Flow) Expired(now time.Time) bool { return !now.Before(f.ExpiresAt) }

// Store keeps flows. Methods take part in the transaction carried by ctx.
type Store interface {
	// CreateFlow inserts f with Version 1.
	CreateFlow(ctx context.Context, f *Flow) error
	// Flow returns the flow with the id, or ninsho.CodeFlowNotFound.
	Flow(ctx context.Context, id string) (*Flow, error)
	// UpdateFlow writes every mutable field of f if the stored version still
	// equals f.Version, then increments f.Version. A stale version fails with
	// ninsho.CodeConflict (another request moved the flow first).
	UpdateFlow(ctx context.Context, f *Flow) error
	// DeleteExpiredFlows removes flows that expired before t.
	DeleteExpiredFlows(ctx context.Context, before time.Time) (int, error)
}

// Action is one thing a person does on a flow. Name is the action
// (submit_password, submit_code, resend_code, switch_channel, …); the other
// fields carry its input, and each action reads only its own.
type Action struct {
	Name                 string `json:"action"`
	Password             string `json:"password,omitempty"`
	PasswordConfirmation string `json:"password_confirmation,omitempty"`
	Code                 string `json:"code,omitempty"`
	Channel              string `json:"channel,omitempty"`
	Answer               string `json:"answer,omitempty"`
	// Method is the second-factor method switch_method asks for.
	Method string `json:"method,omitempty"`
	// TrustDevice asks, with submit_second_factor, that the device the
	// right factor comes from is not asked for it again (trusted devices).
	TrustDevice bool `json:"trust_device,omitempty"`
	// Credential is a passkey's answer (PublicKeyCredential.toJSON()) for
	// submit_second_factor with the passkey method and submit_passkey.
	Credential json.RawMessage `json:"credential,omitempty"`
	// FormElapsedMS is how long the form was shown before it was sent, in
	// milliseconds (pages fill it in; 0 when unknown). A risk signal.
	FormElapsedMS int64 `json:"-"`
}

// Action names.
const (
	ActionSubmitPassword = "submit_password"
	ActionSubmitCode     = "submit_code"
	ActionResendCode     = "resend_code"
	ActionSwitchChannel  = "switch_channel"
	ActionSubmitCaptcha  = "submit_captcha"
	ActionNewCaptcha     = "new_captcha" // "another image"
	ActionSetNewPassword = "set_new_password"
	ActionSignInWithCode = "choose_sign_in_with_code"
	// ActionSubmitSecondFactor answers the second factor (Code);
	// ActionSwitchMethod asks for another of the account's methods (Method).
	ActionSubmitSecondFactor = "submit_second_factor"
	ActionSwitchMethod       = "switch_method"
	// ActionBeginTOTP starts adding an authenticator app at
	// StepEnrolSecondFactor (the answer's Next.Enrolment).
	ActionBeginTOTP = "begin_totp"
	// ActionSubmitPasskey answers StepPasskey (Credential).
	ActionSubmitPasskey = "submit_passkey"
	// ActionReopen reopens a closed account at StepReopenAccount;
	// ActionCancel leaves it closed and ends the flow.
	ActionReopen = "reopen"
	ActionCancel = "cancel"
)

// Next tells the client what to show.
type Next struct {
	Step Step `json:"step"`
	// Method is the second-factor method asked for at StepSecondFactor.
	Method       string `json:"method,omitempty"`
	Channel      string `json:"channel,omitempty"`
	Destination  string `json:"destination,omitempty"` // masked
	ResendAfterS int    `json:"resend_after_s,omitempty"`
	// NotSent is, at StepSecondFactor with method sms or voice, the
	// catalogue code of why its code was not sent when it was asked for
	// (resend_limit_reached, resend_too_soon, channel_unavailable); ""
	// when it was.
	NotSent      string   `json:"not_sent,omitempty"`
	Alternatives []string `json:"alternatives,omitempty"`
	// AlternativesReason says why the code's other ways are offered now
	// ("didn't get the code?"): DeliveryReasonUndelivered,
	// DeliveryReasonFailed or DeliveryReasonLate; "" when nothing went
	// wrong with the code's message.
	AlternativesReason string `json:"alternatives_reason,omitempty"`
	// Delivery is what is known of the message that carries the code the
	// step waits for (steps verification_code, and second_factor with an
	// SMS or voice code); nil when no code was sent in this flow.
	Delivery     *Delivery `json:"delivery,omitempty"`
	AttemptsLeft int       `json:"attempts_left,omitempty"`
	Captcha      *Captcha  `json:"captcha,omitempty"`
	// Options lists the actions offered at StepChoose.
	Options []string `json:"options,omitempty"`
	// Methods lists the methods that can be enrolled at
	// StepEnrolSecondFactor.
	Methods []string `json:"methods,omitempty"`
	// Enrolment is the authenticator app being added at
	// StepEnrolSecondFactor, after begin_totp.
	Enrolment *Enrolment `json:"enrolment,omitempty"`
	// PublicKey is the PublicKeyCredentialRequestOptions of a passkey
	// ceremony (StepPasskey, or StepSecondFactor with method passkey), for
	// navigator.credentials.get({publicKey}).
	PublicKey json.RawMessage `json:"public_key,omitempty"`
	// ClosedAt and PurgeAt are, at StepReopenAccount, when the account was
	// closed and when its personal data will be erased if not reopened.
	ClosedAt *time.Time `json:"closed_at,omitempty"`
	PurgeAt  *time.Time `json:"purge_at,omitempty"`
	// MovesTwoStep is, at the verification-code step of a phone number
	// change, true when the old number is also the account's SMS or voice
	// two-step number: it moves to the new number once that is proved.
	MovesTwoStep bool `json:"moves_two_step,omitempty"`
	// Reference and DueAt are, at StepDone of a help request
	// (KindHelp), the request's reference number ("H-7KP4-MX3C") and
	// when support means to have answered it.
	Reference string     `json:"reference,omitempty"`
	DueAt     *time.Time `json:"due_at,omitempty"`
}

// Delivery is the delivery status of the message of the current code:
// "queued", "sent", "delivered", "undelivered" or "failed" (see
// message.DeliveryStatus), when it last changed, and whether it is late
// (still queued or sent after the realm's code delivery timeout).
type Delivery struct {
	Status    string    `json:"status"`
	UpdatedAt time.Time `json:"updated_at"`
	Late      bool      `json:"late,omitempty"`
}

// Reasons of Next.AlternativesReason.
const (
	DeliveryReasonUndelivered = "undelivered"       // the carrier could not deliver the code
	DeliveryReasonFailed      = "failed"            // no provider could send it
	DeliveryReasonLate        = "not_delivered_yet" // not delivered within the realm's timeout
)

// StateCodeMessage is the flow-state key of the outbox id of the message
// that carried the flow's latest code (set by whoever sends it).
const StateCodeMessage = "code_message"

// Annotator adds to an answer what its handler does not know (the
// delivery status of the code's message). Engine calls it on every answer
// with a Next, after the handler, outside its transaction; Annotate must
// leave an answer it annotated already as it is.
type Annotator interface {
	Annotate(ctx context.Context, a *Answer)
}

// Enrolment is what an authenticator app needs to be added: shown while the
// flow waits for the first code from it.
type Enrolment struct {
	CredentialID  string `json:"credential_id"`
	Secret        string `json:"secret"`
	SecretGrouped string `json:"secret_grouped"`
	OTPAuthURL    string `json:"otpauth_url"`
	QRPNG         []byte `json:"qr_png"` // base64 in JSON
}

// Captcha points at the current CAPTCHA challenge of a flow.
type Captcha struct {
	ID       string `json:"id"`
	ImageURL string `json:"image_url"`
	AudioURL string `json:"audio_url"`
}

// Grant is a session handed out when a sign-in (or sign-up) completes. The
// token exists only in this answer; the store keeps its keyed hash.
type Grant struct {
	Token     string
	ExpiresAt time.Time
	AAL       int
}

// Answer is what a flow step returns: the flow, what to do next, and on
// completion the session. DeviceToken is set when the request brought no known
// device token and a new device was registered.
type Answer struct {
	Flow        *Flow
	Next        *Next
	Session     *Grant
	DeviceToken string
	AccountID   string // set on completion
	// BackupCodesLeft is set on a completion whose second factor was a
	// backup code that left twostep.LowBackupCodes or fewer: the person
	// should make new ones.
	BackupCodesLeft *int
	// Contact is the account's identifiers after a contact change
	// completed (internal/contact), or what its undo did.
	Contact *Contact
	// Recovery is the case of a recovery flow (internal/recovery).
	Recovery *Recovery
}

// Contact is the outcome of a contact change: on completion the account's
// e-mail address and phone number as stored ("" for none); on its undo
// only whether the old identifier was restored.
type Contact struct {
	Email    string `json:"email,omitempty"`
	Phone    string `json:"phone,omitempty"`
	Restored *bool  `json:"restored,omitempty"`
}

// Handler is the service that owns one flow kind.
type Handler interface {
	// Act applies a to f (already loaded, not expired, not complete) and
	// returns the answer. On a rejected input it returns both the answer
	// (reflecting any counted attempt) and the catalogue error.
	Act(ctx context.Context, f *Flow, req ninsho.Request, a Action) (*Answer, error)
	// View returns the answer for f as it stands, without changing it.
	View(ctx context.Context, f *Flow) (*Answer, error)
}

// Guarded is a Handler whose flows belong to more than their client (a
// re-authentication belongs to the session that started it): Engine.View
// shows f only when Visible says req may see it (flow_not_found
// otherwise, like an unknown id). Act checks the same itself.
type Guarded interface {
	Visible(ctx context.Context, f *Flow, req ninsho.Request) error
}

// BindingSecretBytes is the entropy of a page flow's binding secret.
const BindingSecretBytes = 32

// Binder ties a flow to the client that started it (DESIGN §5, "flow
// binding"). A flow started through the API is acted on only through the
// API: its unguessable id is the client's capability. A flow started by a
// page is bound to a random secret that only the starting browser holds;
// every view and action must present it. It is safe for concurrent use.
type Binder struct {
	Hasher *secret.Hasher
	Random ninsho.Random
}

// Bind makes f belong to the kind of client of req. A page flow gets a new
// secret in f.Secret (to hand to the browser once) and its keyed hash in
// f.BindingHash. Call it before f is first saved: the hash covers f.ID.
func (b *Binder) Bind(f *Flow, req ninsho.Request) {
	f.Client = req.Client
	f.BindingHash, f.Secret = nil, ""
	if req.Client == ninsho.ClientPage {
		f.Secret = ninsho.Token(b.Random, BindingSecretBytes)
		f.BindingHash = b.hash(f.ID, f.Secret)
	}
}

// Allows reports whether req may view or act on f: the same kind of client
// that started it and, for a page flow, the flow's secret.
func (b *Binder) Allows(f *Flow, req ninsho.Request) bool {
	if f.Client != req.Client {
		return false
	}
	if f.Client != ninsho.ClientPage {
		return true
	}
	if req.FlowSecret == "" || len(req.FlowSecret) > 128 || len(f.BindingHash) == 0 {
		return false
	}
	return secret.Equal(f.BindingHash, b.hash(f.ID, req.FlowSecret))
}

func (b *Binder) hash(flowID, s string) []byte { return b.Hasher.Hash("flow-binding", flowID, s) }

// Engine loads flows and dispatches actions to the handler of their kind.
type Engine struct {
	Store    Store
	Clock    ninsho.Clock
	Binder   *Binder
	Handlers map[Kind]Handler
	// Annotate, when set, adds to every answer View and Act return.
	Annotate Annotator
}

// Describe adds to ans what e.Annotate adds (View and Act do it
// themselves); adapters call it on the answers of flow starts, which the
// services make without the engine. Annotating twice changes nothing.
func (e *Engine) Describe(ctx context.Context, ans *Answer) { e.annotate(ctx, ans) }

// annotate hands ans to e.Annotate, if any.
func (e *Engine) annotate(ctx context.Context, ans *Answer) {
	if e.Annotate != nil && ans != nil && ans.Next != nil && ans.Flow != nil {
		e.Annotate.Annotate(ctx, ans)
	}
}

// Load returns the realm's flow with the id for the client of req. Unknown
// ids, malformed ids, flows of another realm and flows that belong to
// another client (see Binder) are all ninsho.CodeFlowNotFound alike; expired
// flows are ninsho.CodeFlowExpired.
func (e *Engine) Load(ctx context.Context, realm, id string, req ninsho.Request) (*Flow, error) {
	if !ninsho.ValidID(id) {
		return nil, ninsho.E(ninsho.CodeFlowNotFound)
	}
	f, err := e.Store.Flow(ctx, id)
	if err != nil {
		return nil, err
	}
	if f.Realm != realm || !e.Binder.Allows(f, req) {
		return nil, ninsho.E(ninsho.CodeFlowNotFound)
	}
	if f.Expired(e.Clock.Now()) && f.Status != StatusComplete {
		return f, ninsho.E(ninsho.CodeFlowExpired)
	}
	return f, nil
}

// View returns the answer for the realm's flow with the id, for the client
// of req.
func (e *Engine) View(ctx context.Context, realm, id string, req ninsho.Request) (*Answer, error) {
	f, err := e.Load(ctx, realm, id, req)
	if err != nil {
		if f != nil {
			return &Answer{Flow: f}, err
		}
		return nil, err
	}
	h, ok := e.Handlers[f.Kind]
	if !ok {
		return nil, ninsho.Internal("flow: no handler for kind %q", f.Kind)
	}
	if g, ok := h.(Guarded); ok {
		if err := g.Visible(ctx, f, req); err != nil {
			return nil, err
		}
	}
	ans, err := h.View(ctx, f)
	e.annotate(ctx, ans)
	return ans, err
}

// Act applies a to the realm's flow with the id.
func (e *Engine) Act(ctx context.Context, realm, id string, req ninsho.Request, a Action) (*Answer, error) {
	f, err := e.Load(ctx, realm, id, req)
	if err != nil {
		if f != nil {
			return &Answer{Flow: f}, err
		}
		return nil, err
	}
	if f.Status == StatusComplete || f.Status == StatusFailed {
		return &Answer{Flow: f}, ninsho.E(ninsho.CodeFlowCompleted)
	}
	h, ok := e.Handlers[f.Kind]
	if !ok {
		return nil, ninsho.Internal("flow: no handler for kind %q", f.Kind)
	}
	if req.LocaleChosen {
		// A language chosen mid-flow (?lang=) is the flow's from now on:
		// the message this step sends follows it, and so do later ones.
		f.Locale = req.Locale
	}
	ans, err := h.Act(ctx, f, req, a)
	e.annotate(ctx, ans)
	return ans, err
}
