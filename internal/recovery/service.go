package recovery

import (
	"context"
	"encoding/hex"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/authflow"
	"github.com/ninsho/ninsho/internal/caseref"
	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/secret"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/startgate"
	"github.com/ninsho/ninsho/internal/throttle"
	"github.com/ninsho/ninsho/internal/trust"
)

// Message templates (see internal/message/templates_recovery.go).
const (
	// TemplateOpened confirms a submitted case to every verified channel
	// of the account (reference, due, the cancel link): the owner also
	// learns when someone else with the password opened it.
	TemplateOpened = message.TemplateRecoveryOpened
	// TemplateApproved tells the owner 2SV was turned off: set it up again.
	TemplateApproved = message.TemplateRecoveryApproved
	// TemplateRejected tells the owner the reason and what to send instead.
	TemplateRejected = message.TemplateRecoveryRejected
)

// PurposeCancel is the single-use link of TemplateOpened that cancels the
// open case (its flow id is the case's reference).
const PurposeCancel code.Purpose = "recovery_cancel"

// CancelLinkLifetime is how long the cancel link of TemplateOpened works.
const CancelLinkLifetime = 7 * 24 * time.Hour

// Flow-state key: the reference of the flow's case.
const stateCase = "case"

// Service runs recovery flows (flow.KindRecovery; it implements
// flow.Handler) and decides cases. Every field is required but Gate and
// Forget.
type Service struct {
	Kit       *authflow.Kit
	Realms    *realm.Registry
	Signin    *signin.Service
	Gate      *startgate.Gate
	Store     Store
	Documents DocumentStore
	Box       *secret.Box
	// Forget drops the account's cached sessions after approval revoked
	// them (signin.Service.ForgetAccount).
	Forget func(accountID string)
	// Uploads bounds the uploads running at once (per flow and in the
	// process); nil is a gate of DefaultUploads made on first use.
	Uploads *UploadGate

	uploadsOnce sync.Once
}

// uploads returns s.Uploads, made on first use when nil.
func (s *Service) uploads() *UploadGate {
	s.uploadsOnce.Do(func() {
		if s.Uploads == nil {
			s.Uploads = NewUploadGate(0)
		}
	})
	return s.Uploads
}

var _ flow.Handler = (*Service)(nil)

// Input is what the start form carries.
type Input struct {
	Identifier string
	Password   string
}

// Start proves identifier and password like a sign-in — the start is
// capped by the gate before anything is written, an unknown identifier
// costs a dummy hash and is answered as a wrong password is in the realm's
// disclosure style, a wrong password counts as a failed sign-in, a lock,
// suspension or closure is told as sign-in tells it — and the second
// factor is not asked. An account with 2SV off is recovery_not_needed; one
// with an open case is recovery_case_open (its reference). Otherwise a
// draft case and a flow at StepUpload are made: the flow issues no session
// and can do nothing but upload, submit and cancel. Refusals write no flow.
func (s *Service) Start(ctx context.Context, rl *realm.Realm, req ninsho.Request, in Input) (*flow.Answer, error) {
	k := s.Kit
	id, err := authflow.ParseIdentifier(in.Identifier, rl)
	if in.Password == "" {
		err = ninsho.Fields(err, ninsho.FieldError(ninsho.CodeFieldRequired, "password"))
	}
	if err != nil {
		return nil, err
	}
	d, newToken, err := k.Devices.Resolve(ctx, rl.ID, req.DeviceToken, req.UserAgent)
	if err != nil {
		return nil, err
	}
	if _, err := s.Gate.Admit(ctx, flow.KindRecovery, rl.ID, req, d.ID); err != nil {
		return nil, err
	}
	f := k.NewFlow(flow.KindRecovery, rl, req, d)
	f.Identifier = id.Value
	f.ExpiresAt = f.CreatedAt.Add(FlowLifetime)
	a, err := s.account(ctx, rl, f.Identifier)
	if err != nil {
		return nil, err
	}
	// Sign-in's protection comes before the password: what the risk
	// policy would demand of a sign-in here, recovery demands too.
	if err := s.Signin.BeforePassword(ctx, rl, f, a, req, false); err != nil {
		if ninsho.IsCode(err, ninsho.CodeCaptchaRequired) {
			ans, err := s.hold(ctx, rl, f, a, req, err)
			if ans != nil {
				ans.DeviceToken = newToken
			}
			return ans, err
		}
		if ninsho.IsCode(err, ninsho.CodeRateLimited) {
			return nil, err // a flood writes nothing, as at sign-in
		}
		return nil, s.refused(ctx, rl, f, a, req, err)
	}
	ans, err := s.prove(ctx, rl, f, a, req, in.Password)
	if ans != nil {
		ans.DeviceToken = newToken
	}
	return ans, err
}

// account returns the realm's account with the identifier, or nil when it
// has none (or only an unconfirmed sign-up: no second factor to recover).
func (s *Service) account(ctx context.Context, rl *realm.Realm, ident string) (*account.Account, error) {
	id, err := authflow.ParseIdentifier(ident, rl)
	if err != nil {
		return nil, err
	}
	a, err := s.Kit.AccountFor(ctx, rl, id)
	if err != nil && !ninsho.IsCode(err, ninsho.CodeAccountNotFound) {
		return nil, err
	}
	if a != nil && a.Status == account.StatusPending {
		a = nil
	}
	return a, nil
}

// Flow-state key: "1" once the flow's CAPTCHA was solved, for one password
// attempt.
const stateSolved = "captcha_solved"

// hold saves f at the CAPTCHA step (startgate.Gate.Hold) with the refusal
// captchaErr recorded: the password was not checked and is not kept; once
// the CAPTCHA is solved the flow asks for it (StepPassword).
func (s *Service) hold(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account, req ninsho.Request, captchaErr error) (*flow.Answer, error) {
	k := s.Kit
	err := k.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.captchaGate().Hold(ctx, f); err != nil {
			return err
		}
		if err := k.Save(ctx, f); err != nil {
			return err
		}
		return s.failed(ctx, rl, f, a, req, captchaErr)
	})
	if err != nil {
		return nil, err
	}
	ans, err := s.answer(ctx, f)
	if err != nil {
		return nil, err
	}
	return ans, captchaErr
}

// captchaGate is the gate whose CAPTCHA holds a recovery back: Gate, or
// one over sign-in's CAPTCHA service.
func (s *Service) captchaGate() *startgate.Gate {
	if s.Gate != nil && s.Gate.Captcha != nil {
		return s.Gate
	}
	return &startgate.Gate{Captcha: s.Signin.Protect.Captcha}
}

// solve applies a CAPTCHA action to a held flow: a right answer moves it to
// StepPassword (one password attempt passes the CAPTCHA rule), a wrong one
// renews the challenge (captcha_incorrect).
func (s *Service) solve(ctx context.Context, f *flow.Flow, act flow.Action) (*flow.Answer, error) {
	k := s.Kit
	var stepErr error
	err := k.Tx.InTx(ctx, func(ctx context.Context) error {
		passed, serr, err := s.captchaGate().Solve(ctx, f, act)
		if err != nil {
			return err
		}
		stepErr = serr
		if passed {
			f.Status, f.Step = flow.StatusOpen, flow.StepPassword
			f.Set(stateSolved, "1")
		}
		return k.Save(ctx, f)
	})
	if err != nil {
		return nil, err
	}
	ans, err := s.answer(ctx, f)
	if err != nil {
		return nil, err
	}
	return ans, stepErr
}

// submitPassword is the password sent again after the CAPTCHA (action
// submit_password at StepPassword): decided again by sign-in's protection
// (the solved CAPTCHA lets this one attempt through), then proved as at
// the start. A refusal answers the flow, still at StepPassword (or at a
// new CAPTCHA).
func (s *Service) submitPassword(ctx context.Context, rl *realm.Realm, f *flow.Flow, req ninsho.Request, pw string) (*flow.Answer, error) {
	k := s.Kit
	again := func(stepErr error) (*flow.Answer, error) {
		if err := k.Save(ctx, f); err != nil {
			return nil, err
		}
		ans, err := s.answer(ctx, f)
		if err != nil {
			return nil, err
		}
		return ans, stepErr
	}
	if pw == "" {
		return again(ninsho.FieldError(ninsho.CodeFieldRequired, "password"))
	}
	a, err := s.account(ctx, rl, f.Identifier)
	if err != nil {
		return nil, err
	}
	solved := f.Get(stateSolved) == "1"
	f.Set(stateSolved, "")
	if err := s.Signin.BeforePassword(ctx, rl, f, a, req, solved); err != nil {
		if ninsho.IsCode(err, ninsho.CodeCaptchaRequired) {
			return s.hold(ctx, rl, f, a, req, err)
		}
		if !ninsho.IsCode(err, ninsho.CodeRateLimited) {
			if ferr := s.failed(ctx, rl, f, a, req, err); ferr != nil {
				return nil, ferr
			}
		}
		return again(err)
	}
	ans, err := s.prove(ctx, rl, f, a, req, pw)
	if err != nil {
		switch ninsho.CodeOf(err) {
		case ninsho.CodeInternal, ninsho.CodeOverloaded:
			return nil, err
		}
		return again(err)
	}
	return ans, nil
}

// prove checks the password of a (nil: no account) for f and, when it is
// right and the account may recover, makes the draft case and moves f to
// StepUpload. Refusals write no flow (the caller saves a held one).
func (s *Service) prove(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account, req ninsho.Request, pw string) (*flow.Answer, error) {
	k := s.Kit
	if a == nil {
		if err := k.Passwords.VerifyDummy(ctx, pw); err != nil {
			return nil, err
		}
		// Counted as a wrong password is, so that the next attempt meets
		// the same protection whether or not the identifier has an account.
		if err := k.Tx.InTx(ctx, func(ctx context.Context) error {
			return s.Signin.CountWrongPassword(ctx, rl, f, nil, req)
		}); err != nil {
			return nil, err
		}
		return nil, s.refused(ctx, rl, f, nil, req, wrongCredentials(rl, true))
	}
	f.AccountID = a.ID
	if rl.Disclosure != realm.DisclosureSafe {
		if err := s.Signin.CheckLock(ctx, f, a); err != nil {
			return nil, s.refused(ctx, rl, f, a, req, err)
		}
	}
	ok, err := k.CurrentPassword(ctx, a.ID, pw)
	if err != nil {
		return nil, err
	}
	if !ok {
		err := k.Tx.InTx(ctx, func(ctx context.Context) error {
			return s.Signin.CountWrongPassword(ctx, rl, f, a, req)
		})
		if err != nil {
			return nil, err
		}
		s.Signin.ForgetAccount(a.ID)
		return nil, s.refused(ctx, rl, f, a, req, wrongCredentials(rl, false))
	}
	// The password is right: only now may the account's state be told.
	if a.Status == account.StatusClosed {
		return nil, s.refused(ctx, rl, f, a, req, ninsho.E(ninsho.CodeAccountClosed))
	}
	// A suspension (with its reference and reason) or a new password staff
	// require stops recovery as it stops sign-in.
	if hold := s.Signin.StaffHold(ctx, a); hold != nil {
		if !ninsho.IsCode(hold, ninsho.CodeAccountSuspended) && !ninsho.IsCode(hold, ninsho.CodePasswordResetRequired) {
			return nil, hold
		}
		return nil, s.refused(ctx, rl, f, a, req, hold)
	}
	if err := s.Signin.CheckLock(ctx, f, a); err != nil {
		return nil, s.refused(ctx, rl, f, a, req, err)
	}
	st, err := k.TwoStep.Store.State(ctx, rl.ID, a.ID)
	if err != nil {
		return nil, err
	}
	if !st.Enabled {
		return nil, ninsho.E(ninsho.CodeRecoveryNotNeeded)
	}
	if open, err := s.Store.OpenCase(ctx, rl.ID, a.ID); err != nil {
		return nil, err
	} else if open != nil {
		return nil, ninsho.E(ninsho.CodeRecoveryCaseOpen).WithParam("reference", open.Reference)
	}
	if err := s.admitAccount(ctx, rl, a.ID); err != nil {
		return nil, err
	}
	c := &Case{
		ID: ninsho.NewID(k.Clock, k.Random), Realm: rl.ID, AccountID: a.ID,
		Reference: caseref.New(caseref.KindRecovery, k.Random), FlowID: f.ID,
		Status: StatusDraft, CreatedAt: k.Clock.Now(),
	}
	f.Status, f.Step = flow.StatusOpen, flow.StepUpload
	f.Set(stateCase, c.Reference)
	err = k.Tx.InTx(ctx, func(ctx context.Context) error {
		// A new start supersedes the account's earlier drafts: they are
		// cancelled and their files deleted, so that one account holds at
		// most the files of one case (MaxDocuments).
		if err := s.supersede(ctx, rl, a.ID, req); err != nil {
			return err
		}
		if err := s.Store.CreateCase(ctx, c); err != nil {
			return err
		}
		if err := k.Save(ctx, f); err != nil {
			return err
		}
		return k.Record(ctx, rl, a.ID, EventStarted, req, f.DeviceID, map[string]any{"flow": f.ID, "case": c.Reference})
	})
	if err != nil {
		return nil, err
	}
	return s.answer(ctx, f)
}

// MaxDocuments is the most files one account's drafts and open case hold
// together: a start supersedes the earlier drafts (their files are deleted
// at once) and a case has three slots.
const MaxDocuments = 3

// supersede cancels the account's drafts and deletes their files, in the
// transaction of ctx.
func (s *Service) supersede(ctx context.Context, rl *realm.Realm, accountID string, req ninsho.Request) error {
	k := s.Kit
	drafts, err := s.Store.Drafts(ctx, rl.ID, accountID)
	if err != nil {
		return err
	}
	now := k.Clock.Now()
	for _, d := range drafts {
		d.Status, d.DecidedAt, d.DecidedBy = StatusDropped, &now, "account:"+accountID
		if err := s.Store.UpdateCase(ctx, d, StatusDraft); err != nil {
			return err
		}
		// Its flow ends too: it can upload and submit no more, and says so.
		if df, err := k.Flows.Flow(ctx, d.FlowID); err == nil && df.Status == flow.StatusOpen {
			df.Status, df.Step = flow.StatusFailed, flow.StepDone
			if err := k.Save(ctx, df); err != nil {
				return err
			}
		} else if err != nil && !ninsho.IsCode(err, ninsho.CodeFlowNotFound) {
			return err
		}
		n, err := s.Documents.DeleteDocuments(ctx, d.ID)
		if err != nil {
			return err
		}
		if err := k.Record(ctx, rl, accountID, EventDraftDropped, req, "", map[string]any{
			"flow": d.FlowID, "case": d.Reference, "via": "superseded", "documents_deleted": n,
		}); err != nil {
			return err
		}
	}
	return nil
}

// StartsPerAccount is how many drafts one account may start within
// StartWindow (counted only after the right password, so strangers spend
// none of them): each draft holds up to three files until its flow ends.
const StartsPerAccount = 5

// StartWindow is the period StartsPerAccount counts over.
const StartWindow = time.Hour

// admitAccount counts a draft of the account, or refuses it with
// rate_limited (retry_after_s) past StartsPerAccount.
func (s *Service) admitAccount(ctx context.Context, rl *realm.Realm, accountID string) error {
	c := s.Kit.Counter
	if c == nil {
		return nil
	}
	key := throttle.Key("start.recovery.account", rl.ID, accountID)
	n, err := c.Count(ctx, key, StartWindow)
	if err != nil {
		return err
	}
	if n >= StartsPerAccount {
		return ninsho.E(ninsho.CodeRateLimited).WithParam("retry_after_s", int(StartWindow/time.Second))
	}
	return c.Hit(ctx, key, 1, StartWindow)
}

// refused records a refused start (signin.failed, via recovery) and
// returns stepErr. Nothing else is written: no flow.
func (s *Service) refused(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account, req ninsho.Request, stepErr error) error {
	if err := s.failed(ctx, rl, f, a, req, stepErr); err != nil {
		return err
	}
	return stepErr
}

// failed records signin.failed (via recovery) for stepErr.
func (s *Service) failed(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account, req ninsho.Request, stepErr error) error {
	accountID := ""
	if a != nil {
		accountID = a.ID
	}
	return s.Kit.Record(ctx, rl, accountID, event.TypeSigninFailed, req, f.DeviceID, map[string]any{
		"reason": string(ninsho.CodeOf(stepErr)), "via": "recovery",
	})
}

// wrongCredentials is sign-in's refusal of a wrong password or, when
// unknown, of an identifier without an account.
func wrongCredentials(rl *realm.Realm, unknown bool) error {
	if rl.Disclosure == realm.DisclosureSafe {
		return ninsho.FieldError(ninsho.CodeCredentialsIncorrect, "password")
	}
	if unknown {
		return ninsho.FieldError(ninsho.CodeAccountNotFound, "identifier")
	}
	return ninsho.FieldError(ninsho.CodePasswordIncorrect, "password")
}

// Upload is one file for a slot of the flow's case.
type Upload struct {
	Slot string
	// DocumentType names the identity document; required with the first
	// upload, and changing it later keeps what was uploaded.
	DocumentType string
	Body         io.Reader
}

// Upload checks one file (ReadDocument) and stores it sealed in its slot of
// f's case, replacing an earlier one. f must be a recovery flow at
// StepUpload, loaded by flow.Engine.Load for the request (binding). Before
// it reads the body it enters the upload gate (EnterUpload): another
// upload to f still running is conflict, the process's uploads at capacity
// overloaded (retry_after_s), both at once and without an answer. A
// refused file or document type answers the flow as it stands with the
// refusal; an unknown slot is not_found (field slot) without an answer.
func (s *Service) Upload(ctx context.Context, f *flow.Flow, req ninsho.Request, up Upload) (*flow.Answer, error) {
	leave, err := s.EnterUpload(f)
	if err != nil {
		return nil, err
	}
	defer leave()
	p, ans, err := s.Check(ctx, f, up)
	if err != nil {
		return ans, err
	}
	return s.Keep(ctx, f, req, []*Pending{p})
}

// EnterUpload admits one upload (of one file, or of the hosted form's
// files) to f in the upload gate, before its body is read: one at a time
// per account, so drafts superseded by new starts hold no more than one
// between them. It returns the function that ends it, or conflict /
// overloaded (retry_after_s).
func (s *Service) EnterUpload(f *flow.Flow) (func(), error) {
	key := f.AccountID
	if key == "" {
		key = "flow:" + f.ID
	}
	return s.uploads().Enter(key)
}

// Pending is a file checked for a slot of a flow's case, not stored yet
// (Keep stores it).
type Pending struct {
	slot    Slot
	dt      DocumentType
	checked *Checked
}

// Check reads and checks one file for f as Upload does, and stores
// nothing: the hosted form checks every file before it keeps any. Its
// errors are Upload's (the caller enters the gate first).
func (s *Service) Check(ctx context.Context, f *flow.Flow, up Upload) (*Pending, *flow.Answer, error) {
	_, c, err := s.draft(ctx, f)
	if err != nil {
		return nil, nil, err
	}
	slot, err := ParseSlot(up.Slot)
	if err != nil {
		return nil, nil, err // no such resource: not an input of the flow
	}
	var dt DocumentType
	if up.DocumentType != "" {
		dt, err = ParseDocumentType(up.DocumentType)
	} else if c.DocumentType == "" {
		err = ninsho.FieldError(ninsho.CodeFieldRequired, "document_type")
	}
	if err == nil {
		var checked *Checked
		if checked, err = ReadDocument(up.Body); err == nil {
			return &Pending{slot: slot, dt: dt, checked: checked}, nil, nil
		}
	}
	// A refused input: the flow as it stands, with the refusal.
	ans, aerr := s.answer(ctx, f)
	if aerr != nil {
		return nil, nil, aerr
	}
	return nil, ans, err
}

// draft returns f's realm and its case, which must still be a draft
// collecting files.
func (s *Service) draft(ctx context.Context, f *flow.Flow) (*realm.Realm, *Case, error) {
	rl := s.Realms.ByID(f.Realm)
	if rl == nil || f.Kind != flow.KindRecovery {
		return nil, nil, ninsho.E(ninsho.CodeFlowNotFound)
	}
	if f.Status != flow.StatusOpen || f.Step != flow.StepUpload {
		return nil, nil, ninsho.E(ninsho.CodeFlowCompleted)
	}
	c, err := s.Store.Case(ctx, rl.ID, f.Get(stateCase))
	if err != nil {
		return nil, nil, err
	}
	if c.Status != StatusDraft {
		return nil, nil, ninsho.E(ninsho.CodeFlowCompleted) // superseded by a later start
	}
	return rl, c, nil
}

// ChooseType sets the document type of f's draft case without a file (the
// form's type changed with no file chosen): the files already uploaded
// stay, and submit_documents then asks for what the new type needs. An
// unknown type is document_type_not_allowed (field document_type), a flow
// no longer collecting files flow_completed. It answers f.
func (s *Service) ChooseType(ctx context.Context, f *flow.Flow, typ string) (*flow.Answer, error) {
	_, c, err := s.draft(ctx, f)
	if err != nil {
		return nil, err
	}
	dt, err := ParseDocumentType(typ)
	if err != nil {
		ans, aerr := s.answer(ctx, f)
		if aerr != nil {
			return nil, aerr
		}
		return ans, err
	}
	if dt != c.DocumentType {
		c.DocumentType = dt
		if err := s.Kit.Tx.InTx(ctx, func(ctx context.Context) error {
			return s.Store.UpdateCase(ctx, c, StatusDraft)
		}); err != nil {
			return nil, err
		}
	}
	return s.answer(ctx, f)
}

// Keep seals the checked files ps and stores them in their slots of f's
// case in one transaction (with the last document type given), and
// answers f.
func (s *Service) Keep(ctx context.Context, f *flow.Flow, req ninsho.Request, ps []*Pending) (*flow.Answer, error) {
	k := s.Kit
	rl, c, err := s.draft(ctx, f)
	if err != nil {
		return nil, err
	}
	docs := make([]*Document, 0, len(ps))
	for _, p := range ps {
		d := &Document{
			ID: ninsho.NewID(k.Clock, k.Random), CaseID: c.ID, Realm: rl.ID, AccountID: c.AccountID,
			Slot: p.slot, Mime: p.checked.Mime, Size: int64(len(p.checked.Data)), SHA256: p.checked.SHA256[:], CreatedAt: k.Clock.Now(),
		}
		if d.Sealed, err = s.Box.Seal(p.checked.Data, AdditionalData(rl.ID, c.ID, d.ID)); err != nil {
			return nil, ninsho.Internal("recovery: seal: %v", err)
		}
		if p.dt != "" {
			c.DocumentType = p.dt
		}
		docs = append(docs, d)
	}
	err = k.Tx.InTx(ctx, func(ctx context.Context) error {
		// Written even when unchanged: the draft must still be one (not
		// superseded by a later start meanwhile).
		if err := s.Store.UpdateCase(ctx, c, StatusDraft); err != nil {
			return err
		}
		for _, d := range docs {
			if err := s.Documents.PutDocument(ctx, d); err != nil {
				return err
			}
			if err := k.Record(ctx, rl, c.AccountID, EventUploaded, req, f.DeviceID, map[string]any{
				"flow": f.ID, "case": c.Reference, "slot": string(d.Slot), "mime": d.Mime, "size": d.Size,
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.answer(ctx, f)
}

// Act applies submit_documents (the case is opened) or cancel (the draft is
// dropped and the flow ends) at StepUpload.
func (s *Service) Act(ctx context.Context, f *flow.Flow, req ninsho.Request, act flow.Action) (*flow.Answer, error) {
	rl := s.Realms.ByID(f.Realm)
	if rl == nil {
		return nil, ninsho.E(ninsho.CodeFlowNotFound)
	}
	switch {
	case startgate.IsCaptchaAction(act) && startgate.Held(f):
		return s.solve(ctx, f, act)
	case act.Name == flow.ActionSubmitPassword && f.Step == flow.StepPassword && f.Status == flow.StatusOpen:
		return s.submitPassword(ctx, rl, f, req, act.Password)
	case act.Name == flow.ActionSubmitDocuments && f.Step == flow.StepUpload:
		return s.submit(ctx, rl, f, req)
	case act.Name == flow.ActionCancel && f.Step == flow.StepUpload:
		return s.cancelDraft(ctx, rl, f, req)
	}
	ans, err := s.answer(ctx, f)
	if err != nil {
		return nil, err
	}
	return ans, ninsho.FieldError(ninsho.CodeActionUnknown, "action")
}

// View describes f and its case as they stand.
func (s *Service) View(ctx context.Context, f *flow.Flow) (*flow.Answer, error) {
	return s.answer(ctx, f)
}

func (s *Service) answer(ctx context.Context, f *flow.Flow) (*flow.Answer, error) {
	ans := &flow.Answer{Flow: f}
	switch {
	case startgate.Held(f):
		ans.Next = startgate.Next(f)
	case f.Status == flow.StatusOpen:
		ans.Next = &flow.Next{Step: f.Step}
	}
	if f.Get(stateCase) == "" {
		return ans, nil // no case yet: held at the CAPTCHA, or asking the password
	}
	c, err := s.Store.Case(ctx, f.Realm, f.Get(stateCase))
	if ninsho.IsCode(err, ninsho.CodeNotFound) {
		return ans, nil // purged
	}
	if err != nil {
		return nil, err
	}
	r := &flow.Recovery{Status: string(c.Status), DocumentType: string(c.DocumentType), NeedsAddress: c.DocumentType.NeedsAddress(),
		DueAt: c.DueAt, DecidedAt: c.DecidedAt, Documents: []flow.RecoveryDocument{}}
	if c.Status != StatusDraft {
		r.Reference = c.Reference
	}
	docs, err := s.Documents.Documents(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	for _, d := range docs {
		r.Documents = append(r.Documents, flow.RecoveryDocument{Slot: string(d.Slot), Mime: d.Mime, Size: d.Size})
	}
	ans.Recovery = r
	return ans, nil
}

// submit opens f's case: the documents its type needs must be there
// (documents_missing, field the slot), no other case of the account may be
// open (recovery_case_open). The case gets its due time, the flow
// completes, and every verified channel of the account gets
// TemplateOpened with the reference, the due time and a cancel link.
func (s *Service) submit(ctx context.Context, rl *realm.Realm, f *flow.Flow, req ninsho.Request) (*flow.Answer, error) {
	k := s.Kit
	c, err := s.Store.Case(ctx, rl.ID, f.Get(stateCase))
	if err != nil {
		return nil, err
	}
	docs, err := s.Documents.Documents(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	have := map[Slot]bool{}
	for _, d := range docs {
		have[d.Slot] = true
	}
	var missing error
	if c.DocumentType == "" {
		missing = ninsho.FieldError(ninsho.CodeFieldRequired, "document_type")
	}
	if !have[SlotFront] {
		missing = ninsho.Fields(missing, ninsho.FieldError(ninsho.CodeDocumentsMissing, string(SlotFront)))
	}
	if c.DocumentType.NeedsAddress() && !have[SlotAddress] {
		missing = ninsho.Fields(missing, ninsho.FieldError(ninsho.CodeDocumentsMissing, string(SlotAddress)))
	}
	if missing != nil {
		ans, err := s.answer(ctx, f)
		if err != nil {
			return nil, err
		}
		return ans, missing
	}
	a, err := k.Accounts.Account(ctx, c.AccountID)
	if err != nil {
		return nil, err
	}
	if open, err := s.Store.OpenCase(ctx, rl.ID, a.ID); err != nil {
		return nil, err
	} else if open != nil {
		return nil, ninsho.E(ninsho.CodeRecoveryCaseOpen).WithParam("reference", open.Reference)
	}
	now := k.Clock.Now()
	// The due time is told in whole seconds (answers, messages, the
	// console), so it is kept that way.
	due := now.Add(rl.RecoveryDue()).Truncate(time.Second)
	c.Status, c.SubmittedAt, c.DueAt = StatusOpen, &now, &due
	locale := authflow.Locale(f, a, rl)
	err = k.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.Store.UpdateCase(ctx, c, StatusDraft); err != nil {
			return err
		}
		f.Status, f.Step = flow.StatusComplete, flow.StepDone
		if err := k.Save(ctx, f); err != nil {
			return err
		}
		if err := k.Record(ctx, rl, a.ID, EventSubmitted, req, f.DeviceID, map[string]any{
			"flow": f.ID, "case": c.Reference, "document_type": string(c.DocumentType), "documents": len(docs),
			"due_at": due.UTC().Format(time.RFC3339),
		}); err != nil {
			return err
		}
		return k.SendAlerts(ctx, rl, a, req, authflow.Alerts{
			Template: TemplateOpened, Locale: locale, FlowID: f.ID, DeviceID: f.DeviceID,
			Dests: authflow.VerifiedDests(a),
			Extra: map[string]string{"reference": c.Reference, "due": when(due, locale)},
			Link: func(ctx context.Context, d authflow.AlertDest) (string, error) {
				token, err := k.Codes.IssueLink(ctx, rl.ID, a.ID, c.Reference, PurposeCancel, d.To, CancelLinkLifetime)
				if err != nil {
					return "", err
				}
				return CancelLink(rl, token), nil
			},
			Event: map[string]any{"case": c.Reference},
		})
	})
	if err != nil {
		return nil, err
	}
	k.Outbox.Wake()
	return s.answer(ctx, f)
}

// cancelDraft cancels f's draft case, deletes its documents at once and
// fails the flow.
func (s *Service) cancelDraft(ctx context.Context, rl *realm.Realm, f *flow.Flow, req ninsho.Request) (*flow.Answer, error) {
	k := s.Kit
	c, err := s.Store.Case(ctx, rl.ID, f.Get(stateCase))
	if err != nil {
		return nil, err
	}
	now := k.Clock.Now()
	err = k.Tx.InTx(ctx, func(ctx context.Context) error {
		c.Status, c.DecidedAt, c.DecidedBy = StatusDropped, &now, "account:"+c.AccountID
		if err := s.Store.UpdateCase(ctx, c, StatusDraft); err != nil {
			return err
		}
		if _, err := s.Documents.DeleteDocuments(ctx, c.ID); err != nil {
			return err
		}
		f.Status, f.Step = flow.StatusFailed, flow.StepDone
		if err := k.Save(ctx, f); err != nil {
			return err
		}
		return k.Record(ctx, rl, c.AccountID, EventDraftDropped, req, f.DeviceID, map[string]any{"flow": f.ID, "case": c.Reference, "via": "owner"})
	})
	if err != nil {
		return nil, err
	}
	return s.answer(ctx, f)
}

// CancelLink is the cancel link of TemplateOpened.
func CancelLink(rl *realm.Realm, token string) string {
	return baseURL(rl) + "/recovery/cancel?token=" + token
}

func baseURL(rl *realm.Realm) string {
	if rl.BaseURL != "" {
		return strings.TrimRight(rl.BaseURL, "/")
	}
	return "https://" + rl.PublicHost
}

var jst = time.FixedZone("JST", 9*60*60)

// when writes t as messages of locale show times.
func when(t time.Time, locale string) string {
	if locale == "ja" {
		return t.In(jst).Format("2006-01-02 15:04 JST")
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// Cancel cancels the open case whose cancel link (TemplateOpened) the
// token is: single use; an empty token is field_required (field token), an
// unknown, used or expired token is not_found, a
// case decided already recovery_case_decided. The owner (or whoever holds
// the account's verified channel) stops a case that someone with the
// password opened. It returns the case.
func (s *Service) Cancel(ctx context.Context, rl *realm.Realm, req ninsho.Request, token string) (*Case, error) {
	if token == "" {
		return nil, ninsho.FieldError(ninsho.CodeFieldRequired, "token")
	}
	k := s.Kit
	var c *Case
	err := k.Tx.InTx(ctx, func(ctx context.Context) error {
		link, err := k.Codes.ConsumeLink(ctx, rl.ID, PurposeCancel, token)
		if err != nil {
			return err
		}
		if c, err = s.Store.Case(ctx, rl.ID, link.FlowID); err != nil {
			return err
		}
		if c.AccountID != link.AccountID {
			return errNotFound
		}
		if c.Status != StatusOpen {
			return ninsho.E(ninsho.CodeRecoveryCaseDecided)
		}
		now := k.Clock.Now()
		c.Status, c.DecidedAt, c.DecidedBy = StatusCancelled, &now, "account:"+c.AccountID
		if err := s.Store.UpdateCase(ctx, c, StatusOpen); err != nil {
			return err
		}
		// Nothing is left to review: the files go at once.
		n, err := s.Documents.DeleteDocuments(ctx, c.ID)
		if err != nil {
			return err
		}
		return k.Record(ctx, rl, c.AccountID, EventCancelled, req, "", map[string]any{
			"case": c.Reference, "from": string(StatusOpen), "via": "link", "documents_deleted": n,
		})
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// CancelPreview returns the open case the cancel link token would cancel,
// using nothing: the link's page shows it before the owner confirms. The
// refusals are Cancel's: field_required (field token) for an empty token,
// not_found for an unknown, used or expired one, recovery_case_decided for
// a case no longer open.
func (s *Service) CancelPreview(ctx context.Context, rl *realm.Realm, token string) (*Case, error) {
	if token == "" {
		return nil, ninsho.FieldError(ninsho.CodeFieldRequired, "token")
	}
	link, err := s.Kit.Codes.UsableLink(ctx, rl.ID, PurposeCancel, token)
	if err != nil {
		return nil, err
	}
	if link == nil {
		return nil, errNotFound
	}
	c, err := s.Store.Case(ctx, rl.ID, link.FlowID)
	if err != nil {
		return nil, err
	}
	if c.AccountID != link.AccountID {
		return nil, errNotFound
	}
	if c.Status != StatusOpen {
		return nil, ninsho.E(ninsho.CodeRecoveryCaseDecided)
	}
	return c, nil
}

// QueueItem is one open case in the reviewers' queue.
type QueueItem struct {
	Reference    string
	Realm        string
	AccountID    string
	DocumentType DocumentType
	SubmittedAt  time.Time
	DueAt        time.Time
	Overdue      bool
}

// Queue returns up to limit open cases of every realm, the earliest due
// first (so the overdue ones lead).
func (s *Service) Queue(ctx context.Context, now time.Time, limit int) ([]QueueItem, error) {
	cs, err := s.Store.OpenCases(ctx, limit)
	if err != nil {
		return nil, err
	}
	out := make([]QueueItem, 0, len(cs))
	for _, c := range cs {
		it := QueueItem{Reference: c.Reference, Realm: c.Realm, AccountID: c.AccountID, DocumentType: c.DocumentType, Overdue: c.Overdue(now)}
		if c.DueAt != nil {
			it.DueAt = *c.DueAt
		}
		if c.SubmittedAt != nil {
			it.SubmittedAt = *c.SubmittedAt
		}
		out = append(out, it)
	}
	return out, nil
}

// CaseView is a case with its documents' metadata (never their content).
type CaseView struct {
	Case      *Case
	Documents []*Document
}

// Case returns the case with the reference and its documents' metadata
// (not_found for none; drafts are not shown).
func (s *Service) Case(ctx context.Context, ref string) (*CaseView, error) {
	c, err := s.Store.Case(ctx, "", ref)
	if err != nil {
		return nil, err
	}
	if c.Status.Unsubmitted() {
		return nil, errNotFound
	}
	docs, err := s.Documents.Documents(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	return &CaseView{Case: c, Documents: docs}, nil
}

// Opened is one document's content as staff are given it: the plaintext,
// the MIME type found in it, and a generated file name (the reference, the
// slot and the extension of that type; never the uploaded name).
type Opened struct {
	Data     []byte
	Mime     string
	Filename string
}

// Document opens one document of the case with the reference for staff
// (not_found when the case, the document or its content — purged — is
// gone). A document whose seal does not open (another key set, a row
// copied from elsewhere) is internal.
func (s *Service) Document(ctx context.Context, caseRef, docID string) (*Opened, error) {
	if !ninsho.ValidID(docID) {
		return nil, errNotFound
	}
	c, err := s.Store.Case(ctx, "", caseRef)
	if err != nil {
		return nil, err
	}
	d, err := s.Documents.Document(ctx, c.ID, docID)
	if err != nil {
		return nil, err
	}
	plain, err := s.Box.Open(d.Sealed, AdditionalData(c.Realm, c.ID, d.ID))
	if err != nil {
		return nil, ninsho.Internal("recovery: document %s does not open: %v", d.ID, err)
	}
	return &Opened{Data: plain, Mime: d.Mime, Filename: c.Reference + "-" + string(d.Slot) + "." + Extension(d.Mime)}, nil
}

// OpenDocument is Document for a person: it records recovery.document_opened
// (actor, from where, case, document, slot — never the content) before it
// hands the content out.
func (s *Service) OpenDocument(ctx context.Context, actor string, req ninsho.Request, caseRef, docID string) (*Opened, error) {
	o, err := s.Document(ctx, caseRef, docID)
	if err != nil {
		return nil, err
	}
	c, err := s.Store.Case(ctx, "", caseRef)
	if err != nil {
		return nil, err
	}
	if err := s.record(ctx, c, actor, EventDocumentOpened, req, map[string]any{"case": c.Reference, "document": docID}); err != nil {
		return nil, err
	}
	return o, nil
}

// Digest is a document's SHA-256 in hex.
func (d *Document) Digest() string { return hex.EncodeToString(d.SHA256) }

// reason checks a decision's written reason (field name).
func reason(s, name string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", ninsho.FieldError(ninsho.CodeFieldRequired, name)
	}
	if utf8.RuneCountInString(s) > MaxReason {
		return "", ninsho.FieldError(ninsho.CodeFieldTooLong, name).WithParam("max", MaxReason)
	}
	return s, nil
}

// decide loads the open case ref and runs fn in one transaction after
// writing the decision (status to, by actor, reason).
func (s *Service) decide(ctx context.Context, actor string, ref string, to Status, why, instead string,
	fn func(ctx context.Context, rl *realm.Realm, c *Case, a *account.Account) error) (*Case, error) {
	k := s.Kit
	c, err := s.Store.Case(ctx, "", ref)
	if err != nil {
		return nil, err
	}
	if c.Status.Unsubmitted() {
		return nil, errNotFound
	}
	if c.Status != StatusOpen {
		return nil, ninsho.E(ninsho.CodeRecoveryCaseDecided)
	}
	rl := s.Realms.ByID(c.Realm)
	if rl == nil {
		return nil, errNotFound
	}
	a, err := k.Accounts.Account(ctx, c.AccountID)
	if err != nil {
		return nil, err
	}
	now := k.Clock.Now()
	c.Status, c.DecidedAt, c.DecidedBy, c.Reason, c.Instead = to, &now, actor, why, instead
	err = k.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.Store.UpdateCase(ctx, c, StatusOpen); err != nil {
			return err
		}
		return fn(ctx, rl, c, a)
	})
	if err != nil {
		return nil, err
	}
	k.Outbox.Wake()
	return c, nil
}

// record appends an event by actor.
func (s *Service) record(ctx context.Context, c *Case, actor, typ string, req ninsho.Request, data map[string]any) error {
	k := s.Kit
	return k.Events.AppendEvent(ctx, &event.Event{
		ID: ninsho.NewID(k.Clock, k.Random), Realm: c.Realm, AccountID: c.AccountID, Type: typ, Actor: actor,
		IP: req.IP, UserAgent: req.UserAgent, RequestID: req.RequestID, Data: data, At: k.Clock.Now(),
	})
}

// Approve decides the open case ref for its owner, by actor (e.g.
// "staff:<id>") from req, with a written reason: two-step verification is
// turned off and every method and backup code removed
// (twostep.Service.RollBack over all time, which a realm policy does not
// refuse), every trusted device forgotten, every session revoked, and the
// owner is told to set up 2SV again (TemplateApproved). Where the realm
// requires 2SV of the account's type, the next sign-in leads through
// enrolment. The event recovery.approved keeps the actor, case and reason.
// A case decided already is recovery_case_decided.
func (s *Service) Approve(ctx context.Context, actor string, req ninsho.Request, ref, why string) (*Case, error) {
	why, err := reason(why, "reason")
	if err != nil {
		return nil, err
	}
	k := s.Kit
	c, err := s.decide(ctx, actor, ref, StatusApproved, why, "", func(ctx context.Context, rl *realm.Realm, c *Case, a *account.Account) error {
		now := k.Clock.Now()
		// The changes are the reviewer's, not made from the owner's
		// device: their events are the actor's (the owner's history
		// offers no "this wasn't me" on them) and carry the request id
		// (which ties them to recovery.approved, where the reviewer's
		// address and browser are) but not where staff work from. No
		// two-step alert is sent: TemplateApproved below is the notice.
		own := ninsho.Request{RequestID: req.RequestID, Client: req.Client}
		if _, err := k.TwoStep.RollBackByStaff(ctx, rl, own, actor, a, time.Time{}, now.Add(time.Hour)); err != nil {
			return err
		}
		if _, err := k.Trust.ForgetAll(ctx, rl, own, a.ID, trust.ReasonTwoStepOff); err != nil {
			return err
		}
		n, err := k.Sessions.Store.RevokeAccountSessions(ctx, a.ID, "", now)
		if err != nil {
			return err
		}
		if err := s.record(ctx, c, actor, EventApproved, req, map[string]any{
			"case": c.Reference, "decision": string(StatusApproved), "reason": why, "sessions_revoked": n,
		}); err != nil {
			return err
		}
		return s.tell(ctx, rl, a, TemplateApproved, "/signin", c, nil)
	})
	if err != nil {
		return nil, err
	}
	if s.Forget != nil {
		s.Forget(c.AccountID)
	}
	return c, nil
}

// Reject decides the open case ref against its owner, by actor from req,
// with the reason for the owner and what to send instead (both required,
// both sent word for word by TemplateRejected) and an optional internal
// note, kept in the event recovery.rejected ("note") and never sent.
// Nothing of the account changes; the owner may open a new case. A case
// decided already is recovery_case_decided.
func (s *Service) Reject(ctx context.Context, actor string, req ninsho.Request, ref, why, instead, note string) (*Case, error) {
	why, err := reason(why, "reason")
	instead, err2 := reason(instead, "instead")
	var err3 error
	if strings.TrimSpace(note) != "" {
		note, err3 = reason(note, "note")
	}
	if err = ninsho.Fields(err, err2, err3); err != nil {
		return nil, err
	}
	return s.decide(ctx, actor, ref, StatusRejected, why, instead, func(ctx context.Context, rl *realm.Realm, c *Case, a *account.Account) error {
		data := map[string]any{"case": c.Reference, "decision": string(StatusRejected), "reason": why, "instead": instead}
		if note != "" {
			data["note"] = note
		}
		if err := s.record(ctx, c, actor, EventRejected, req, data); err != nil {
			return err
		}
		return s.tell(ctx, rl, a, TemplateRejected, "/recovery", c, map[string]string{"reason": why, "instead": instead})
	})
}

// tell sends the decision's message to a's verified channels, with a link
// to the realm's page at path. The device and network shown are none: the
// decision was made by staff, not from the owner's device.
func (s *Service) tell(ctx context.Context, rl *realm.Realm, a *account.Account, template, path string, c *Case, extra map[string]string) error {
	locale := authflow.Locale(&flow.Flow{}, a, rl)
	vars := map[string]string{"reference": c.Reference}
	for key, v := range extra {
		vars[key] = v
	}
	return s.Kit.SendAlerts(ctx, rl, a, ninsho.Request{}, authflow.Alerts{
		Template: template, Locale: locale, Dests: authflow.VerifiedDests(a), Extra: vars,
		Link:  func(context.Context, authflow.AlertDest) (string, error) { return baseURL(rl) + path, nil },
		Event: map[string]any{"case": c.Reference},
	})
}

// OverdueCount counts the open cases past their due time at now (metrics,
// the console's top).
func (s *Service) OverdueCount(ctx context.Context, now time.Time) (int, error) {
	return s.Store.CountDueBefore(ctx, now)
}

// Purge deletes, in bounded batches, the documents of cases decided or
// cancelled more than DocumentRetention ago, and drafts (with their
// documents) whose flow ended; it returns how many rows it deleted. The
// case rows stay (the reference and decision remain answerable).
func (s *Service) Purge(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for _, step := range []func() (int, error){
		func() (int, error) { return s.Documents.PurgeDocuments(ctx, now.Add(-DocumentRetention), PurgeBatch) },
		func() (int, error) { return s.Documents.PurgeDrafts(ctx, now.Add(-FlowLifetime), PurgeBatch) },
	} {
		for range PurgeBatches {
			n, err := step()
			total += n
			if err != nil {
				return total, err
			}
			if n < PurgeBatch {
				break
			}
		}
	}
	return total, nil
}
