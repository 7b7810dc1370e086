package config

import (
	"fmt"
	"regexp"
	"slices"
)

// Provider is one message provider, defined once under "providers" and
// named in the realms' ordered lists (Realm.Providers). One definition is
// one circuit breaker and one callback address (/hooks/<name>/…), however
// many realms use it.
type Provider struct {
	// Name identifies the provider in realms' lists, delivery attempts,
	// metrics and its callback address: lower-case letters, digits and "-".
	Name string `json:"name"`
	// Type is smtp, kannel, twilio, webhook or devinbox (development only).
	Type string `json:"type"`
	// Exactly the block of Type is set.
	SMTP    *SMTP    `json:"smtp,omitempty"`
	Kannel  *Kannel  `json:"kannel,omitempty"`
	Twilio  *Twilio  `json:"twilio,omitempty"`
	Webhook *Webhook `json:"webhook,omitempty"`
}

// Kannel configures an SMS provider speaking Kannel's smsbox HTTP sendsms
// interface.
type Kannel struct {
	// SendSMSURL is smsbox's sendsms address, e.g.
	// "http://127.0.0.1:13013/cgi-bin/sendsms".
	SendSMSURL string `json:"sendsms_url"`
	// Username and Password are a sendsms-user of Kannel's configuration.
	Username string `json:"username"`
	Password Secret `json:"password"`
	// From is the sender id or number shown on the handset ("" lets Kannel
	// use its faked-sender or global-sender).
	From string `json:"from"`
	// SMSC routes to one SMSC link of bearerbox ("" lets Kannel choose).
	SMSC string `json:"smsc,omitempty"`
}

// Twilio configures an SMS and voice provider speaking Twilio's REST API
// (or a compatible one at BaseURL).
type Twilio struct {
	// BaseURL is the API's address without a path; it defaults to
	// https://api.twilio.com and must be https (http only on a loopback
	// address).
	BaseURL    string `json:"base_url,omitempty"`
	AccountSID string `json:"account_sid"`
	// AuthToken is the API's Basic auth password and the key of the
	// X-Twilio-Signature of the status callbacks.
	AuthToken Secret `json:"auth_token"`
	// From is the sending number (E.164) or alphanumeric sender id.
	From string `json:"from"`
}

// Webhook configures the generic provider: Ninsho POSTs each message as
// signed JSON to URL, and the gateway reports back with signed callbacks
// (docs/operations.md, "Webhook provider").
type Webhook struct {
	// URL is where each message is POSTed: an absolute http or https
	// address; redirects are not followed.
	URL string `json:"url"`
	// Secret, at least 16 bytes used as they are, signs the requests and
	// authenticates the gateway's callbacks (X-Ninsho-Signature).
	Secret Secret `json:"secret"`
}

// RealmProviders lists, per channel, the names of the providers a realm's
// messages go through, in order of preference: the first whose breaker is
// closed is tried first and the next on failure. An empty list keeps the
// default: the top-level "smtp" for e-mail in production, the development
// inbox for every channel in development, nothing for SMS and voice in
// production (the realm then takes no phone numbers).
type RealmProviders struct {
	Email []string `json:"email,omitempty"`
	SMS   []string `json:"sms,omitempty"`
	Voice []string `json:"voice,omitempty"`
}

var providerName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)

// providerChannels says which channels each provider type can carry.
var providerChannels = map[string][]string{
	"smtp":     {"email"},
	"kannel":   {"sms"},
	"twilio":   {"sms", "voice"},
	"webhook":  {"email", "sms", "voice"},
	"devinbox": {"email", "sms", "voice"},
}

// providerProblems checks the provider definitions and the realms' lists.
func (c *Config) providerProblems() []error {
	var errs []error
	bad := func(f string, a ...any) { errs = append(errs, fmt.Errorf(f, a...)) }
	types := map[string]string{}
	for i, p := range c.Providers {
		switch {
		case !providerName.MatchString(p.Name):
			bad("providers[%d].name: %q must be 1–40 lower-case letters, digits or \"-\"", i, p.Name)
		case types[p.Name] != "":
			bad("providers[%d].name: %q is defined twice", i, p.Name)
		}
		if _, ok := providerChannels[p.Type]; !ok {
			bad("providers[%d].type: %q is not smtp, kannel, twilio, webhook or devinbox", i, p.Type)
			continue
		}
		types[p.Name] = p.Type
		blocks := map[string]bool{"smtp": p.SMTP != nil, "kannel": p.Kannel != nil, "twilio": p.Twilio != nil, "webhook": p.Webhook != nil}
		for t, set := range blocks {
			if set && t != p.Type {
				bad("providers[%d].%s: set, but the type is %s", i, t, p.Type)
			}
		}
		if p.Type != "devinbox" && !blocks[p.Type] {
			bad("providers[%d].%s: required for type %s", i, p.Type, p.Type)
		}
		if p.Type == "kannel" && p.Kannel != nil {
			errs = append(errs, p.Kannel.problems(i)...)
		}
		if p.Type == "devinbox" && p.Name != "devinbox" {
			bad("providers[%d].name: the development inbox is named \"devinbox\" (its attempts and reports say so)", i)
		}
		if p.Type == "devinbox" && c.Mode == ModeProduction {
			bad("providers[%d]: the development inbox exists only in development mode", i)
		}
	}
	for i, r := range c.Realms {
		for ch, names := range map[string][]string{"email": r.Providers.Email, "sms": r.Providers.SMS, "voice": r.Providers.Voice} {
			for _, n := range names {
				t, ok := types[n]
				switch {
				case !ok:
					bad("realms[%d].providers.%s: %q is not a defined provider", i, ch, n)
				case !slices.Contains(providerChannels[t], ch):
					bad("realms[%d].providers.%s: %q is a %s provider, which cannot carry %s", i, ch, n, t, ch)
				}
			}
			if len(names) != len(slices.Compact(slices.Sorted(slices.Values(names)))) {
				bad("realms[%d].providers.%s: a provider is listed twice", i, ch)
			}
		}
	}
	return errs
}

// ProviderByName returns the definition named name.
func (c *Config) ProviderByName(name string) (Provider, bool) {
	for _, p := range c.Providers {
		if p.Name == name {
			return p, true
		}
	}
	return Provider{}, false
}

// UsesDefaultSMTP reports whether some realm sends e-mail through the
// top-level "smtp" (its providers.email is empty).
func (c *Config) UsesDefaultSMTP() bool {
	for _, r := range c.Realms {
		if len(r.Providers.Email) == 0 {
			return true
		}
	}
	return len(c.Realms) == 0
}
