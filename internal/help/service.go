package help

import (
	"context"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/authflow"
	"github.com/ninsho/ninsho/internal/caseref"
	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/identifier"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/startgate"
	"github.com/ninsho/ninsho/internal/throttle"
	"github.com/ninsho/ninsho/internal/twostep"
)

// Purpose is the purpose of the code that proves a request's contact.
const Purpose code.Purpose = "help_request"

// Message templates.
const (
	// TemplateCode carries the code that proves the contact. Variables:
	// code, name (always empty), minutes, host.
	TemplateCode = message.TemplateHelpCode
	// TemplateReceived confirms a request with its reference number and
	// due time. Variables: name (empty), ref, due, host.
	TemplateReceived = message.TemplateHelpReceived
	// TemplateAnswer carries a staff answer. Variables: name (empty), ref,
	// text, host.
	TemplateAnswer = message.TemplateHelpAnswer
)

// Caps of a contact, counted before anything is written.
const (
	ContactStartsPerHour = 3  // requests started per contact per hour
	ContactStartsPerDay  = 10 // … per day
	MaxOpenPerContact    = 3  // open requests per contact
	DefaultRetention     = 180 * 24 * time.Hour
	DefaultPurgeBatch    = 500
)

// StartLimits are the start gate's caps of help requests per client
// address, /24·/48 network and device (startgate.Gate.Limits[flow.KindHelp]).
var StartLimits = startgate.Limits{PerAddress: 10, PerPrefix: 50, PerDevice: 5}

// Flow state keys.
const (
	stateIdentifier = "help_identifier"
	stateStep       = "help_step"
	stateRef        = "help_ref"
	stateText       = "help_text"
	stateReference  = "help_reference" // the reference, once created
	stateDue        = "help_due"       // its due time (Unix seconds)
)

// Event types.
const (
	TypeStarted   = "help.started"   // a code went to the contact given
	TypeConfirmed = "help.confirmed" // the code was right: the request exists
	TypeAnswered  = "help.answered"  // staff sent an answer
	TypeClosed    = "help.closed"    // staff closed the request
)

// Service runs help-request flows (flow.KindHelp) and the staff's work on
// requests. It implements flow.Handler.
type Service struct {
	Kit    *authflow.Kit
	Realms *realm.Registry
	Store  Store
	// Gate caps starts per client address, network and device (with
	// StartLimits for flow.KindHelp); nil caps nothing more than the
	// per-contact caps.
	Gate *startgate.Gate
	// Counter counts starts per contact (ContactStartsPerHour/Day).
	Counter *throttle.Counter
	// Retention is how long a closed request is kept; 0 is
	// DefaultRetention.
	Retention time.Duration
}

var _ flow.Handler = (*Service)(nil)

// Input is what a person sends to ask for help.
type Input struct {
	Identifier  string // the identifier tried (optional, lenient)
	Step        string // one of Steps
	Ref         string // a reference number quoted (optional)
	Description string // optional, at most MaxDescription characters
	Contact     string // e-mail address or mobile number to answer at
}

// parsed is Input checked.
type parsed struct {
	identifier string
	step       Step
	ref        string
	text       string
	contact    identifier.Identifier
}

// Check reads in for realm rl and refuses every bad field at once, in the
// order of the request form (/help/request): contact, step, identifier,
// reference, description.
func Check(rl *realm.Realm, in Input) error {
	_, err := check(rl, in)
	return err
}

// check reads in for realm rl and refuses every bad field at once, in the
// form's order.
func check(rl *realm.Realm, in Input) (parsed, error) {
	var p parsed
	var errs []error
	c, err := authflow.ParseIdentifier(in.Contact, rl)
	if err == nil && c.Kind == identifier.KindPhone {
		// A code by text message only to a number that can take one:
		// never a landline, free-phone, premium-rate or satellite number
		// (SMS pumping), as everywhere else a number gets a code.
		if !twostep.PhoneAllowed(c.Value) {
			err = ninsho.E(ninsho.CodePhoneNumberNotAllowed)
		} else if merr := identifier.RequireMobile(c); merr != nil {
			err = ninsho.E(ninsho.CodePhoneNotMobile)
		}
	}
	if err != nil {
		e := ninsho.ErrorOf(err)
		e.Field = "contact"
		errs = append(errs, e)
	}
	p.contact = c
	p.step = Step(in.Step)
	if in.Step == "" {
		errs = append(errs, ninsho.FieldError(ninsho.CodeFieldRequired, "step"))
	} else if !p.step.Valid() {
		errs = append(errs, ninsho.FieldError(ninsho.CodeRequestInvalid, "step"))
	}
	if id := strings.TrimFunc(in.Identifier, unicode.IsSpace); id != "" {
		if len(id) > MaxIdentifier {
			errs = append(errs, ninsho.FieldError(ninsho.CodeFieldTooLong, "identifier").WithParam("max", MaxIdentifier))
		} else if v, err := identifier.Parse(id, rl.PhoneRegion); err == nil {
			p.identifier = v.Value
		} else {
			p.identifier = strings.ToValidUTF8(id, "")
		}
	}
	if ref := strings.TrimFunc(in.Ref, unicode.IsSpace); ref != "" {
		p.ref = QuotedRef(ref)
		if p.ref == "" {
			// Its own message: "not a reference number we issue"
			// (error.request_invalid.reference), not "reload the page".
			errs = append(errs, ninsho.FieldError(ninsho.CodeRequestInvalid, "reference"))
		}
	}
	p.text = strings.TrimFunc(strings.ToValidUTF8(in.Description, ""), unicode.IsSpace)
	if utf8.RuneCountInString(p.text) > MaxDescription {
		errs = append(errs, ninsho.FieldError(ninsho.CodeFieldTooLong, "description").WithParam("max", MaxDescription))
	}
	if len(errs) > 0 {
		return parsed{}, ninsho.Fields(errs...)
	}
	return p, nil
}

// QuotedRef returns a reference number as people quote it in its one written
// form: a case reference (caseref.Parse) or a request id (hexadecimal digits
// and hyphens, at most MaxRef), or "" when it is neither.
func QuotedRef(s string) string {
	s = strings.TrimFunc(s, unicode.IsSpace)
	if ref, _, ok := caseref.Parse(s); ok {
		return ref
	}
	if s == "" || len(s) > MaxRef {
		return ""
	}
	for _, r := range strings.ToLower(s) {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f' || r == '-') {
			return ""
		}
	}
	return strings.ToLower(s)
}

// Start begins a help request: the input is checked (every bad field at
// once), the start is counted per client address, network and device
// (Gate) and per contact (Counter, and the contact's open requests) before
// anything is written (ninsho.CodeRateLimited past a cap), and a code goes
// to the contact in the strangers' lane (the SMS cost guard first for a
// phone). Nothing is sent to, and nothing is counted for, the account of
// the identifier tried: it is not even looked up until the code is right.
func (s *Service) Start(ctx context.Context, rl *realm.Realm, req ninsho.Request, in Input) (*flow.Answer, error) {
	p, err := check(rl, in)
	if err != nil {
		return nil, err
	}
	k := s.Kit
	ch := authflow.ChannelFor(p.contact)
	if !k.CanSend(ch) {
		return nil, ninsho.FieldError(ninsho.CodeChannelUnavailable, "contact").WithParam("channel", string(ch))
	}
	d, newToken, err := k.Devices.Resolve(ctx, rl.ID, req.DeviceToken, req.UserAgent)
	if err != nil {
		return nil, err
	}
	if err := s.admitContact(ctx, rl, p.contact.Value); err != nil {
		return nil, err
	}
	if _, err := s.Gate.Admit(ctx, flow.KindHelp, rl.ID, req, d.ID); err != nil {
		return nil, err
	}
	if err := s.hitContact(ctx, rl, p.contact.Value); err != nil {
		return nil, err
	}
	var f *flow.Flow
	err = k.Tx.InTx(ctx, func(ctx context.Context) error {
		f = k.NewFlow(flow.KindHelp, rl, req, d)
		// The flow's identifier is the contact: its wrong codes count
		// under it (code.GuardKey), never under an account.
		f.Identifier = p.contact.Value
		f.Set(stateIdentifier, p.identifier)
		f.Set(stateStep, string(p.step))
		f.Set(stateRef, p.ref)
		f.Set(stateText, p.text)
		f.Status, f.Step = flow.StatusChallenge, flow.StepVerificationCode
		if err := s.sendCode(ctx, rl, f); err != nil {
			return err
		}
		if err := k.Save(ctx, f); err != nil {
			return err
		}
		return s.record(ctx, rl, "", "anonymous", TypeStarted, req, f.DeviceID, map[string]any{
			"flow": f.ID, "step": string(p.step), "channel": f.Channel,
		})
	})
	if err != nil {
		return nil, err
	}
	k.Outbox.Wake()
	return s.answer(f, newToken), nil
}

// contactKeys are the counter keys of a contact's starts per hour and day.
func contactKeys(rl *realm.Realm, contact string) (hour, day string) {
	return throttle.Key("help.contact.hour", rl.ID, contact), throttle.Key("help.contact.day", rl.ID, contact)
}

// admitContact refuses a start for contact past its caps.
func (s *Service) admitContact(ctx context.Context, rl *realm.Realm, contact string) error {
	limited := ninsho.E(ninsho.CodeRateLimited).WithParam("retry_after_s", 3600)
	if s.Counter != nil {
		hour, day := contactKeys(rl, contact)
		nh, err := s.Counter.Count(ctx, hour, time.Hour)
		if err != nil {
			return err
		}
		nd, err := s.Counter.Count(ctx, day, 24*time.Hour)
		if err != nil {
			return err
		}
		if nh >= ContactStartsPerHour || nd >= ContactStartsPerDay {
			return limited
		}
	}
	open, err := s.Store.CountOpenHelpRequestsTo(ctx, rl.ID, contact)
	if err != nil {
		return err
	}
	if open >= MaxOpenPerContact {
		return limited
	}
	return nil
}

// hitContact counts a start for contact.
func (s *Service) hitContact(ctx context.Context, rl *realm.Realm, contact string) error {
	if s.Counter == nil {
		return nil
	}
	hour, day := contactKeys(rl, contact)
	if err := s.Counter.Hit(ctx, hour, 1, time.Hour); err != nil {
		return err
	}
	return s.Counter.Hit(ctx, day, 1, 24*time.Hour)
}

// sendCode issues f's code to its contact (f.Identifier) and enqueues it,
// in the strangers' lane, after the SMS cost guard for a phone.
func (s *Service) sendCode(ctx context.Context, rl *realm.Realm, f *flow.Flow) error {
	k := s.Kit
	dest := f.Identifier
	ch := authflow.ChannelFor(identifier.Normalized(dest))
	pass, err := k.SMSGuard.Check(ctx, rl, ch, dest, code.LaneStranger)
	if err != nil {
		return err
	}
	issued, err := k.Codes.Issue(ctx, f, "", Purpose, ch, dest, rl.CodeLifetime())
	if err != nil {
		return err
	}
	if err := pass.Count(ctx); err != nil {
		return err
	}
	locale := authflow.Locale(f, nil, rl)
	m, err := k.Notice(ctx, rl, message.Channel(ch), dest, TemplateCode, locale, map[string]string{
		"code": issued.Digits, "name": "", "minutes": strconv.Itoa(int(issued.Lifetime / time.Minute)),
	})
	if err != nil {
		return err
	}
	f.Set(flow.StateCodeMessage, m.ID)
	// The code that used up the contact's budget comes with the
	// code_limit notice, as every other code does.
	return k.CodeLimitNotice(ctx, rl, issued, ch, dest, locale, func(ctx context.Context, _ string, ch message.Channel, to, template, locale string, vars map[string]string) (*message.Message, error) {
		return k.Notice(ctx, rl, ch, to, template, locale, vars)
	})
}

// Act applies submit_code and resend_code.
func (s *Service) Act(ctx context.Context, f *flow.Flow, req ninsho.Request, act flow.Action) (*flow.Answer, error) {
	rl := s.Realms.ByID(f.Realm)
	if rl == nil {
		return nil, ninsho.E(ninsho.CodeFlowNotFound)
	}
	switch {
	case act.Name == flow.ActionSubmitCode && f.Step == flow.StepVerificationCode:
		return s.submitCode(ctx, rl, f, req, act.Code)
	case act.Name == flow.ActionResendCode && f.Step == flow.StepVerificationCode:
		err := s.Kit.Tx.InTx(ctx, func(ctx context.Context) error {
			if err := s.sendCode(ctx, rl, f); err != nil {
				return err
			}
			return s.Kit.Save(ctx, f)
		})
		if err == nil {
			s.Kit.Outbox.Wake()
		}
		return s.answer(f, ""), err
	}
	return s.answer(f, ""), ninsho.FieldError(ninsho.CodeActionUnknown, "action")
}

// View describes f as it stands.
func (s *Service) View(ctx context.Context, f *flow.Flow) (*flow.Answer, error) {
	return s.answer(f, ""), nil
}

func (s *Service) answer(f *flow.Flow, deviceToken string) *flow.Answer {
	ans := &flow.Answer{Flow: f, DeviceToken: deviceToken}
	switch {
	case f.Status == flow.StatusComplete:
		n := &flow.Next{Step: flow.StepDone, Reference: f.Get(stateReference)}
		if sec, err := strconv.ParseInt(f.Get(stateDue), 10, 64); err == nil {
			due := time.Unix(sec, 0).UTC()
			n.DueAt = &due
		}
		ans.Next = n
	case f.Status == flow.StatusFailed:
	default:
		ans.Next = s.Kit.CodeNext(f, s.Realms.ByID(f.Realm), nil)
	}
	return ans
}

// submitCode checks the code; the right one creates the request: a fresh
// reference, status open, due after the realm's help.due, linked to the
// realm's account of the identifier tried when there is one. The lookup and
// the writes are the same whether or not an account matches, and so is the
// answer. The contact gets the confirmation with the reference.
func (s *Service) submitCode(ctx context.Context, rl *realm.Realm, f *flow.Flow, req ninsho.Request, input string) (*flow.Answer, error) {
	k := s.Kit
	var stepErr error
	err := k.Tx.InTx(ctx, func(ctx context.Context) error {
		_, err := k.Codes.Check(ctx, f, Purpose, input)
		switch ninsho.CodeOf(err) {
		case "":
		case ninsho.CodeCodeIncorrect, ninsho.CodeCodeExpired, ninsho.CodeCodeAttemptsExceeded, ninsho.CodeNoCodeRequested,
			ninsho.CodeAccountLocked, ninsho.CodeFieldRequired:
			if ninsho.IsCode(err, ninsho.CodeCodeAttemptsExceeded) {
				f.Status = flow.StatusFailed
			}
			stepErr = err
			return k.Save(ctx, f)
		default:
			return err
		}
		accountID, err := s.accountOf(ctx, rl, f.Get(stateIdentifier))
		if err != nil {
			return err
		}
		now := k.Clock.Now()
		r := &Request{
			Ref: caseref.New(caseref.KindHelp, k.Random), Realm: rl.ID, AccountID: accountID,
			Identifier: f.Get(stateIdentifier), Step: Step(f.Get(stateStep)), QuotedRef: f.Get(stateRef),
			Description: f.Get(stateText), Locale: authflow.Locale(f, nil, rl),
			Channel: f.Channel, Contact: f.Destination, Status: StatusOpen,
			CreatedAt: now, DueAt: now.Add(rl.HelpDue()),
		}
		if err := s.Store.CreateHelpRequest(ctx, r); err != nil {
			return err
		}
		if err := k.Notify(ctx, rl, message.Channel(r.Channel), r.Contact, TemplateReceived, r.Locale, map[string]string{
			"name": "", "ref": r.Ref, "due": formatDue(r.DueAt, r.Locale),
		}); err != nil {
			return err
		}
		// The free text leaves the flow: the request keeps it.
		f.Set(stateText, "")
		f.Set(stateIdentifier, "")
		f.Set(stateReference, r.Ref)
		f.Set(stateDue, strconv.FormatInt(r.DueAt.Unix(), 10))
		f.Status, f.Step = flow.StatusComplete, flow.StepDone
		if err := k.Save(ctx, f); err != nil {
			return err
		}
		return s.record(ctx, rl, accountID, "anonymous", TypeConfirmed, req, f.DeviceID, map[string]any{
			"flow": f.ID, "ref": r.Ref, "step": string(r.Step), "channel": r.Channel,
			"contact": identifier.Mask(identifier.Normalized(r.Contact), rl.PhoneRegion),
		})
	})
	if err != nil {
		return nil, err
	}
	if stepErr == nil {
		k.Outbox.Wake()
	}
	return s.answer(f, ""), stepErr
}

// accountOf returns the id of the realm's account holding the identifier
// tried, or "". It always runs one lookup, also for an identifier that did
// not parse or was not typed, so that a request costs the same either way.
func (s *Service) accountOf(ctx context.Context, rl *realm.Realm, typed string) (string, error) {
	id := identifier.Normalized(typed)
	var a *account.Account
	var err error
	if id.Kind == identifier.KindPhone && strings.HasPrefix(typed, "+") {
		a, err = s.Kit.Accounts.AccountByPhone(ctx, rl.ID, id.Value)
	} else {
		a, err = s.Kit.Accounts.AccountByEmail(ctx, rl.ID, typed)
	}
	if ninsho.IsCode(err, ninsho.CodeAccountNotFound) || ninsho.IsCode(err, ninsho.CodeNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return a.ID, nil
}

// formatDue writes the due time as the alerts write times: Japan time for
// a Japanese message, UTC otherwise ("2026-11-27 10:02 JST").
// FormatDue is the due time t as the confirmation message says it in
// locale (the hosted done page says it the same way).
func FormatDue(t time.Time, locale string) string { return formatDue(t, locale) }

func formatDue(t time.Time, locale string) string {
	if locale == "ja" {
		return t.In(time.FixedZone("JST", 9*60*60)).Format("2006-01-02 15:04 JST")
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// record appends an event with actor.
func (s *Service) record(ctx context.Context, rl *realm.Realm, accountID, actor, typ string, req ninsho.Request, deviceID string, data map[string]any) error {
	ua := req.UserAgent
	if len(ua) > 512 {
		ua = strings.ToValidUTF8(ua[:512], "")
	}
	return s.Kit.Events.AppendEvent(ctx, &event.Event{
		ID: ninsho.NewID(s.Kit.Clock, s.Kit.Random), Realm: rl.ID, AccountID: accountID, Type: typ, Actor: actor,
		IP: req.IP, UserAgent: ua, DeviceID: deviceID, RequestID: req.RequestID, Data: data, At: s.Kit.Clock.Now(),
	})
}
