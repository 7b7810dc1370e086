// Package authflow holds the steps that the authentication flows share:
// resolving the device, sending a verification code through the outbox,
// describing what comes next, completing with a session, and recording events.
// The sign-up, sign-in and (later) password-assistant services are built on it.
package authflow

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/device"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/identifier"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/password"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/risk"
	"github.com/ninsho/ninsho/internal/session"
	"github.com/ninsho/ninsho/internal/smsguard"
	"github.com/ninsho/ninsho/internal/startgate"
	"github.com/ninsho/ninsho/internal/throttle"
	"github.com/ninsho/ninsho/internal/trust"
	"github.com/ninsho/ninsho/internal/twostep"
)

// FlowLifetime is how long a sign-up or sign-in flow stays usable.
const FlowLifetime = time.Hour

// Kit is the set of collaborators every authentication flow uses. All fields
// are required.
type Kit struct {
	Tx        ninsho.TxRunner
	Clock     ninsho.Clock
	Random    ninsho.Random
	Accounts  account.Store
	Flows     flow.Store
	Events    event.Store
	Codes     *code.Service
	Sessions  *session.Service
	Devices   *device.Service
	Outbox    *message.Outbox
	Passwords *password.Hasher
	// Policy is the password policy; a realm's own minimum length replaces
	// its MinLength (PasswordPolicy).
	Policy password.Policy
	// Binder ties every new flow to the client that starts it.
	Binder *flow.Binder
	// Channels lists the code channels that have a provider; nil means all
	// (development mode delivers every channel to the inbox).
	Channels map[code.Channel]bool
	// Networks remembers the networks sign-ins complete from (risk signal);
	// nil remembers nothing.
	Networks device.NetworkStore
	// TwoStep is the accounts' two-step verification: Complete issues no
	// session to an account that has it on before its second factor
	// (SecondFactor).
	TwoStep *twostep.Service
	// Trust is the devices whose owners asked not to be asked for the
	// second factor on them (AllowTrustedDevice); nil trusts none.
	Trust *trust.Service
	// Counter bounds the alerts of a failed second factor (one per account
	// per FactorFailedAlertEvery); nil sends none (the event is still
	// recorded).
	Counter *throttle.Counter
	// SMSGuard caps SMS and voice messages per number, country and realm
	// (SMS pumping and cost); nil caps none.
	SMSGuard *smsguard.Guard
	// Reports reads the delivery status of the codes' messages: a code
	// reported undelivered or failed does not hold back the next one by
	// another way (Deliveries). nil reads none.
	Reports message.ReportStore
	// ChannelDown, if set, says whether a realm's messages on a channel
	// cannot leave now (message.Dispatcher.ChannelDown: every provider's
	// breaker open): a code still queued behind such an outage is offered
	// another way at once, as if it had failed.
	ChannelDown func(realm string, ch message.Channel) bool
	// Resets are the accounts whose owner staff asked to set a new
	// password; ReplacePassword clears the mark. nil: none kept.
	Resets account.ResetRequirementStore
	// Members is the sign-in policy of the organisations people belong to
	// (orgpolicy.go): required 2SV and the methods allowed. nil: none.
	Members MemberPolicy
}

// StartWithCode begins a flow of kind that sends a code to the account that
// holds the identifier typed (unlock, password assistant), the same way for
// every such kind:
//
//   - the start is counted by g before the account is looked up or anything
//     is written (rate_limited past a cap);
//   - an explicit realm answers ninsho.CodeAccountNotFound for an identifier
//     without a live account; a safe realm goes on with a nil account, and
//     send must then do the same work and send nothing;
//   - a start from a device familiar to the account draws its codes from
//     the owner's lane (the device token is the owner's secret);
//   - a start that g holds back waits at the CAPTCHA (startgate.Held);
//     otherwise send sends the first code and saves f.
//
// It returns the new flow and the device token to hand out, if any, and
// wakes the outbox after commit.
func (k *Kit) StartWithCode(ctx context.Context, g *startgate.Gate, kind flow.Kind, rl *realm.Realm, req ninsho.Request, typed string,
	send func(ctx context.Context, f *flow.Flow, a *account.Account) error) (f *flow.Flow, newToken string, err error) {
	id, err := ParseIdentifier(typed, rl)
	if err != nil {
		return nil, "", err
	}
	d, newToken, err := k.Devices.Resolve(ctx, rl.ID, req.DeviceToken, req.UserAgent)
	if err != nil {
		return nil, "", err
	}
	hold, err := g.Admit(ctx, kind, rl.ID, req, d.ID)
	if err != nil {
		return nil, "", err
	}
	a, err := k.AccountFor(ctx, rl, id)
	if err != nil && !ninsho.IsCode(err, ninsho.CodeAccountNotFound) {
		return nil, "", err
	}
	if a != nil && a.Status == account.StatusPending && !k.Clock.Now().Before(a.CreatedAt.Add(account.PendingLifetime)) {
		a = nil // an unconfirmed sign-up past its life does not exist
	}
	if a == nil && rl.Disclosure != realm.DisclosureSafe {
		return nil, "", k.NotHere(ctx, rl, id)
	}
	err = k.Tx.InTx(ctx, func(ctx context.Context) error {
		f = k.NewFlow(kind, rl, req, d)
		f.Identifier = id.Value
		if a != nil {
			f.AccountID = a.ID
		}
		// Asked for an account "" too: the same query, so that a safe
		// realm's answers cost alike.
		familiar, err := k.Devices.Store.IsFamiliar(ctx, f.AccountID, d.ID)
		if err != nil {
			return err
		}
		if familiar {
			code.SetOwnerLane(f)
			f.Set(code.StateGuardFamiliar, "1")
		}
		if hold {
			// Held behind a CAPTCHA: nothing is sent yet.
			if err := g.Hold(ctx, f); err != nil {
				return err
			}
			return k.Save(ctx, f)
		}
		return send(ctx, f, a)
	})
	if err != nil {
		return nil, "", err
	}
	k.Outbox.Wake()
	return f, newToken, nil
}

// CanSend reports whether codes can go out over ch.
func (k *Kit) CanSend(ch code.Channel) bool { return k.Channels == nil || k.Channels[ch] }

// NewFlow returns an unsaved flow of kind k for realm rl, started on device d
// by the client of req and bound to it (flow.Binder): a page flow carries its
// new binding secret in f.Secret for the adapter to hand to the browser. It
// keeps the language req chose, if any (flow.Flow.Locale).
func (k *Kit) NewFlow(kind flow.Kind, rl *realm.Realm, req ninsho.Request, d *device.Device) *flow.Flow {
	now := k.Clock.Now()
	f := &flow.Flow{
		ID:         ninsho.NewID(k.Clock, k.Random),
		Realm:      rl.ID,
		Kind:       kind,
		Status:     flow.StatusOpen,
		DeviceID:   d.ID,
		DeviceHash: d.TokenHash,
		Locale:     req.ChosenLocale(),
		CreatedAt:  now,
		UpdatedAt:  now,
		ExpiresAt:  now.Add(FlowLifetime),
		Fresh:      true,
		// Known only in the request that resolved the device.
		DeviceStored: d.Stored,
		ReturnTo:     req.ReturnTo,
	}
	k.Binder.Bind(f, req)
	return f
}

// CompletingDevice returns the device a request completing f comes from,
// and whether it is the device f is bound to. A request that brings no
// device token on an API flow is the client that holds the flow's id, so it
// is the bound device, and so is the request that started f (it may have
// been handed its token just now); any other request is the bound device
// only when its token is the one f started with. The device may not be
// stored yet.
func (k *Kit) CompletingDevice(f *flow.Flow, req ninsho.Request) (d *device.Device, bound bool) {
	bound = f.Fresh || (req.DeviceToken == "" && f.Client != ninsho.ClientPage) || k.Devices.Matches(req.DeviceToken, f.DeviceHash)
	if !bound || len(f.DeviceHash) == 0 {
		return nil, false
	}
	now := k.Clock.Now()
	return &device.Device{
		ID: f.DeviceID, Realm: f.Realm, TokenHash: f.DeviceHash, UserAgent: truncate(req.UserAgent, 512),
		CreatedAt: now, LastSeenAt: now, Stored: f.Fresh && f.DeviceStored,
	}, true
}

// Save inserts f when it is new (Version 0) and updates it otherwise.
func (k *Kit) Save(ctx context.Context, f *flow.Flow) error {
	f.UpdatedAt = k.Clock.Now()
	if f.Version == 0 {
		if err := k.Flows.CreateFlow(ctx, f); err != nil {
			return err
		}
		f.Version = 1
		return nil
	}
	return k.Flows.UpdateFlow(ctx, f)
}

// Locale is the language of every message a request about f causes, by the
// one rule of i18n.For within the realm (realm.Realm.Language): the language
// the person chose (f.Locale: the latest request of the flow that expressed
// one, this request included, since flow.Engine records it before the step
// runs), else the account's saved language (a may be nil), else the realm's
// default, else i18n.Default — the first two only where the realm offers
// them. A code and the alert of one sign-in are therefore in one language.
func Locale(f *flow.Flow, a *account.Account, rl *realm.Realm) string {
	saved := ""
	if a != nil {
		saved = a.Locale
	}
	return rl.Language(f.Locale, saved)
}

// ParseIdentifier normalises the identifier typed in realm rl
// (identifier.Parse with the realm's phone region). A realm that takes
// e-mail addresses only (rl.EmailOnly: it cannot send text messages) refuses
// a phone number with ninsho.CodeIdentifierEmailOnly, which tells the person
// to use their e-mail address, and any other unusable input with
// ninsho.CodeIdentifierInvalid of kind "email", whose message asks for an
// e-mail address alone. Every start that reads an identifier (sign-up,
// sign-in, unlock, password assistant) parses it here. A blank input
// (spaces only, full-width ones too) is ninsho.CodeFieldRequired ("enter
// your address" says more than "enter a valid address" to someone who typed
// nothing), of kind "email" in such a realm.
func ParseIdentifier(typed string, rl *realm.Realm) (identifier.Identifier, error) {
	if strings.TrimFunc(typed, unicode.IsSpace) == "" {
		e := ninsho.FieldError(ninsho.CodeFieldRequired, "identifier")
		if rl.EmailOnly {
			e.WithParam("kind", "email")
		}
		return identifier.Identifier{}, e
	}
	id, err := identifier.Parse(typed, rl.PhoneRegion)
	switch {
	case !rl.EmailOnly:
		return id, err
	case ninsho.IsCode(err, ninsho.CodeIdentifierInvalid):
		return id, ninsho.ErrorOf(err).WithParam("kind", "email")
	case err != nil:
		return id, err
	case id.Kind == identifier.KindPhone:
		return identifier.Identifier{}, ninsho.FieldError(ninsho.CodeIdentifierEmailOnly, "identifier")
	}
	return id, nil
}

// ChannelFor returns the code channel that reaches an identifier.
func ChannelFor(id identifier.Identifier) code.Channel {
	if id.Kind == identifier.KindPhone {
		return code.ChannelSMS
	}
	return code.ChannelEmail
}

// SendCode issues a code of purpose p for f to dest over ch and enqueues the
// message rendered from template, in the transaction of ctx; a records a
// code_sent event. a is the account the code is for, or nil for a safe
// realm's identifier without an account: then exactly the same work is done
// (code, sealed message row, event) but the message is suppressed, so that
// the answer's content and timing do not tell whether the account exists.
// A sign-up code never carries the name typed at sign-up, nor a contact
// change's code the account's name: its address is not verified yet and
// may be someone else's. When the code is the last one
// its lane allows the destination this hour, the destination is told once.
// An SMS or voice code must first pass the SMSGuard (drawn from the code's
// lane), which refuses with ninsho.CodeRateLimited past its limits; then
// nothing is issued or enqueued. The guard counts the code only once it is
// issued, so a code the code component refuses is not counted, even where
// the caller keeps the refusal in a committed flow (next.not_sent). The code-limit notice passes it too, and is
// left out when refused.
// The caller saves f afterwards and wakes the outbox after commit.
func (k *Kit) SendCode(ctx context.Context, f *flow.Flow, rl *realm.Realm, a *account.Account, p code.Purpose, ch code.Channel, dest, template string) error {
	if !k.CanSend(ch) {
		return ninsho.E(ninsho.CodeChannelUnavailable).WithParam("channel", string(ch))
	}
	accountID, name := "", ""
	if a != nil {
		accountID, name = a.ID, a.Name
	}
	if p == code.PurposeSignup || p == code.PurposeContact {
		name = ""
	}
	pass, err := k.SMSGuard.Check(ctx, rl, ch, dest, code.LaneOf(f, p))
	if err != nil {
		return err
	}
	issued, err := k.Codes.Issue(ctx, f, accountID, p, ch, dest, rl.CodeLifetime())
	if err != nil {
		return err
	}
	if err := pass.Count(ctx); err != nil {
		return err
	}
	enqueue := k.Outbox.Enqueue
	if a == nil {
		enqueue = k.Outbox.EnqueueSuppressed
	}
	vars := map[string]string{
		"code":     issued.Digits,
		"name":     name,
		"minutes":  strconv.Itoa(int(issued.Lifetime / time.Minute)),
		"host":     rl.PublicHost,
		"base_url": baseURL(rl),
	}
	locale := Locale(f, a, rl)
	m, err := enqueue(ctx, rl.ID, message.Channel(ch), dest, template, locale, vars)
	if err != nil {
		return err
	}
	// The answers of the step report this message's delivery (Deliveries).
	f.Set(flow.StateCodeMessage, m.ID)
	if err := k.CodeLimitNotice(ctx, rl, issued, ch, dest, locale, enqueue); err != nil {
		return err
	}
	return k.Record(ctx, rl, accountID, event.TypeCodeSent, ninsho.Request{}, f.DeviceID, map[string]any{
		"flow": f.ID, "purpose": string(p), "channel": string(ch), "lane": string(issued.Lane),
	})
}

// Notify enqueues a message without a code (alerts, notices) in the
// transaction of ctx.
func (k *Kit) Notify(ctx context.Context, rl *realm.Realm, ch message.Channel, to, template, locale string, vars map[string]string) error {
	_, err := k.Notice(ctx, rl, ch, to, template, locale, vars)
	return err
}

// Notice is Notify returning the message enqueued (a safe realm's sign-up
// for a taken identifier keeps its id as the flow's code message, so that
// its answers show the delivery a code's would).
func (k *Kit) Notice(ctx context.Context, rl *realm.Realm, ch message.Channel, to, template, locale string, vars map[string]string) (*message.Message, error) {
	if vars == nil {
		vars = map[string]string{}
	}
	vars["host"] = rl.PublicHost
	vars["base_url"] = baseURL(rl)
	return k.Outbox.Enqueue(ctx, rl.ID, ch, to, template, locale, vars)
}

// baseURL is where links in the realm's messages point.
func baseURL(rl *realm.Realm) string {
	if rl.BaseURL != "" {
		return strings.TrimRight(rl.BaseURL, "/")
	}
	return "https://" + rl.PublicHost
}

// Record appends an event about accountID ("" when unknown) with the
// request's who and where.
func (k *Kit) Record(ctx context.Context, rl *realm.Realm, accountID, typ string, req ninsho.Request, deviceID string, data map[string]any) error {
	actor := "anonymous"
	if accountID != "" {
		actor = "account:" + accountID
	}
	return k.Events.AppendEvent(ctx, &event.Event{
		ID:        ninsho.NewID(k.Clock, k.Random),
		Realm:     rl.ID,
		AccountID: accountID,
		Type:      typ,
		Actor:     actor,
		IP:        req.IP,
		UserAgent: truncate(req.UserAgent, 512),
		DeviceID:  deviceID,
		RequestID: req.RequestID,
		Data:      data,
		At:        k.Clock.Now(),
	})
}

// CodeNext describes the verification-code step of f in realm rl: the
// destination is masked as people read it there (identifier.Mask with the
// realm's phone region).
func (k *Kit) CodeNext(f *flow.Flow, rl *realm.Realm, alternatives []string) *flow.Next {
	n := &flow.Next{
		Step:         flow.StepVerificationCode,
		Channel:      f.Channel,
		ResendAfterS: int((k.Codes.ResendAfter(f) + time.Second - 1) / time.Second),
		Alternatives: alternatives,
		AttemptsLeft: k.Codes.AttemptsLeft(f),
	}
	if f.Destination != "" {
		region := ""
		if rl != nil {
			region = rl.PhoneRegion
		}
		n.Destination = identifier.Mask(identifier.Normalized(f.Destination), region)
	}
	return n
}

// Complete finishes f with a new session for a, or, when a has two-step
// verification on, holds the session back: f moves to
// flow.StepSecondFactor (status challenge) with the completion remembered,
// is saved, and the grant is nil; SecondFactor.Act completes it, with the
// factor's method added and AAL 2, once the second factor is right. Every
// flow kind issues its sessions here, so none issues one around the second
// factor. A flow that passed the second factor at a gate before
// (SecondFactor.Before) gets its AAL 2 session at once. Answer the result
// with Completed.
//
// A sign-in allowed to (AllowTrustedDevice) completes from a device the
// account trusts at AAL 1 without the second factor, unless the account's
// organisations restrict the methods (orgpolicy.go).
//
// The policy of a's organisations (Members) applies too: one that
// requires 2SV holds a without it at the enrolment step like the realm's
// rule, and allowed methods restrict the challenge (orgpolicy.go); when a
// can neither use nor enrol an allowed method, Complete returns
// ninsho.CodeOrgMethodRequired and the caller's step is not kept.
//
// When the request comes from the device f is bound to (CompletingDevice),
// that device is stored and becomes familiar to the account and the network
// is remembered; a request from any other device gets its session but makes
// nothing familiar. The flow is saved as complete and the event of type typ
// is recorded. It runs in the transaction of ctx.
func (k *Kit) Complete(ctx context.Context, f *flow.Flow, rl *realm.Realm, a *account.Account, req ninsho.Request, methods []string, typ string, data map[string]any) (*flow.Grant, error) {
	sf := k.SecondFactor()
	trustOK := takeTrust(f)
	usable, on, err := sf.usable(ctx, rl, a)
	if err != nil {
		return nil, err
	}
	pol, err := k.memberPolicy(ctx, rl, a)
	if err != nil {
		return nil, err
	}
	data = withOrgs(data, pol)
	if on {
		if m, kind := passed(f); m != "" {
			// Passed at the flow's gate (SecondFactor.Before).
			switch {
			case kind == "" || pol.Allows(kind):
				return k.issue(ctx, f, rl, a, req, 2, append(methods, m), typ, data)
			case enrolAllowed(pol):
				return nil, sf.enrol(ctx, f, a, append(methods, m), typ, data) // enrol.go
			}
			return nil, methodRequired(pol)
		}
		if trustOK && !pol.Restricts() {
			// A device the account trusts (trusted.go).
			if grant, ok, err := k.completeTrusted(ctx, f, rl, a, req, methods, typ, data); err != nil || ok {
				return grant, err
			}
		}
		offer, err := askUnder(f, usable, pol, false) // orgpolicy.go
		if err != nil {
			return nil, err
		}
		return nil, sf.challenge(ctx, f, rl, offer, a, methods, typ, data)
	}
	if mustEnrol(rl, a) || pol.RequireTwoStep {
		if !enrolAllowed(pol) {
			return nil, methodRequired(pol)
		}
		return nil, sf.enrol(ctx, f, a, methods, typ, data) // enrol.go
	}
	return k.issue(ctx, f, rl, a, req, 1, methods, typ, data)
}

// Completed is the answer to a step that called Complete: the session, or
// the second-factor step Complete moved f to.
func (k *Kit) Completed(f *flow.Flow, grant *flow.Grant) *flow.Answer {
	if grant == nil {
		ans := &flow.Answer{Flow: f}
		if (f.Step == flow.StepSecondFactor || f.Step == flow.StepEnrolSecondFactor) && f.Status == flow.StatusChallenge {
			ans.Next = k.SecondFactor().Next(f)
		}
		return ans
	}
	return &flow.Answer{Flow: f, Session: grant, AccountID: f.AccountID, BackupCodesLeft: BackupCodesLeft(f)}
}

// issue creates the session of Complete, at assurance level aal.
func (k *Kit) issue(ctx context.Context, f *flow.Flow, rl *realm.Realm, a *account.Account, req ninsho.Request, aal int, methods []string, typ string, data map[string]any) (*flow.Grant, error) {
	d, bound := k.CompletingDevice(f, req)
	deviceID := ""
	if bound {
		if err := k.Devices.Remember(ctx, d); err != nil {
			return nil, err
		}
		if err := k.Devices.Store.MarkFamiliar(ctx, a.ID, d.ID, k.Clock.Now()); err != nil {
			return nil, err
		}
		deviceID = d.ID
	}
	token, sess, err := k.Sessions.Create(ctx, session.New{
		Realm: rl.ID, AccountID: a.ID, DeviceID: deviceID, AAL: aal, Methods: methods,
		IP: req.IP, UserAgent: truncate(req.UserAgent, 512),
	})
	if err != nil {
		return nil, err
	}
	if prefix := risk.Prefix(req.IP); bound && k.Networks != nil && prefix != "" {
		if err := k.Networks.MarkNetwork(ctx, rl.ID, a.ID, prefix, k.Clock.Now()); err != nil {
			return nil, err
		}
	}
	f.AccountID = a.ID
	f.Status = flow.StatusComplete
	f.Step = flow.StepDone
	if err := k.Save(ctx, f); err != nil {
		return nil, err
	}
	if data == nil {
		data = map[string]any{}
	}
	data["flow"] = f.ID
	data["session"] = sess.ID
	data["methods"] = methods
	if !bound {
		data["unbound_device"] = true
	}
	if err := k.Record(ctx, rl, a.ID, typ, req, f.DeviceID, data); err != nil {
		return nil, err
	}
	return &flow.Grant{Token: token, ExpiresAt: sess.ExpiresAt, AAL: sess.AAL}, nil
}

// Verify marks the identifier that a code of channel ch reached as verified.
func Verify(a *account.Account, ch string, now time.Time) {
	t := now
	if ch == string(code.ChannelEmail) {
		a.EmailVerifiedAt = &t
	} else {
		a.PhoneVerifiedAt = &t
	}
}

// FlowAccount returns the account f is about, or nil when it has none (a
// safe realm answering for an identifier without an account).
func (k *Kit) FlowAccount(ctx context.Context, f *flow.Flow) (*account.Account, error) {
	if f.AccountID == "" {
		return nil, nil
	}
	return k.Accounts.Account(ctx, f.AccountID)
}

// ReleaseHeld applies a CAPTCHA action (submit_captcha, new_captcha) to a
// start that g holds back, in one transaction: a right answer runs send,
// which sends the flow's first code and saves f; a wrong one is stepErr
// (with a new challenge) and f is saved, so the transaction commits. The
// outbox is woken after commit.
func (k *Kit) ReleaseHeld(ctx context.Context, g *startgate.Gate, f *flow.Flow, act flow.Action, send func(ctx context.Context) error) (stepErr, err error) {
	err = k.Tx.InTx(ctx, func(ctx context.Context) error {
		passed, serr, err := g.Solve(ctx, f, act)
		if err != nil {
			return err
		}
		if !passed {
			stepErr = serr
			return k.Save(ctx, f)
		}
		return send(ctx)
	})
	if err == nil {
		k.Outbox.Wake()
	}
	return stepErr, err
}

// AccountFor looks up the realm's account holding id.
// NotHere is the refusal, in an explicit realm, of an identifier without an
// account in rl: ninsho.CodeAccountNotFound (field identifier) — or, where
// rl names hint realms (realm.Realm.HintRealms, explicit realms only) and
// the identifier has a live account in one of them,
// ninsho.CodeAccountInOtherRealm with that realm's name (param realm) and
// sign-in address (param signin_url), so that a person who signed up on
// the other regional site is sent there instead of being told they have
// no account.
func (k *Kit) NotHere(ctx context.Context, rl *realm.Realm, id identifier.Identifier) error {
	if rl.Disclosure != realm.DisclosureSafe {
		for _, other := range rl.HintRealms {
			if other == nil || other.ID == rl.ID || other.Disclosure == realm.DisclosureSafe {
				continue
			}
			a, err := k.AccountFor(ctx, other, id)
			if err != nil && !ninsho.IsCode(err, ninsho.CodeAccountNotFound) {
				return err
			}
			if a != nil && a.Status != account.StatusPending && a.Status != account.StatusClosed {
				return ninsho.FieldError(ninsho.CodeAccountInOtherRealm, "identifier").
					WithParam("realm", other.Name).WithParam("signin_url", strings.TrimRight(other.BaseURL, "/")+"/signin")
			}
		}
	}
	return ninsho.FieldError(ninsho.CodeAccountNotFound, "identifier")
}

func (k *Kit) AccountFor(ctx context.Context, rl *realm.Realm, id identifier.Identifier) (*account.Account, error) {
	if id.Kind == identifier.KindPhone {
		return k.Accounts.AccountByPhone(ctx, rl.ID, id.Value)
	}
	return k.Accounts.AccountByEmail(ctx, rl.ID, id.Value)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// Resend sends f's code again, to the same channel and destination, with the
// code component's cool-down and caps; f is saved. A flow without an account
// (a safe realm answering for an unknown or taken identifier) does the same
// work and sends nothing (SendCode). The outbox is woken after commit.
func (k *Kit) Resend(ctx context.Context, rl *realm.Realm, f *flow.Flow, p code.Purpose, template string) error {
	err := k.Tx.InTx(ctx, func(ctx context.Context) error {
		a, err := k.FlowAccount(ctx, f)
		if err != nil {
			return err
		}
		if err := k.SendCode(ctx, f, rl, a, p, code.Channel(f.Channel), f.Destination, template); err != nil {
			return err
		}
		return k.Save(ctx, f)
	})
	if err == nil {
		k.Outbox.Wake()
	}
	return err
}

// CheckCode checks input against f's code of purpose p inside the
// transaction of ctx. A refused code (wrong, expired, attempts spent) is a
// step error: f is saved with the counted attempt (and marked failed when no
// attempt is left) and the error comes back as stepErr with err nil, so that
// the caller's transaction commits. A flow without an account never
// completes. Any other failure is err.
func (k *Kit) CheckCode(ctx context.Context, f *flow.Flow, p code.Purpose, input string) (c *code.Code, stepErr, err error) {
	c, err = k.Codes.Check(ctx, f, p, input)
	if err == nil && f.AccountID == "" {
		err = ninsho.FieldError(ninsho.CodeCodeIncorrect, "code") // no code was ever sent
	}
	switch ninsho.CodeOf(err) {
	case "":
		return c, nil, nil
	case ninsho.CodeCodeIncorrect, ninsho.CodeCodeExpired, ninsho.CodeCodeAttemptsExceeded, ninsho.CodeNoCodeRequested,
		ninsho.CodeAccountLocked: // the wrong-code guard paused codes

		if ninsho.IsCode(err, ninsho.CodeCodeAttemptsExceeded) {
			f.Status = flow.StatusFailed
		}
		if serr := k.Save(ctx, f); serr != nil {
			return nil, nil, serr
		}
		return nil, err, nil
	}
	return nil, nil, err
}

// NewPasswordHash checks a new password typed twice for a — both filled in,
// the password by the policy, the two matching (ninsho.CodePasswordMismatch),
// every refusal of both fields at once (CheckNewPassword, with rl's
// policy); then, and only then, that it differs from the current one
// (ninsho.CodePasswordReused, which costs a hash) — and returns its hash. It
// hashes outside any transaction; call it before opening one.
func (k *Kit) NewPasswordHash(ctx context.Context, rl *realm.Realm, a *account.Account, pw, confirmation string) (string, error) {
	if err := k.CheckNewPassword(rl, pw, confirmation, true, password.Personal{Email: a.Email, Phone: a.Phone, Name: a.Name}); err != nil {
		return "", err
	}
	old, err := k.Accounts.PasswordHash(ctx, a.ID)
	if err != nil && !ninsho.IsCode(err, ninsho.CodeNotFound) {
		return "", err
	}
	if old != "" {
		same, _, err := k.Passwords.Verify(ctx, pw, old)
		if err != nil {
			return "", err
		}
		if same {
			return "", ninsho.FieldError(ninsho.CodePasswordReused, "password")
		}
	}
	return k.Passwords.Hash(ctx, pw)
}

// stateAlternatives is the flow-state key of the channels a code may be
// switched to, comma-separated.
const stateAlternatives = "alternatives"

// OfferAlternatives records on f the verified channels of a other than
// current, which the person may switch the code to.
func OfferAlternatives(f *flow.Flow, a *account.Account, current string) {
	var out []string
	if a.Email != "" && a.EmailVerifiedAt != nil && current != string(code.ChannelEmail) {
		out = append(out, string(code.ChannelEmail))
	}
	if a.Phone != "" && a.PhoneVerifiedAt != nil && current != string(code.ChannelSMS) {
		out = append(out, string(code.ChannelSMS))
	}
	f.Set(stateAlternatives, strings.Join(out, ","))
}

// Alternatives returns the channels recorded by OfferAlternatives.
func Alternatives(f *flow.Flow) []string {
	if v := f.Get(stateAlternatives); v != "" {
		return strings.Split(v, ",")
	}
	return nil
}

// SwitchChannel sends f's code of purpose p (message template) to another
// channel offered in the step's next.alternatives, and to nothing else
// (ninsho.CodeChannelUnavailable, field channel; no channel at all is
// ninsho.CodeFieldRequired, field channel): a verified channel of its
// account that OfferAlternatives recorded ("the SMS never came: send it by
// e-mail"), or — only once the SMS code was reported undelivered or failed,
// or is late (next.alternatives_reason) — a voice call to the number the SMS
// went to, where voice calls can be made (voiceFallback). A safe realm's
// password assistant, unlock and sign-up record no alternatives, so every
// switch there is refused alike, before any account is read, whether the
// identifier has an account or not. The cool-down and caps of the code
// component apply (a code reported lost does not hold back the one by the
// other channel) and the attempts already spent stay spent. After a voice
// call, "sms" (the same number) is offered back. f is saved and the outbox
// woken after commit.
func (k *Kit) SwitchChannel(ctx context.Context, rl *realm.Realm, f *flow.Flow, ch string, p code.Purpose, template string) error {
	if ch == "" {
		return ninsho.FieldError(ninsho.CodeFieldRequired, "channel")
	}
	if ch == f.Channel || f.AccountID == "" || !slices.Contains(k.offered(ctx, f, rl, Alternatives(f)), ch) {
		return ninsho.FieldError(ninsho.CodeChannelUnavailable, "channel")
	}
	err := k.Tx.InTx(ctx, func(ctx context.Context) error {
		a, err := k.Accounts.Account(ctx, f.AccountID)
		if err != nil {
			return err
		}
		voice := ch == MethodVoice
		if voice && !k.voiceFallback(f, a) {
			return ninsho.FieldError(ninsho.CodeChannelUnavailable, "channel")
		}
		dest := a.Email
		switch {
		case voice:
			dest = f.Destination // the number the SMS went to
		case ch == string(code.ChannelSMS):
			dest = a.Phone
		}
		if k.codeLost(ctx, f, rl) {
			f.LastSentAt = time.Time{} // the last code never arrived (delivery.go)
		}
		before := Alternatives(f)
		if err := k.SendCode(ctx, f, rl, a, p, code.Channel(ch), dest, template); err != nil {
			return err
		}
		if voice {
			// Back to a text to the same number, with what was offered.
			f.Set(stateAlternatives, strings.Join(append(slices.DeleteFunc(before, func(x string) bool { return x == MethodVoice || x == string(code.ChannelSMS) }), string(code.ChannelSMS)), ","))
		} else {
			OfferAlternatives(f, a, ch)
		}
		return k.Save(ctx, f)
	})
	if err == nil {
		k.Outbox.Wake()
	}
	return err
}

// ReplacePassword stores hash as a's password, signs out every session of a,
// lifts any lock (with its ladder and failure count) and reactivates an
// account locked as suspicious, and records password.changed with via (and
// lock_lifted, the kind of the lock in force it lifted, if any). It
// runs in the transaction of ctx; the caller completes the flow after it.
func (k *Kit) ReplacePassword(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account, req ninsho.Request, hash string, locks account.LockStore, via string) error {
	now := k.Clock.Now()
	// The lock in force, if any, that this change lifts (for the record).
	lifted := ""
	switch {
	case a.Status == account.StatusLocked:
		lifted = string(account.LockSuspicious)
	case a.Lock.LockedFor(now, false):
		lifted = string(a.Lock.Kind)
	}
	if err := k.Accounts.SetPasswordHash(ctx, a.ID, hash, now); err != nil {
		return err
	}
	n, err := k.Sessions.Store.RevokeAccountSessions(ctx, a.ID, "", now)
	if err != nil {
		return err
	}
	if err := locks.SetLock(ctx, a.ID, account.Lock{}); err != nil {
		return err
	}
	if a.Status == account.StatusLocked {
		a.Status, a.UpdatedAt = account.StatusActive, now
		if err := k.Accounts.UpdateAccount(ctx, a); err != nil {
			return err
		}
	}
	if err := k.ForgetTrusted(ctx, rl, req, a.ID, trust.ReasonPasswordChanged); err != nil {
		return err
	}
	data := map[string]any{"flow": f.ID, "via": via, "sessions_revoked": n}
	if k.Resets != nil {
		// A new password meets what staff required (desk.RequireReset).
		cleared, err := k.Resets.ClearPasswordReset(ctx, a.ID)
		if err != nil {
			return err
		}
		if cleared {
			data["reset_requirement_cleared"] = true
		}
	}
	if lifted != "" {
		data["lock_lifted"] = lifted
	}
	return k.Record(ctx, rl, a.ID, event.TypePasswordChanged, req, f.DeviceID, data)
}

// CurrentPassword reports whether pw is the password of the account
// accountID, costing one hash either way: an account without a password
// (none stored) spends a dummy hash and is never right. Errors are the
// store's or the hash limiter's (overloaded).
func (k *Kit) CurrentPassword(ctx context.Context, accountID, pw string) (bool, error) {
	hash, err := k.Accounts.PasswordHash(ctx, accountID)
	if err != nil && !ninsho.IsCode(err, ninsho.CodeNotFound) {
		return false, err
	}
	if hash == "" {
		return false, k.Passwords.VerifyDummy(ctx, pw)
	}
	ok, _, err := k.Passwords.Verify(ctx, pw, hash)
	return ok, err
}
