package web

import (
	"slices"
	"time"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// The code pages (/verify, /two-step) tell the person what became of their
// code: a lead that says where it goes (p.destination), one status line
// (p.delivery) that says what is known of its message, and, when something
// went wrong, the "didn't get the code?" box with the likely cause, what to
// do, and the real other ways to get a code as buttons. Every text is
// coherent with the status: nothing claims "we've sent" of a message that
// is still queued, failed or was undelivered. Times are in the realm's zone
// (realmZone), in both languages.

// codeBlockedFor is how long a destination's code budget (code service:
// resend_limit_reached) and the SMS cost guard (smsguard, rate_limited of
// kind "messages") refuse once they refused: about an hour.
const codeBlockedFor = time.Hour

// kindMessages is the kind of the SMS cost guard's rate_limited refusal.
const kindMessages = "messages"

// isPhone reports whether ch (a channel or second-factor method) reaches
// a phone number.
func isPhone(ch string) bool { return ch == "sms" || ch == "voice" }

// codeChannel is the channel the step's code goes by: next.method at the
// second-factor step, next.channel at the verification-code step.
func (p *page) codeChannel() string {
	if p.Next == nil {
		return ""
	}
	if p.Next.Step == flow.StepSecondFactor {
		return p.Next.Method
	}
	return p.Next.Channel
}

// voiceSuffix is ".voice" for a code read out by a voice call, whose texts
// speak of a call.
func (p *page) voiceSuffix() string {
	if p.codeChannel() == "voice" {
		return ".voice"
	}
	return ""
}

// at writes t as a time of day in the realm's zone: "12:03" on a Japanese
// page of a realm in Japan time, "12:03 JST" / "03:03 UTC" otherwise, with
// the date in front when t is not on today's date there.
func (p *page) at(t time.Time) string {
	loc := p.zone
	if loc == nil {
		loc = time.UTC
	}
	t, now := t.In(loc), p.now.In(loc)
	layout := "15:04 MST"
	if p.Locale == "ja" && loc == jst {
		layout = "15:04"
	}
	if ty, tm, td := t.Date(); p.now.IsZero() || (ty == now.Year() && tm == now.Month() && td == now.Day()) {
		return t.Format(layout)
	}
	if p.Locale == "ja" {
		return t.Format("1月2日 " + layout)
	}
	return t.Format("Jan 2, " + layout)
}

// CodeLead is the text of the lead line of a code page: where the code
// went (for a voice call, that a call is coming, or once the call was
// made, that we called), and where its message
// is still queued, failed or undelivered, in words that do not claim it
// was sent or arrived.
func (p *page) CodeLead() string {
	n := p.Next
	if n == nil || n.Destination == "" {
		return ""
	}
	dest := map[string]any{"destination": n.Destination}
	if d := n.Delivery; d != nil {
		switch d.Status {
		case "queued":
			return i18n.Message(p.Locale, "delivery.lead.queued"+p.voiceSuffix(), dest)
		case "failed", "undelivered":
			return i18n.Message(p.Locale, "delivery.lead.tried"+p.voiceSuffix(), dest)
		case "sent", "delivered":
			if p.codeChannel() == "voice" {
				// The status line says when the call was made: the
				// lead must not still say a call is coming.
				return i18n.Message(p.Locale, "delivery.lead.called", dest)
			}
		}
	}
	if n.Step == flow.StepSecondFactor {
		return i18n.Message(p.Locale, "hint.second_factor_sent."+n.Method, dest)
	}
	if p.codeChannel() == "voice" {
		return i18n.Message(p.Locale, "delivery.lead.voice", dest)
	}
	return i18n.Message(p.Locale, "hint.code_sent", dest)
}

// DeliveryLine is the status line of the code's message, or "" when
// nothing is known of it: one sentence per status (and for a voice call
// its own), with the time of the last change.
func (p *page) DeliveryLine() string {
	if p.Next == nil || p.Next.Delivery == nil {
		return ""
	}
	d := p.Next.Delivery
	switch d.Status {
	case "queued", "sent", "delivered", "undelivered", "failed":
	default:
		return ""
	}
	return i18n.Message(p.Locale, "delivery.status."+d.Status+p.voiceSuffix(), map[string]any{"time": p.at(d.UpdatedAt)})
}

// blocked returns the channel kind ("phone" or "email") whose codes are
// refused for about an hour as the page stands, or "": the code budget of
// the destination was spent (resend_limit_reached, shown now or recorded
// as next.not_sent), or the SMS cost guard refused (rate_limited of kind
// "messages").
func (p *page) blocked() string {
	kindOf := func(ch string) string {
		if isPhone(ch) {
			return "phone"
		}
		return "email"
	}
	if p.Next != nil && (p.Next.NotSent == string(ninsho.CodeRateLimited) || p.Next.NotSent == string(ninsho.CodeResendLimitReached)) {
		return "phone" // not_sent: the second factor's SMS or voice code
	}
	if e := p.Error; e != nil {
		switch {
		case e.Code == string(ninsho.CodeRateLimited) && e.Kind == kindMessages:
			return "phone"
		case e.Code == string(ninsho.CodeResendLimitReached) && p.refused != "":
			return kindOf(p.refused)
		case e.Code == string(ninsho.CodeResendLimitReached):
			return kindOf(p.codeChannel())
		}
	}
	return ""
}

// reaches reports whether a code by ch goes to a destination of kind
// ("phone", "email").
func reaches(ch, kind string) bool {
	return (kind == "phone" && isPhone(ch)) || (kind == "email" && ch == "email")
}

// CanResend reports whether the page offers "resend": not while the
// current channel's destination is refused codes for an hour.
func (p *page) CanResend() bool {
	b := p.blocked()
	return b == "" || !reaches(p.codeChannel(), b)
}

// Offered returns the alternatives the page offers as buttons: those of
// next.alternatives that would not be refused for an hour (no SMS or voice
// call while the number's codes are refused).
func (p *page) Offered() []string {
	if p.Next == nil {
		return nil
	}
	b := p.blocked()
	var out []string
	for _, alt := range p.Next.Alternatives {
		if b != "" && reaches(alt, b) {
			continue
		}
		out = append(out, alt)
	}
	return out
}

// BlockedLine says, on the page that answers a refused resend_code or
// switch_channel with resend_limit_reached, when codes can be sent to that
// destination again (an hour from now, in the realm's zone), or "". It is
// shown where the "resend" button would be. (A refusal of the SMS cost
// guard says its own wait; next.not_sent says "about an hour": when it was
// refused is not known.)
func (p *page) BlockedLine() string {
	e := p.Error
	if e == nil || e.Code != string(ninsho.CodeResendLimitReached) || e.Kind != "" || p.now.IsZero() {
		return ""
	}
	key := "delivery.blocked." + p.blocked()
	if len(p.Offered()) > 0 {
		key += ".other_ways"
	}
	return i18n.Message(p.Locale, key, map[string]any{"time": p.at(p.now.Add(codeBlockedFor))})
}

// NotSentLine is why the second factor's code was not sent (next.not_sent)
// or "": the SMS cost guard's own message when the page offers another way,
// and never the same refusal twice (the error summary may say it already).
func (p *page) NotSentLine() string {
	n := p.Next
	if n == nil || n.NotSent == "" {
		return ""
	}
	if e := p.Error; e != nil && e.Code == n.NotSent {
		return "" // the error summary says it
	}
	switch n.NotSent {
	case string(ninsho.CodeRateLimited), string(ninsho.CodeResendLimitReached):
		// The guard's message names other ways, so it is shown only
		// where the page offers some.
		if n.NotSent == string(ninsho.CodeRateLimited) && len(p.Offered()) > 0 {
			return i18n.ErrorMessage(p.Locale, ninsho.CodeRateLimited, map[string]any{"kind": kindMessages, "retry_after_s": int(codeBlockedFor / time.Second)})
		}
		return i18n.Message(p.Locale, "delivery.not_sent."+n.NotSent, nil)
	}
	return i18n.Message(p.Locale, "error."+n.NotSent, map[string]any{"seconds": n.ResendAfterS})
}

// HelpReason is the first paragraph of the "didn't get the code?" box:
// what probably happened to the code's message. A failed message is
// explained as either a sending problem on our side or a refusal by the
// provider (an invalid number or address): the report does not say which.
func (p *page) HelpReason() string {
	if p.Next == nil || p.Next.AlternativesReason == "" {
		return ""
	}
	key := "delivery.help." + p.Next.AlternativesReason + p.voiceSuffix()
	if p.Next.AlternativesReason == flow.DeliveryReasonFailed && p.codeChannel() == "email" {
		key += ".email" // refused: an address, not a number
	}
	return i18n.Message(p.Locale, key, nil)
}

// HelpNext is the second paragraph of the box: what the person can do —
// check the destination (a wrong one is a likely cause whatever the
// reason: a failed message may have been refused by the provider, for
// example for an invalid number), then take the button below (singular
// wording) or one of the buttons below when there are any, else wait and
// try again, and where the realm has one, contact its customer service
// (the footer).
func (p *page) HelpNext() string {
	if p.Next == nil {
		return ""
	}
	n := len(p.Offered())
	key := "delivery.help.other_ways.check"
	switch n {
	case 0:
		key = "delivery.help.no_other_way.check"
	case 1:
		key = "delivery.help.other_way.check"
	}
	if n == 0 && p.Brand != nil && (p.Brand.SupportURL != "" || p.Brand.SupportContact != "") {
		key += ".support"
	}
	return i18n.Message(p.Locale, key, map[string]any{"destination": p.Next.Destination})
}

// limitMessage replaces the shared resend_limit_reached message (which
// says "this e-mail address or mobile number") on a code page with one
// that names the kind of destination whose codes ran out. It asks to use
// the last code only when that code's message may have arrived: when it
// failed or was undelivered, it says only that no more codes can go there
// for now (BlockedLine says from when, and the page offers the other ways).
func (p *page) limitMessage() {
	e := p.Error
	if e == nil || e.Code != string(ninsho.CodeResendLimitReached) || e.Kind != "" {
		return
	}
	if b := p.blocked(); b != "" {
		key := "delivery.limit." + b
		if n := p.Next; n != nil && n.Delivery != nil && (n.Delivery.Status == "failed" || n.Delivery.Status == "undelivered") && reaches(p.codeChannel(), b) {
			key += ".not_received"
		}
		e.Message = i18n.Message(p.Locale, key, nil)
	}
}

// ResendButton is the label of the "resend" button: "call me again" when
// the step's code goes by voice call.
func (p *page) ResendButton() string {
	if p.codeChannel() == "voice" {
		return i18n.Message(p.Locale, "button.resend.voice", nil)
	}
	return i18n.Message(p.Locale, "button.resend", nil)
}

// CodeHint is the hint under the second factor's code field. For an SMS
// or voice code it names only what the page offers: "send it again" (or
// "call again") only with the resend button, "another way" only with other
// ways as buttons.
func (p *page) CodeHint() string {
	if p.Next == nil {
		return ""
	}
	m := p.Next.Method
	if !isPhone(m) {
		return i18n.Message(p.Locale, "hint.second_factor."+m, nil)
	}
	key := "delivery.hint." + m
	if p.CanResend() {
		key += ".resend"
	}
	if len(p.Offered()) > 0 {
		key += ".other_ways"
	}
	return i18n.Message(p.Locale, key, nil)
}

// codePages are the page templates with a code's delivery.
var codePages = []string{"verify", "two_step"}

func isCodePage(name string) bool { return slices.Contains(codePages, name) }

// clock formats t as a time of day: "12:03" in Japan time in Japanese,
// "03:03 UTC" otherwise. The built-in pages no longer use it (they give
// times in the realm's zone: page.at); it stays a template function so
// that theme pages written with it still parse.
func clock(locale string, t time.Time) string {
	if locale == "ja" {
		return t.In(jst).Format("15:04")
	}
	return t.UTC().Format("15:04") + " UTC"
}
