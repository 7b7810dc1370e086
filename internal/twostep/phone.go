package twostep

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/identifier"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/session"
	"github.com/ninsho/ninsho/internal/smsguard"
	"github.com/ninsho/ninsho/internal/throttle"
)

// Code purposes of the phone methods: proving a new number (the code is
// bound to the credential, whose id is its enrolment's id) and the code of
// a sign-in challenge (bound to the sign-in flow).
const (
	PurposePhoneEnrol   code.Purpose = "two_step_phone"
	PurposeSecondFactor code.Purpose = "second_factor"
)

// KindPhoneEnrol is the kind of the record that keeps the sends, the wrong
// answers and the cool-down of a phone method's enrolment. It is a flow row
// whose id is the credential's, bound to clientAccount, a kind of client no
// request has: flow.Engine never loads it (flow_not_found), only the
// methods below do.
const KindPhoneEnrol flow.Kind = "two_step_phone"

const clientAccount ninsho.Client = "account"

// phoneEnrolLifetime is how long codes may be resent for one enrolment.
const phoneEnrolLifetime = time.Hour

// stateReplaces is the enrolment-state key of the phone credential the new
// number replaces once proved.
const stateReplaces = "replaces"

// Phone is what the SMS and voice-call methods need besides the Service:
// the code component (keyed hashes, life, attempts, cool-down, hourly
// budget per destination with lanes), the flows table (the enrolments'
// counters), the outbox, the shared counter of the account's enrolment
// codes and the channels that have a provider.
type Phone struct {
	Codes  *code.Service
	Flows  flow.Store
	Outbox *message.Outbox
	// Counter counts each account's enrolment codes and numbers over the
	// hour (PhoneEnrolCodesPerHour, PhoneEnrolNumbersPerHour); required.
	Counter *throttle.Counter
	// Channels lists the channels that have a provider; nil means all
	// (development: every channel lands in the inbox).
	Channels map[code.Channel]bool
	// SMSGuard caps SMS and voice messages per number, country and realm;
	// nil caps none.
	SMSGuard *smsguard.Guard
}

// CanSend reports whether codes can go out over ch.
func (p *Phone) CanSend(ch code.Channel) bool {
	return p != nil && (p.Channels == nil || p.Channels[ch])
}

// PhoneEnrolment is what BeginPhone returns: the new, unproved credential
// and the number as people see it, masked.
type PhoneEnrolment struct {
	CredentialID string
	Destination  string
	// ResendAfter is the wait before another code may be asked for.
	ResendAfter time.Duration
}

// IsPhone reports whether m is a method whose code is sent to a phone.
func IsPhone(m Method) bool { return m == MethodSMS || m == MethodVoice }

// ChannelOf returns the code channel of a phone method.
func ChannelOf(m Method) code.Channel {
	if m == MethodVoice {
		return code.ChannelVoice
	}
	return code.ChannelSMS
}

// SessionMethod returns the session method (RFC 8176) of a phone method:
// "sms" for a text message, "tel" for a voice call.
func SessionMethod(m Method) string {
	if m == MethodVoice {
		return session.MethodVoice
	}
	return session.MethodSMS
}

// ParsePhone reads the number typed for method m in realm rl: a phone
// number in the realm's region (an e-mail address is never a 2SV method:
// identifier_invalid of kind two_step); a text message needs a mobile
// number (phone_not_mobile of kind two_step), a voice call any number
// that is a person's line: a premium-rate, shared-cost, toll-free, UAN,
// voicemail, pager or personal number is refused for both methods
// (phone_number_not_allowed; toll fraud). A realm that cannot send text messages has no phone methods
// (channel_unavailable). Every refusal is about the field "phone".
func (s *Service) ParsePhone(rl *realm.Realm, m Method, typed string) (identifier.Identifier, error) {
	if !IsPhone(m) {
		return identifier.Identifier{}, ninsho.FieldError(ninsho.CodeChannelUnavailable, "method")
	}
	if rl.EmailOnly || !s.Phone.CanSend(ChannelOf(m)) {
		return identifier.Identifier{}, ninsho.FieldError(ninsho.CodeChannelUnavailable, "method").WithParam("channel", string(ChannelOf(m)))
	}
	if strings.TrimSpace(typed) == "" {
		return identifier.Identifier{}, ninsho.FieldError(ninsho.CodeFieldRequired, "phone")
	}
	id, err := identifier.Parse(typed, rl.PhoneRegion)
	if err == nil && id.Kind != identifier.KindPhone {
		err = ninsho.E(ninsho.CodeIdentifierInvalid)
	}
	if err == nil && !PhoneAllowed(id.Value) {
		err = ninsho.E(ninsho.CodePhoneNumberNotAllowed)
	}
	if err == nil && m == MethodSMS {
		err = identifier.RequireMobile(id)
	}
	if err != nil {
		e := ninsho.ErrorOf(err)
		if e == nil || (e.Code != ninsho.CodeIdentifierInvalid && e.Code != ninsho.CodePhoneNotMobile && e.Code != ninsho.CodePhoneNumberNotAllowed) {
			return identifier.Identifier{}, err
		}
		return identifier.Identifier{}, ninsho.FieldError(e.Code, "phone").WithParam("kind", "two_step")
	}
	return id, nil
}

// PhoneAllowed reports whether codes may be sent to the E.164 number e164
// by text or call: false for a number that is not valid and for the types
// that bill the caller or reach no one person (premium rate, shared cost,
// toll free, UAN, voicemail access, pager, personal number) and for
// numbers of no country (identifier.NonGeographic: satellite phones). A valid number
// whose type the numbering plan cannot tell (UNKNOWN) is allowed.
func PhoneAllowed(e164 string) bool {
	num, err := phonenumbers.Parse(e164, "")
	if err != nil || !phonenumbers.IsValidNumber(num) || identifier.NonGeographic(num) {
		return false
	}
	switch phonenumbers.GetNumberType(num) {
	case phonenumbers.PREMIUM_RATE, phonenumbers.SHARED_COST, phonenumbers.TOLL_FREE, phonenumbers.UAN,
		phonenumbers.VOICEMAIL, phonenumbers.PAGER, phonenumbers.PERSONAL_NUMBER:
		return false
	}
	return true
}

// BeginPhone adds a new, unproved SMS or voice-call credential with the
// number typed to a (an earlier unfinished one of the method is replaced)
// and sends a code to it by that channel (template two_step_code, in the
// language of the request, else the account's). The code is bound to the
// credential and its purpose, lives 10 minutes and takes 5 wrong answers;
// it is drawn from the strangers' lane of the number's hourly budget (the
// owner's where the number is the account's own verified phone): the
// caller owns the account, not (yet) the number, so an enrolment never
// spends the codes the number's owner needs to sign in. replaces, when
// not "", is a proved SMS or voice credential of a that the new one takes
// the place of once proved (ProvePhone); until then the old number keeps
// working. It does not count as a method until ProvePhone. Within 30 s of
// the last code of a's unfinished enrolment to the same number, by either
// method, it is refused with resend_too_soon (enrolCooldown).
func (s *Service) BeginPhone(ctx context.Context, rl *realm.Realm, req ninsho.Request, a *account.Account, m Method, typed, replaces string) (*PhoneEnrolment, error) {
	id, err := s.ParsePhone(rl, m, typed)
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	c := &Credential{
		ID: ninsho.NewID(s.Clock, s.Random), Realm: rl.ID, AccountID: a.ID, Method: m,
		Label: identifier.Mask(id, rl.PhoneRegion), Phone: id.Value, CreatedAt: now,
	}
	f := &flow.Flow{
		ID: c.ID, Realm: rl.ID, Kind: KindPhoneEnrol, Status: flow.StatusOpen, Step: flow.StepVerificationCode,
		AccountID: a.ID, Identifier: id.Value, Locale: req.ChosenLocale(), Client: clientAccount,
		CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(phoneEnrolLifetime),
	}
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		if replaces != "" {
			creds, err := s.Store.Credentials(ctx, rl.ID, a.ID)
			if err != nil {
				return err
			}
			if _, err := credentialByID(creds, replaces, func(c *Credential) bool { return IsPhone(c.Method) && c.Proved() }); err != nil {
				return ninsho.FieldError(ninsho.CodeNotFound, "replaces")
			}
			f.Set(stateReplaces, replaces)
		}
		if err := s.enrolCooldown(ctx, rl, a, id.Value); err != nil {
			return err
		}
		if a.Phone == id.Value && a.PhoneVerifiedAt != nil {
			// The account already proved this number (it signs in with
			// it): its codes are the owner's, not a stranger's.
			code.SetOwnerLane(f)
		}
		if err := s.Store.AddCredential(ctx, c); err != nil {
			return err
		}
		if err := s.sendPhoneCode(ctx, rl, a, f, m); err != nil {
			return err
		}
		if err := s.Phone.Flows.CreateFlow(ctx, f); err != nil {
			return err
		}
		f.Version = 1
		data := map[string]any{"credential": c.ID, "method": string(m)}
		if replaces != "" {
			data["replaces"] = replaces
		}
		return s.record(ctx, rl, a.ID, event.TypeTwoStepEnrolStarted, req, data)
	})
	if err != nil {
		return nil, err
	}
	s.Phone.Outbox.Wake()
	return &PhoneEnrolment{CredentialID: c.ID, Destination: c.Label, ResendAfter: s.Phone.Codes.ResendAfter(f)}, nil
}

// enrolCooldown refuses a new enrolment of a to number within the code
// cool-down (30 s) of the last enrolment code of a to the same number,
// whichever method (SMS or voice) and whichever enrolment (even one replaced
// since) sent it — unless the account has proved the number with a method,
// so that the owner adds voice right after SMS: ninsho.CodeResendTooSoon
// with params seconds and retry_after_s, as a resend would get, so that
// beginning again is no way round the cool-down.
func (s *Service) enrolCooldown(ctx context.Context, rl *realm.Realm, a *account.Account, number string) error {
	creds, err := s.Store.Credentials(ctx, rl.ID, a.ID)
	if err != nil {
		return err
	}
	var wait time.Duration
	proved := false // the account already proved this number with a method
	for i := range creds {
		c := &creds[i]
		if IsPhone(c.Method) && c.Proved() && c.Phone == number {
			proved = true
		}
		if !IsPhone(c.Method) || c.Proved() || c.Phone != number {
			continue
		}
		_, f, err := s.phoneEnrolment(ctx, rl, a, c.ID)
		if ninsho.IsCode(err, ninsho.CodeNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		wait = max(wait, s.Phone.Codes.ResendAfter(f))
	}
	if cool := s.Phone.Codes.Policy.ResendCooldown; wait <= 0 && !proved && s.Phone.Counter != nil && cool > 0 {
		// The enrolment that sent the last code may have been replaced
		// since (another number began in between): the count remembers.
		// A number the account has just proved with one method (SMS) may
		// take the other (voice) at once: that code is its owner's.
		n, err := s.Phone.Counter.Count(ctx, throttle.Key(familyEnrolRecent, rl.ID, a.ID+"/"+number), cool)
		if err != nil {
			return err
		}
		if n > 0 {
			wait = cool
		}
	}
	if wait <= 0 {
		return nil
	}
	secs := int((wait + time.Second - 1) / time.Second)
	return ninsho.E(ninsho.CodeResendTooSoon).WithParam("seconds", secs).WithParam("retry_after_s", secs)
}

// ResendPhone sends the code of a's unproved phone credential id again,
// with the code component's cool-down (resend_too_soon) and the number's
// hourly budget (resend_limit_reached). An unknown or proved credential is
// not_found; an enrolment older than an hour is flow_expired (begin again).
func (s *Service) ResendPhone(ctx context.Context, rl *realm.Realm, req ninsho.Request, a *account.Account, id string) (*PhoneEnrolment, error) {
	var out *PhoneEnrolment
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		c, f, err := s.phoneEnrolment(ctx, rl, a, id)
		if err != nil {
			return err
		}
		if f.Expired(s.Clock.Now()) || f.Status != flow.StatusOpen {
			return ninsho.E(ninsho.CodeFlowExpired)
		}
		if req.LocaleChosen {
			f.Locale = req.Locale
		}
		if err := s.sendPhoneCode(ctx, rl, a, f, c.Method); err != nil {
			return err
		}
		f.UpdatedAt = s.Clock.Now()
		if err := s.Phone.Flows.UpdateFlow(ctx, f); err != nil {
			return err
		}
		out = &PhoneEnrolment{CredentialID: c.ID, Destination: c.Label, ResendAfter: s.Phone.Codes.ResendAfter(f)}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.Phone.Outbox.Wake()
	return out, nil
}

// ProvePhone proves a's unproved phone credential id with the code sent to
// it. A wrong code proves nothing: it uses one of the enrolment's 5
// attempts and counts against the account's wrong-code guard (code_incorrect
// with attempts_left, code_attempts_exceeded on the last; code_expired past
// 10 minutes; account_locked while the guard pauses codes); the counted
// failure is committed. An unknown, proved or other credential is
// not_found. The first proved method turns 2SV on and becomes the
// preferred one. When the enrolment replaces an older number, that
// credential is removed in the same transaction and, if it was preferred,
// the new one is preferred instead.
func (s *Service) ProvePhone(ctx context.Context, rl *realm.Realm, req ninsho.Request, a *account.Account, id, typed string) (*Proved, error) {
	out := &Proved{}
	var refused error
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		c, f, err := s.phoneEnrolment(ctx, rl, a, id)
		if err != nil {
			return err
		}
		out.Method, out.SessionMethod = c.Method, SessionMethod(c.Method)
		if _, err := s.Phone.Codes.Check(ctx, f, PurposePhoneEnrol, typed); err != nil {
			switch ninsho.CodeOf(err) {
			case ninsho.CodeCodeIncorrect, ninsho.CodeCodeAttemptsExceeded, ninsho.CodeCodeExpired, ninsho.CodeNoCodeRequested,
				ninsho.CodeAccountLocked, ninsho.CodeFieldRequired:
				refused = err
				if ninsho.IsCode(err, ninsho.CodeCodeAttemptsExceeded) {
					f.Status = flow.StatusFailed
				}
				f.UpdatedAt = s.Clock.Now()
				return s.Phone.Flows.UpdateFlow(ctx, f)
			}
			return err
		}
		now := s.Clock.Now()
		f.Status, f.Step, f.UpdatedAt = flow.StatusComplete, flow.StepDone, now
		if err := s.Phone.Flows.UpdateFlow(ctx, f); err != nil {
			return err
		}
		if err := s.Store.ProveCredential(ctx, rl.ID, a.ID, c.ID, now); err != nil {
			return err
		}
		if err := s.record(ctx, rl, a.ID, event.TypeTwoStepMethodAdded, req, map[string]any{"credential": c.ID, "method": string(c.Method)}); err != nil {
			return err
		}
		st, err := s.Store.State(ctx, rl.ID, a.ID)
		if err != nil {
			return err
		}
		var replaced *Credential
		if old := f.Get(stateReplaces); old != "" {
			if replaced, err = s.replacePhone(ctx, rl, req, a, &st, old, c); err != nil {
				return err
			}
		}
		if err := s.enableWith(ctx, rl, req, a, &st, c, now, out); err != nil {
			return err
		}
		switch {
		case out.TurnedOn:
			return s.Notify(ctx, rl, req, a, ChangeTurnedOn, c.Method)
		case replaced != nil:
			return s.notifyAlso(ctx, rl, req, a, ChangePhoneChanged, c.Method, oldNumber(replaced))
		}
		return s.Notify(ctx, rl, req, a, ChangeMethodAdded, c.Method)
	})
	if err != nil {
		return nil, err
	}
	if refused != nil {
		return nil, refused
	}
	return out, nil
}

// replacePhone removes the phone credential old that c replaces (if it is
// still there) and moves the preferred method to c when old was it. The
// event says the removal was a replacement. It returns the credential
// removed (nil when it was gone already), whose number the caller alerts.
func (s *Service) replacePhone(ctx context.Context, rl *realm.Realm, req ninsho.Request, a *account.Account, st *State, old string, c *Credential) (*Credential, error) {
	creds, err := s.Store.Credentials(ctx, rl.ID, a.ID)
	if err != nil {
		return nil, err
	}
	prev, err := credentialByID(creds, old, func(c *Credential) bool { return IsPhone(c.Method) })
	if err != nil {
		return nil, nil // removed in between: nothing to replace
	}
	if err := s.Store.RemoveCredential(ctx, rl.ID, a.ID, old); err != nil {
		return nil, err
	}
	if err := s.record(ctx, rl, a.ID, event.TypeTwoStepMethodRemoved, req, map[string]any{
		"credential": old, "method": string(prev.Method), "reason": "replaced", "replaced_by": c.ID}); err != nil {
		return nil, err
	}
	if st.Preferred == old {
		st.Preferred, st.UpdatedAt = c.ID, s.Clock.Now()
		if err := s.Store.SetState(ctx, *st); err != nil {
			return nil, err
		}
		if err := s.record(ctx, rl, a.ID, event.TypeTwoStepPreferred, req, map[string]any{"credential": c.ID, "method": string(c.Method)}); err != nil {
			return nil, err
		}
	}
	return prev, nil
}

// phoneEnrolment returns a's unproved phone credential id and its
// enrolment record, or not_found (field credential).
func (s *Service) phoneEnrolment(ctx context.Context, rl *realm.Realm, a *account.Account, id string) (*Credential, *flow.Flow, error) {
	if s.Phone == nil {
		return nil, nil, ninsho.FieldError(ninsho.CodeNotFound, "credential")
	}
	creds, err := s.Store.Credentials(ctx, rl.ID, a.ID)
	if err != nil {
		return nil, nil, err
	}
	c, err := credentialByID(creds, id, func(c *Credential) bool { return IsPhone(c.Method) && !c.Proved() })
	if err != nil {
		return nil, nil, err
	}
	f, err := s.Phone.Flows.Flow(ctx, c.ID)
	if ninsho.IsCode(err, ninsho.CodeFlowNotFound) {
		return nil, nil, ninsho.FieldError(ninsho.CodeNotFound, "credential")
	}
	if err != nil {
		return nil, nil, err
	}
	if f.Kind != KindPhoneEnrol || f.Realm != rl.ID || f.AccountID != a.ID || f.Client != clientAccount {
		return nil, nil, ninsho.FieldError(ninsho.CodeNotFound, "credential")
	}
	return c, f, nil
}

// Per-account caps on the codes of phone enrolments, over every number:
// a signed-in account (or whoever holds its session) cannot make Ninsho
// text or call one number after another, each with its own hourly budget
// (SMS pumping). Over a rolling hour an account may begin enrolments to
// PhoneEnrolNumbersPerHour different numbers and be sent
// PhoneEnrolCodesPerHour enrolment codes in all (first codes and resends).
// The code after either is refused with ninsho.CodeResendLimitReached
// (kind two_step_account, retry_after_s 3600) and nothing is sent or kept.
const (
	PhoneEnrolNumbersPerHour = 3
	PhoneEnrolCodesPerHour   = 10
)

// Counter families of the caps above (throttle.Key; the subject is the
// account id, or the account id and the number, which Key hashes).
const (
	familyEnrolCodes   = "2sv.phone.codes"
	familyEnrolNumbers = "2sv.phone.numbers"
	familyEnrolNumber  = "2sv.phone.number"
	// familyEnrolRecent counts an account's enrolment codes to one number
	// over the resend cool-down, whatever credential they went with:
	// beginning with another number and coming back (A, B, A) replaces the
	// first unfinished enrolment, and the cool-down must still hold.
	familyEnrolRecent = "2sv.phone.recent"
)

// admitEnrolCode counts one more enrolment code of a to number in the
// account's hourly caps, or refuses it when either is spent. It counts
// first and then reads the sum (one atomic upsert per key), so that two
// requests at once cannot both take the last code; a refusal rolls its
// counting back with the transaction of ctx.
func (s *Service) admitEnrolCode(ctx context.Context, rl *realm.Realm, a *account.Account, number string) error {
	c := s.Phone.Counter
	if c == nil {
		return ninsho.Internal("twostep: no counter for phone enrolment codes")
	}
	full := func() error {
		return ninsho.E(ninsho.CodeResendLimitReached).WithParam("kind", "two_step_account").WithParam("retry_after_s", 3600)
	}
	seen := throttle.Key(familyEnrolNumber, rl.ID, a.ID+"/"+number)
	if err := c.Hit(ctx, seen, 1, time.Hour); err != nil {
		return err
	}
	if err := c.Hit(ctx, throttle.Key(familyEnrolRecent, rl.ID, a.ID+"/"+number), 1, s.Phone.Codes.Policy.ResendCooldown); err != nil {
		return err
	}
	n, err := c.Count(ctx, seen, time.Hour)
	if err != nil {
		return err
	}
	if n == 1 { // a number new to the account this hour
		numbers := throttle.Key(familyEnrolNumbers, rl.ID, a.ID)
		if err := c.Hit(ctx, numbers, 1, time.Hour); err != nil {
			return err
		}
		if n, err := c.Count(ctx, numbers, time.Hour); err != nil {
			return err
		} else if n > PhoneEnrolNumbersPerHour {
			return full()
		}
	}
	codes := throttle.Key(familyEnrolCodes, rl.ID, a.ID)
	if err := c.Hit(ctx, codes, 1, time.Hour); err != nil {
		return err
	}
	if n, err := c.Count(ctx, codes, time.Hour); err != nil {
		return err
	} else if n > PhoneEnrolCodesPerHour {
		return full()
	}
	return nil
}

// sendPhoneCode issues an enrolment code for f and enqueues it to f's
// number by m's channel, with a code_sent event. The account's hourly
// caps (admitEnrolCode) come before the SMS guard (Phone.SMSGuard, in the
// lane, as the code's) and the number's own budget; a refusal of any returns an error, so
// the caller's transaction keeps no count.
func (s *Service) sendPhoneCode(ctx context.Context, rl *realm.Realm, a *account.Account, f *flow.Flow, m Method) error {
	ch := ChannelOf(m)
	if !s.Phone.CanSend(ch) {
		return ninsho.FieldError(ninsho.CodeChannelUnavailable, "method").WithParam("channel", string(ch))
	}
	if err := s.admitEnrolCode(ctx, rl, a, f.Identifier); err != nil {
		return err
	}
	pass, err := s.Phone.SMSGuard.Check(ctx, rl, ch, f.Identifier, code.LaneOf(f, PurposePhoneEnrol))
	if err != nil {
		return err
	}
	issued, err := s.Phone.Codes.Issue(ctx, f, a.ID, PurposePhoneEnrol, ch, f.Identifier, rl.CodeLifetime())
	if err != nil {
		return err
	}
	if err := pass.Count(ctx); err != nil {
		return err
	}
	locale := rl.Language(f.Locale, a.Locale)
	vars := PhoneCodeVars(rl, a, issued.Digits, issued.Lifetime)
	if _, err := s.Phone.Outbox.Enqueue(ctx, rl.ID, message.Channel(ch), f.Identifier, message.TemplateTwoStepCode, locale, vars); err != nil {
		return err
	}
	notice := false
	nch, ok := smsguard.NoticeChannel(ch, f.Identifier, s.Phone.CanSend(code.ChannelSMS)) // a voice code's notice goes by SMS
	if issued.LaneFull && ok {
		// Past the SMS guard's limits the notice is left out.
		if notice, err = s.Phone.SMSGuard.AdmitOptional(ctx, rl, nch, f.Identifier, issued.Lane); err != nil {
			return err
		}
	}
	if notice {
		if _, err := s.Phone.Outbox.Enqueue(ctx, rl.ID, message.Channel(nch), f.Identifier, message.TemplateCodeLimit, locale,
			map[string]string{"name": "", "host": rl.PublicHost, "base_url": BaseURL(rl)}); err != nil {
			return err
		}
	}
	return s.record(ctx, rl, a.ID, event.TypeCodeSent, ninsho.Request{}, map[string]any{
		"credential": f.ID, "purpose": string(PurposePhoneEnrol), "channel": string(ch), "lane": string(issued.Lane),
	})
}

// PhoneCodeVars are the variables of message.TemplateTwoStepCode.
func PhoneCodeVars(rl *realm.Realm, a *account.Account, digits string, ttl time.Duration) map[string]string {
	name := ""
	if a != nil {
		name = a.Name
	}
	return map[string]string{
		"code": digits, "name": name, "minutes": strconv.Itoa(int(ttl / time.Minute)),
		"host": rl.PublicHost, "base_url": BaseURL(rl),
	}
}

// BaseURL is where links in the realm's messages point.
func BaseURL(rl *realm.Realm) string {
	if rl.BaseURL != "" {
		return strings.TrimRight(rl.BaseURL, "/")
	}
	return "https://" + rl.PublicHost
}

// PhoneCredential returns a's proved credential of phone method m that a
// sign-in sends its code to: the preferred one, else the oldest. ok is
// false when a has none.
func (s *Service) PhoneCredential(ctx context.Context, rl *realm.Realm, a *account.Account, m Method) (c *Credential, ok bool, err error) {
	creds, err := s.Store.Credentials(ctx, rl.ID, a.ID)
	if err != nil {
		return nil, false, err
	}
	st, err := s.Store.State(ctx, rl.ID, a.ID)
	if err != nil {
		return nil, false, err
	}
	for i := range creds {
		x := &creds[i]
		if x.Method != m || !x.Proved() {
			continue
		}
		if c == nil || x.ID == st.Preferred {
			c = x
		}
	}
	return c, c != nil, nil
}

// UsePhone records a use of a's proved credential id (a sign-in passed
// with its code).
func (s *Service) UsePhone(ctx context.Context, rl *realm.Realm, a *account.Account, id string, t time.Time) error {
	return s.Store.UseCredential(ctx, rl.ID, a.ID, id, 0, t)
}

// PendingPhone returns a's unproved phone credential id as BeginPhone did
// (for the page that asks for its code), or not_found.
func (s *Service) PendingPhone(ctx context.Context, rl *realm.Realm, a *account.Account, id string) (*PhoneEnrolment, Method, error) {
	c, f, err := s.phoneEnrolment(ctx, rl, a, id)
	if err != nil {
		return nil, "", err
	}
	return &PhoneEnrolment{CredentialID: c.ID, Destination: c.Label, ResendAfter: s.Phone.Codes.ResendAfter(f)}, c.Method, nil
}

// ChangePhoneChanged is the change of a 2SV phone: a new number, proved,
// took the place of an SMS or voice credential (BeginPhone with replaces).
// Its alert goes to the account's verified channels and to the old number
// (notifyAlso), so the owner hears of it where codes used to go.
const ChangePhoneChanged Change = "phone_changed"

// Destination is one more place an alert goes to: a channel and an
// address (E.164 for a phone).
type Destination struct {
	Channel code.Channel
	To      string
}

// AlsoAlerter is an Alerter that can also send an alert to destinations
// that are not (or no longer) the account's verified channels: the old
// number of a changed 2SV phone. Destinations that are among the
// account's channels already get one alert, not two. It runs in the
// change's transaction, like Alert. authflow.TwoStepAlerter implements it.
type AlsoAlerter interface {
	Alerter
	AlertAlso(ctx context.Context, rl *realm.Realm, req ninsho.Request, a *account.Account, change Change, method Method, also []Destination) error
}

// notifyAlso is Notify that also tells also, when s.Alert can
// (AlsoAlerter); otherwise the account's channels only.
func (s *Service) notifyAlso(ctx context.Context, rl *realm.Realm, req ninsho.Request, a *account.Account, change Change, method Method, also []Destination) error {
	if s.Alert == nil || ctx.Value(quietKey{}) != nil {
		return nil
	}
	if aa, ok := s.Alert.(AlsoAlerter); ok && len(also) > 0 {
		return aa.AlertAlso(ctx, rl, req, a, change, method, also)
	}
	return s.Alert.Alert(ctx, rl, req, a, change, method)
}

// oldNumber is where the owner of the replaced credential c is told of
// the change: a text message to its number, when the number can receive
// one (an SMS method's number always can; a voice method's only when it
// is a mobile number). A landline that took voice calls gets no alert:
// the account's e-mail and verified phone still do.
func oldNumber(c *Credential) []Destination {
	if c == nil || c.Phone == "" {
		return nil
	}
	if c.Method != MethodSMS && identifier.RequireMobile(identifier.Normalized(c.Phone)) != nil {
		return nil
	}
	return []Destination{{Channel: code.ChannelSMS, To: c.Phone}}
}
