// Package signup is the sign-up flow: identifier, name and password, then the
// code sent to the identifier; the account is active only once the code is
// confirmed, and the device that confirmed it becomes familiar.
package signup

import (
	"context"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/authflow"
	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/identifier"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/password"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/session"
	"github.com/ninsho/ninsho/internal/startgate"
)

// Input is what a person types on the sign-up form.
type Input struct {
	Identifier string // e-mail address or mobile number, as typed
	Name       string
	Password   string
	// PasswordConfirmation is compared with Password when ConfirmPassword is
	// set (the hosted page asks for the password twice; the API does not).
	PasswordConfirmation string
	ConfirmPassword      bool
	// Locale is the language the person chose for the account (the API's
	// locale field), or "": then the request's choice counts (i18n.For).
	Locale string
}

// MaxNameLength is the longest name accepted, in characters.
const MaxNameLength = 100

// Service runs sign-up flows. It implements flow.Handler for KindSignup.
type Service struct {
	Kit    *authflow.Kit
	Realms *realm.Registry
	// Gate caps starts per address, network and device and holds repeated
	// starts behind a CAPTCHA before any code is sent; nil caps nothing
	// beyond the code component's own limits.
	Gate *startgate.Gate
}

var _ flow.Handler = (*Service)(nil)

// Flow state keys. A sign-up keeps what was typed (name and password hash)
// in its flow until its code is confirmed, so that an unconfirmed sign-up
// never displaces another one.
const (
	stateName    = "signup_name"
	stateHash    = "signup_password_hash"
	stateCreated = "signup_created_account" // "1": this flow created the pending account
)

// Start begins a sign-up in realm rl. On success the answer's flow is in
// status challenge at step verification_code and a code is on its way; a
// repeated start may first answer ninsho.CodeCaptchaRequired at step captcha
// (the code follows the right answer).
//
// When the identifier belongs to an active account, an explicit realm refuses
// with ninsho.CodeIdentifierTaken; a safe realm answers exactly as for a new
// identifier and e-mails the owner a notice instead of a code. A pending
// account holding the identifier (a sign-up not yet confirmed) is kept: this
// sign-up gets its own code, and only the first code confirmed decides the
// account's name and password.
func (s *Service) Start(ctx context.Context, rl *realm.Realm, req ninsho.Request, in Input) (*flow.Answer, error) {
	k := s.Kit
	// Every field is judged before anything is looked up, counted or
	// hashed, and every refusal is answered at once. None of these checks
	// reads an account, so what they answer says nothing about one.
	id, idErr := authflow.ParseIdentifier(in.Identifier, rl)
	if idErr == nil && id.Kind == identifier.KindPhone {
		// Codes and alerts go by SMS: a landline cannot receive them.
		idErr = identifier.RequireMobile(id)
	}
	if idErr == nil {
		if ch := authflow.ChannelFor(id); !k.CanSend(ch) {
			// Refuse before anything is stored: no code could ever reach it.
			idErr = ninsho.FieldError(ninsho.CodeChannelUnavailable, "identifier").WithParam("channel", string(ch))
		}
	}
	name, nameErr := CleanName(in.Name)
	personal := password.Personal{Name: name}
	if idErr == nil && id.Kind == identifier.KindEmail {
		personal.Email = id.Value
	} else if idErr == nil {
		personal.Phone = id.Value
	}
	pwErr := k.CheckNewPassword(rl, in.Password, in.PasswordConfirmation, in.ConfirmPassword, personal)
	var localeErr error
	if in.Locale != "" {
		// The account's saved language must be one its messages can be
		// written in, and one the realm offers; a tag like "en-US" counts
		// as its language.
		localeErr = authflow.CheckLocale(rl, in.Locale)
	}
	if err := ninsho.Fields(idErr, nameErr, pwErr, localeErr); err != nil {
		return nil, err
	}
	d, newToken, err := k.Devices.Resolve(ctx, rl.ID, req.DeviceToken, req.UserAgent)
	if err != nil {
		return nil, err
	}
	// The caps come before the hash: a flood of starts costs counters only.
	hold, err := s.Gate.Admit(ctx, flow.KindSignup, rl.ID, req, d.ID)
	if err != nil {
		return nil, err
	}
	// Hash before the transaction: the hash is the slow part and must not
	// hold the database's writer.
	hash, err := k.Passwords.Hash(ctx, in.Password)
	if err != nil {
		return nil, err
	}
	f := k.NewFlow(flow.KindSignup, rl, req, d)
	if l := i18n.Canonical(in.Locale); l != "" {
		f.Locale = l // the API's locale field: the person's choice
	}
	f.Identifier = id.Value
	f.Set(stateName, name)
	f.Set(stateHash, hash)
	err = k.Tx.InTx(ctx, func(ctx context.Context) error {
		if hold {
			if err := s.Gate.Hold(ctx, f); err != nil {
				return err
			}
			return k.Save(ctx, f)
		}
		return s.begin(ctx, rl, req, f)
	})
	if err != nil {
		return nil, err
	}
	k.Outbox.Wake()
	ans := s.answer(f)
	ans.DeviceToken = newToken
	if hold {
		return ans, ninsho.E(ninsho.CodeCaptchaRequired)
	}
	return ans, nil
}

// begin sends f's first code and saves f, in the transaction of ctx: to a
// new pending account made from what f holds, or for a pending account that
// another sign-up made (kept as it is), or — in a safe realm, for an
// identifier with an active account — to nobody, with a notice to the owner.
func (s *Service) begin(ctx context.Context, rl *realm.Realm, req ninsho.Request, f *flow.Flow) error {
	k := s.Kit
	id := identifier.Normalized(f.Identifier)
	ch := authflow.ChannelFor(id)
	f.Status, f.Step = flow.StatusChallenge, flow.StepVerificationCode
	existing, err := k.AccountFor(ctx, rl, id)
	switch {
	case err == nil && existing.Status == account.StatusPending && k.Clock.Now().Before(existing.CreatedAt.Add(account.PendingLifetime)):
		// Another sign-up waits for its code: keep it. This one confirms
		// with its own code and then sets the name and password it holds.
		f.AccountID = existing.ID
	case err == nil && existing.Status == account.StatusPending:
		// Past its life and not yet purged: it no longer exists.
		if _, err := k.Accounts.DeletePendingAccount(ctx, existing.ID); err != nil {
			return err
		}
		existing = nil
	case err == nil:
		if rl.Disclosure != realm.DisclosureSafe {
			return ninsho.FieldError(ninsho.CodeIdentifierTaken, "identifier")
		}
		return s.startForExisting(ctx, rl, req, f, existing, ch)
	case !ninsho.IsCode(err, ninsho.CodeAccountNotFound):
		return err
	default:
		existing = nil
	}
	a := existing
	if a == nil {
		now := k.Clock.Now()
		a = &account.Account{
			ID: ninsho.NewID(k.Clock, k.Random), Realm: rl.ID, Type: account.TypeCustomer,
			Status: account.StatusPending, Name: f.Get(stateName), Locale: authflow.Locale(f, nil, rl), CreatedAt: now, UpdatedAt: now,
		}
		if id.Kind == identifier.KindEmail {
			a.Email = id.Value
		} else {
			a.Phone = id.Value
		}
		if err := k.Accounts.CreateAccount(ctx, a); err != nil {
			return err
		}
		if err := k.Accounts.SetPasswordHash(ctx, a.ID, f.Get(stateHash), now); err != nil {
			return err
		}
		f.AccountID = a.ID
		f.Set(stateCreated, "1")
		f.Set(stateHash, "") // the account holds it now
		f.Set(stateName, "")
	}
	if err := k.SendCode(ctx, f, rl, a, code.PurposeSignup, ch, id.Value, message.TemplateSignupCode); err != nil {
		return err
	}
	if err := k.Save(ctx, f); err != nil {
		return err
	}
	return k.Record(ctx, rl, a.ID, event.TypeSignupStarted, req, f.DeviceID, map[string]any{
		"flow": f.ID, "channel": string(ch), "pending_kept": f.Get(stateCreated) != "1",
	})
}

// startForExisting continues a safe realm's sign-up for an identifier that
// already has an account: the flow looks the same to the caller, a code is
// issued (so cool-down, caps and attempts behave alike) but never sent, and
// the owner gets a notice instead. The flow has no account, so no code can
// ever complete it.
func (s *Service) startForExisting(ctx context.Context, rl *realm.Realm, req ninsho.Request, f *flow.Flow, owner *account.Account, ch code.Channel) error {
	k := s.Kit
	f.Set(stateHash, "") // nothing to keep: this flow never completes
	f.Set(stateName, "")
	// Its wrong codes count with the owner's other flows (code.GuardKey),
	// as a new identifier's count with its pending account's.
	f.Set(code.StateGuardAccount, owner.ID)
	// The notice goes where the code would have: the SMS guard counts it
	// alike, so that its refusals look alike too.
	pass, err := k.SMSGuard.Check(ctx, rl, ch, f.Identifier, code.LaneOf(f, code.PurposeSignup))
	if err != nil {
		return err
	}
	if _, err := k.Codes.Issue(ctx, f, "", code.PurposeSignup, ch, f.Identifier, rl.CodeLifetime()); err != nil {
		return err
	}
	if err := pass.Count(ctx); err != nil {
		return err
	}
	m, err := k.Notice(ctx, rl, message.Channel(ch), f.Identifier, "account_exists", authflow.Locale(f, owner, rl),
		map[string]string{"name": owner.Name})
	if err != nil {
		return err
	}
	// Its answers show this message's delivery as a new identifier's show
	// its code's (authflow.Deliveries: "sent", when it was written).
	f.Set(flow.StateCodeMessage, m.ID)
	if err := k.Save(ctx, f); err != nil {
		return err
	}
	return k.Record(ctx, rl, owner.ID, event.TypeSignupStarted, req, f.DeviceID, map[string]any{
		"flow": f.ID, "existing_account": true,
	})
}

// submitCaptcha checks the answer; a right one sends the code.
func (s *Service) submitCaptcha(ctx context.Context, rl *realm.Realm, f *flow.Flow, req ninsho.Request, act flow.Action) (*flow.Answer, error) {
	var taken error
	stepErr, err := s.Kit.ReleaseHeld(ctx, s.Gate, f, act, func(ctx context.Context) error {
		err := s.begin(ctx, rl, req, f)
		if ninsho.IsCode(err, ninsho.CodeIdentifierTaken) {
			// An explicit realm tells it; the flow ends here and the
			// solved CAPTCHA stays used (the transaction commits).
			taken, f.Status = err, flow.StatusFailed
			f.Set(stateHash, "")
			f.Set(stateName, "")
			return s.Kit.Save(ctx, f)
		}
		return err
	})
	if err != nil {
		return s.answer(f), err
	}
	if taken != nil {
		return s.answer(f), taken
	}
	return s.answer(f), stepErr
}

// Act applies a sign-up action: submit_code, resend_code or switch_channel
// (authflow.Kit.SwitchChannel).
func (s *Service) Act(ctx context.Context, f *flow.Flow, req ninsho.Request, a flow.Action) (*flow.Answer, error) {
	rl := s.Realms.ByID(f.Realm)
	if rl == nil {
		return nil, ninsho.E(ninsho.CodeFlowNotFound)
	}
	switch {
	case s.Kit.SecondFactor().Handles(f, a):
		return s.Kit.SecondFactor().Act(ctx, rl, f, req, a)
	case startgate.IsCaptchaAction(a) && startgate.Held(f):
		return s.submitCaptcha(ctx, rl, f, req, a)
	case a.Name == flow.ActionSubmitCode && f.Step == flow.StepVerificationCode:
		return s.submitCode(ctx, rl, f, req, a.Code)
	case a.Name == flow.ActionResendCode && f.Step == flow.StepVerificationCode:
		return s.resend(ctx, rl, f, req)
	case a.Name == flow.ActionSwitchChannel && f.Step == flow.StepVerificationCode:
		// Only a voice call to the number typed, once its SMS code is in
		// trouble (explicit realms); a safe realm refuses every switch alike.
		err := s.Kit.SwitchChannel(ctx, rl, f, a.Channel, code.PurposeSignup, message.TemplateSignupCode)
		return s.answer(f), err
	default:
		return s.answer(f), ninsho.FieldError(ninsho.CodeActionUnknown, "action")
	}
}

// View describes f as it stands.
func (s *Service) View(_ context.Context, f *flow.Flow) (*flow.Answer, error) {
	return s.answer(f), nil
}

func (s *Service) answer(f *flow.Flow) *flow.Answer {
	ans := &flow.Answer{Flow: f, AccountID: ""}
	switch {
	case f.Status != flow.StatusChallenge:
	case f.Step == flow.StepSecondFactor || f.Step == flow.StepEnrolSecondFactor:
		ans.Next = s.Kit.SecondFactor().Next(f)
	case startgate.Held(f):
		ans.Next = startgate.Next(f)
	default:
		ans.Next = s.Kit.CodeNext(f, s.Realms.ByID(f.Realm), authflow.Alternatives(f))
	}
	return ans
}

func (s *Service) submitCode(ctx context.Context, rl *realm.Realm, f *flow.Flow, req ninsho.Request, input string) (*flow.Answer, error) {
	k := s.Kit
	var grant *flow.Grant
	var stepErr error
	err := k.Tx.InTx(ctx, func(ctx context.Context) error {
		c, serr, err := k.CheckCode(ctx, f, code.PurposeSignup, input)
		if err != nil || serr != nil {
			stepErr = serr
			return err
		}
		a, err := k.Accounts.Account(ctx, f.AccountID)
		if err != nil && !ninsho.IsCode(err, ninsho.CodeAccountNotFound) {
			return err
		}
		if a == nil || a.Status != account.StatusPending {
			// Another sign-up of this identifier was confirmed first, or
			// another account took the address meanwhile (a contact change
			// deletes the pending account it takes the address from).
			f.Status = flow.StatusFailed
			stepErr = ninsho.FieldError(ninsho.CodeIdentifierTaken, "identifier")
			return k.Save(ctx, f)
		}
		now := k.Clock.Now()
		if hash := f.Get(stateHash); hash != "" {
			// The pending account was made by another sign-up: the one
			// that proves the address decides the name and password.
			if err := k.Accounts.SetPasswordHash(ctx, a.ID, hash, now); err != nil {
				return err
			}
			a.Name, a.Locale = f.Get(stateName), authflow.Locale(f, nil, rl)
			f.Set(stateHash, "")
			f.Set(stateName, "")
		}
		a.Status = account.StatusActive
		authflow.Verify(a, string(c.Channel), now)
		a.UpdatedAt = now
		if err := k.Accounts.UpdateAccount(ctx, a); err != nil {
			return err
		}
		grant, err = k.Complete(ctx, f, rl, a, req, []string{session.MethodPassword, session.CodeMethod(string(c.Channel))},
			event.TypeSignupCompleted, map[string]any{"channel": string(c.Channel)})
		return err
	})
	if err != nil {
		return s.answer(f), err
	}
	if stepErr != nil {
		return s.answer(f), stepErr
	}
	return s.Kit.Completed(f, grant), nil
}

func (s *Service) resend(ctx context.Context, rl *realm.Realm, f *flow.Flow, req ninsho.Request) (*flow.Answer, error) {
	err := s.Kit.Resend(ctx, rl, f, code.PurposeSignup, "signup_code")
	return s.answer(f), err
}

// CleanName normalises a display name: NFKC, trimmed, at most
// MaxNameLength characters. It refuses (name_invalid) what could disguise
// the name or carry spam in the messages it goes into: control characters,
// invisible format characters (Cf: the bidirectional marks and overrides,
// U+FEFF, U+061C…; only U+200D ZERO WIDTH JOINER, which emoji are made of,
// is kept), line and paragraph separators, U+FFFD, letters that draw
// nothing (blankLetters: the Hangul fillers, U+034F…), more than MaxMarks
// combining marks in a row on one letter, and links ("://", "www.",
// "http", a word.tld with a common top-level domain: linkTLDs; "。" and
// the other full stops of linkDots count as dots). "J.R.R. Tolkien",
// "Mr.Smith", "山田 花子", "José", "Nguyễn Thị Ánh" and emoji are names.
func CleanName(raw string) (string, error) {
	if !utf8.ValidString(raw) {
		return "", ninsho.FieldError(ninsho.CodeNameInvalid, "name")
	}
	n := strings.TrimSpace(norm.NFKC.String(raw))
	if n == "" {
		return "", ninsho.FieldError(ninsho.CodeFieldRequired, "name")
	}
	if utf8.RuneCountInString(n) > MaxNameLength {
		return "", ninsho.FieldError(ninsho.CodeFieldTooLong, "name").WithParam("max", MaxNameLength)
	}
	for _, r := range n {
		if unicode.IsControl(r) || r == utf8.RuneError || unicode.In(r, unicode.Zl, unicode.Zp) ||
			unicode.Is(unicode.Cf, r) && r != '\u200d' || slices.Contains(blankLetters, r) {
			return "", ninsho.FieldError(ninsho.CodeNameInvalid, "name")
		}
	}
	// Marks are counted on the decomposed letters, so that a precomposed
	// letter counts its marks too ("ệ" is e and 2 marks).
	marks := 0 // combining marks in a row on the letter before
	for _, r := range norm.NFD.String(n) {
		if !unicode.Is(unicode.M, r) {
			marks = 0
		} else if marks++; marks > MaxMarks {
			return "", ninsho.FieldError(ninsho.CodeNameInvalid, "name")
		}
	}
	// The name goes into the code message sent to the identifier, which may
	// belong to someone else: refuse links so sign-up cannot carry spam.
	if hasLink(strings.ToLower(n)) {
		return "", ninsho.FieldError(ninsho.CodeNameInvalid, "name")
	}
	return n, nil
}

// MaxMarks is how many combining marks in a row one letter of a name may
// carry, counted decomposed (NFD: "ệ" is e and 2 marks): a Vietnamese
// letter or a Thai consonant with its vowel and tone marks needs at most
// 2–3; more is "zalgo" text drawn over the lines around it.
const MaxMarks = 3

// blankLetters are letters and marks that draw nothing, so a name made of
// or padded with them looks empty or like another: the Hangul fillers
// (U+115F, U+1160, U+3164 and the half-width U+FFA0, which NFKC makes
// U+3164), U+034F COMBINING GRAPHEME JOINER, U+2800 BRAILLE PATTERN BLANK
// and the Khmer inherent vowels U+17B4, U+17B5.
var blankLetters = []rune{'\u115f', '\u1160', '\u3164', '\uffa0', '\u034f', '\u2800', '\u17b4', '\u17b5'}

// linkDots are the full stops other scripts write that a link may use
// instead of "." ("evil。com"): U+3002 IDEOGRAPHIC FULL STOP and the
// half-width U+FF61 (NFKC makes it U+3002); the full-width U+FF0E, which
// NFKC makes ".", is listed for a caller that did not normalise.
var linkDots = strings.NewReplacer("\u3002", ".", "\uff61", ".", "\uff0e", ".")

// linkTLDs are the top-level domains a name may not end a word.tld with.
var linkTLDs = []string{
	"com", "net", "org", "jp", "co", "io", "info", "biz", "xyz", "ru", "cn",
	"app", "dev", "me", "link", "click", "top", "shop", "online", "site", "ly",
}

// hasLink reports whether the lower-case name holds a link: "://", "www.",
// "http", or a host-like token — letters or digits, a dot, and a common
// top-level domain not followed by a letter or digit ("shop.example.com",
// "bit.ly/x", "x.com"). Initials ("J.R.R.") and a dot followed by a space
// or another word ("Mr.Smith") do not make one.
func hasLink(lower string) bool {
	lower = linkDots.Replace(lower)
	for _, bad := range []string{"://", "www.", "http"} {
		if strings.Contains(lower, bad) {
			return true
		}
	}
	rs := []rune(lower)
	isWord := func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' }
	for i, r := range rs {
		if r != '.' || i == 0 || !isWord(rs[i-1]) {
			continue
		}
		// The top-level domain ends where ASCII ends: "evil.comへ" is
		// evil.com followed by Japanese, which mail clients link too.
		end := i + 1
		for end < len(rs) && rs[end] < utf8.RuneSelf && isWord(rs[end]) {
			end++
		}
		if slices.Contains(linkTLDs, string(rs[i+1:end])) {
			return true
		}
	}
	return false
}
