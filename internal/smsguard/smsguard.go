// Package smsguard is the SMS pumping and cost guard (issue 11): before a
// text message or a voice call is enqueued, it counts the message per
// destination number (per hour and per day), per destination country
// (the number's region, per hour) and per realm (per hour), in the shared
// throttle.Counter, and refuses it past a limit. Text messages and voice
// calls cost money per message and are the target of SMS pumping (toll
// fraud: codes asked for premium numbers); e-mail is not counted.
//
// The per-number counts are kept per lane (code.Lane): strangers, who can ask
// for codes to any number they know, spend the stranger lane's budget and
// cannot use up the owner's. The country and realm ceilings are shared:
// an attacker who exhausts them stops SMS and voice for everyone in that
// country or realm for up to an hour, and people then use e-mail codes, an
// authenticator app or backup codes, which the guard never counts. That is
// the point of a ceiling: it bounds the bill.
package smsguard

import (
	"context"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/identifier"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/throttle"
)

// Limit names, as the metric's "limit" label reports them.
const (
	LimitNumberHour  = "number_hour"
	LimitNumberDay   = "number_day"
	LimitCountryHour = "country_hour"
	LimitRealmHour   = "realm_hour"
)

// Day is the window of the per-number daily limit.
const Day = 24 * time.Hour

// RetryAfter is the retry_after_s of a refusal, whichever limit refused:
// the answer never tells which limit it was.
const RetryAfter = time.Hour

// DefaultLimits: per number and lane 15 codes an hour and 40 messages a
// day, 1,000 an hour to the realm's own country (region), 50 an hour to
// each other country, 2,000 an hour in the realm. The hourly per-number
// limit counts codes only (alerts and notices count in the day and the
// ceilings, AdmitOptional) and sits above the code lanes (code.Policy: 10
// owner's and 5 strangers' codes an hour per destination, each lane's last
// with its notice), so that those always answer first, with their own words.
func DefaultLimits() realm.SMSLimits {
	return realm.SMSLimits{PerNumberHour: 15, PerNumberDay: 40, PerCountryHour: 1000, PerForeignCountryHour: 50, RealmHour: 2000}
}

// LimitsOf returns rl's limits with the defaults in place of zero fields.
func LimitsOf(rl *realm.Realm) realm.SMSLimits {
	l, d := rl.SMSLimits, DefaultLimits()
	for _, f := range []struct{ v, d *int }{
		{&l.PerNumberHour, &d.PerNumberHour}, {&l.PerNumberDay, &d.PerNumberDay}, {&l.PerCountryHour, &d.PerCountryHour},
		{&l.PerForeignCountryHour, &d.PerForeignCountryHour}, {&l.RealmHour, &d.RealmHour},
	} {
		if *f.v <= 0 {
			*f.v = *f.d
		}
	}
	return l
}

// Observer is told of every refusal (an operator metric); it must be safe
// for concurrent use and must not block.
type Observer interface {
	Refused(limit string, ch code.Channel)
}

// Guard admits or refuses SMS and voice messages. A nil Guard admits
// everything. It is safe for concurrent use; two concurrent admissions may
// both pass the last place under a limit (the count errs by the number of
// concurrent requests).
type Guard struct {
	Counter *throttle.Counter
	// Observer is told of refusals; nil tells no one.
	Observer Observer
}

// Admit counts one message over ch to the E.164 number dest in realm rl,
// drawn from lane (code.LaneOwner for messages the account's owner asked
// for or the server sends on its own, code.LaneStranger otherwise). Channels
// other than SMS and voice are admitted uncounted. Past any limit it
// refuses with ninsho.CodeRateLimited of kind "messages" (retry_after_s
// RetryAfter; kind and wait are the same for every limit, so the answer
// never says which one) and counts nothing; the caller enqueues nothing. It
// takes part in the transaction of ctx, so a caller that fails later keeps
// no count. Admit is Check followed by Pass.Count.
func (g *Guard) Admit(ctx context.Context, rl *realm.Realm, ch code.Channel, dest string, lane code.Lane) error {
	p, err := g.Check(ctx, rl, ch, dest, lane)
	if err != nil {
		return err
	}
	return p.Count(ctx)
}

// Pass is a message Check admitted; Count counts it.
type Pass struct {
	g      *Guard
	hourly []string
	daily  string
}

// Check refuses as Admit does but counts nothing: the caller counts the
// message with the Pass once it is sure to enqueue it, so that a message
// refused for another reason after Check (a code's cool-down or hourly
// budget) is not counted even where the caller's transaction commits.
func (g *Guard) Check(ctx context.Context, rl *realm.Realm, ch code.Channel, dest string, lane code.Lane) (Pass, error) {
	return g.check(ctx, rl, ch, dest, lane, false)
}

// check is Check; an optional message (an alert, a notice) is neither
// checked against nor counted in the per-number hourly limit, only in the
// day and the country and realm ceilings.
func (g *Guard) check(ctx context.Context, rl *realm.Realm, ch code.Channel, dest string, lane code.Lane, optional bool) (Pass, error) {
	if g == nil || (ch != code.ChannelSMS && ch != code.ChannelVoice) {
		return Pass{}, nil
	}
	l := LimitsOf(rl)
	if lane != code.LaneStranger {
		lane = code.LaneOwner
	}
	cc, own := country(dest, rl.PhoneRegion)
	perCountry := l.PerForeignCountryHour
	if own {
		perCountry = l.PerCountryHour
	}
	numberHour := throttle.Key("sms.number.hour."+string(lane), rl.ID, dest)
	numberDay := throttle.Key("sms.number.day."+string(lane), rl.ID, dest)
	countryHour := throttle.Key("sms.country.hour", rl.ID, cc)
	realmHour := throttle.Key("sms.realm.hour", rl.ID, "all")

	keys := []string{numberHour, countryHour, realmHour}
	if optional {
		keys = keys[1:]
	}
	hourly, err := g.Counter.Counts(ctx, keys, time.Hour)
	if err != nil {
		return Pass{}, err
	}
	daily, err := g.Counter.Count(ctx, numberDay, Day)
	if err != nil {
		return Pass{}, err
	}
	for _, c := range []struct {
		name  string
		n     int
		limit int
	}{
		{LimitNumberHour, hourly[numberHour], l.PerNumberHour},
		{LimitNumberDay, daily, l.PerNumberDay},
		{LimitCountryHour, hourly[countryHour], perCountry},
		{LimitRealmHour, hourly[realmHour], l.RealmHour},
	} {
		if c.name == LimitNumberHour && optional {
			continue
		}
		if c.n >= c.limit {
			if g.Observer != nil {
				g.Observer.Refused(c.name, ch)
			}
			return Pass{}, ninsho.E(ninsho.CodeRateLimited).WithParam("kind", "messages").WithParam("retry_after_s", int(RetryAfter/time.Second))
		}
	}
	return Pass{g: g, hourly: keys, daily: numberDay}, nil
}

// Count counts the admitted message, in the transaction of ctx. The zero
// Pass (a nil Guard, an e-mail) counts nothing.
func (p Pass) Count(ctx context.Context) error {
	if p.g == nil {
		return nil
	}
	for _, k := range p.hourly {
		if err := p.g.Counter.Hit(ctx, k, 1, time.Hour); err != nil {
			return err
		}
	}
	return p.g.Counter.Hit(ctx, p.daily, 1, Day)
}

// country returns the region of the E.164 number dest ("JP", "JM" for
// +1 876; "ZZ" when it cannot be told) and whether it is region, the
// realm's own phone region. The region, not the calling code, decides: a
// +1 number of another NANP region (Jamaica, Canada) is foreign to a
// realm in "US".
func country(dest, region string) (cc string, own bool) {
	num, err := phonenumbers.Parse(dest, "")
	if err != nil {
		return "ZZ", false
	}
	r := phonenumbers.GetRegionCodeForNumber(num)
	if r == "" {
		r = "ZZ"
	}
	return r, r != "ZZ" && strings.EqualFold(region, r)
}

// AdmitOptional is Admit for a message that may be left out (an alert, a
// notice): it reports false, with a nil error, where Admit refuses. Such a
// message counts in the per-number daily limit and the country and realm
// ceilings but not in the per-number hourly limit, which counts codes only:
// so the code budgets (code.Policy, 10 + 5 an hour) always answer before
// that limit, and an alert never takes the place of the owner's next code.
func (g *Guard) AdmitOptional(ctx context.Context, rl *realm.Realm, ch code.Channel, dest string, lane code.Lane) (bool, error) {
	p, err := g.check(ctx, rl, ch, dest, lane, true)
	if err == nil {
		err = p.Count(ctx)
	}
	if ninsho.IsCode(err, ninsho.CodeRateLimited) {
		return false, nil
	}
	return err == nil, err
}

// NoticeChannel returns the channel of the code_limit notice that goes with
// the code that used up a destination's hourly budget, sent over ch to the
// E.164 number dest: the code's own channel for a text message; for a voice
// call a text message instead (a second call saying "no more calls" only
// confuses), when texts can be sent (canSMS) and dest is a mobile number;
// otherwise ok is false and the notice is left out.
func NoticeChannel(ch code.Channel, dest string, canSMS bool) (notice code.Channel, ok bool) {
	if ch != code.ChannelVoice {
		return ch, true
	}
	if !canSMS || identifier.RequireMobile(identifier.Normalized(dest)) != nil {
		return "", false
	}
	return code.ChannelSMS, true
}
