package cli

import (
	"fmt"
	"net/http"

	"github.com/ninsho/ninsho/internal/config"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/message/providers/kannel"
	"github.com/ninsho/ninsho/internal/message/providers/smtp"
	"github.com/ninsho/ninsho/internal/message/providers/twilio"
	"github.com/ninsho/ninsho/internal/message/providers/webhook"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/secret"
)

// providerDeps is what building a provider may need besides its
// configuration.
type providerDeps struct {
	cfg     config.Config
	dev     message.Sender // the development inbox's sender (development only)
	clock   ninsho.Clock
	hasher  *secret.Hasher   // keys callback tokens
	reports *message.Reports // what callbacks record
	// callbackBase is where providers send their callbacks: public_url, or
	// http://addr without one; a provider's hook is callbackBase +
	// "/hooks/" + its name + "/…".
	callbackBase string
}

// providers is what the configuration's message providers became.
type providers struct {
	// defaults are the senders of a channel for realms without a list of
	// their own.
	defaults map[message.Channel][]message.Sender
	// realms are the realms' own lists (realms[].providers).
	realms map[string]map[message.Channel][]message.Sender
	// hooks are the callback handlers by provider name (/hooks/<name>/).
	hooks map[string]http.Handler
}

// canSend reports whether realm's messages have a provider on ch.
func (p *providers) canSend(realm string, ch message.Channel) bool {
	return len(p.realms[realm][ch]) > 0 || len(p.defaults[ch]) > 0
}

// names lists the names of every provider in use (each once): the label
// values of the per-provider metrics.
func (p *providers) names() []string {
	seen := map[string]bool{}
	var out []string
	add := func(chs map[message.Channel][]message.Sender) {
		for _, ss := range chs {
			for _, s := range ss {
				if !seen[s.Name()] {
					seen[s.Name()] = true
					out = append(out, s.Name())
				}
			}
		}
	}
	add(p.defaults)
	for _, chs := range p.realms {
		add(chs)
	}
	return out
}

// buildProviders makes one sender per provider definition (shared by every
// realm that names it, so that one breaker watches it) and the realms'
// lists. Development keeps the inbox as the default of every channel;
// production keeps the top-level smtp as the default of e-mail where some
// realm has no e-mail list.
func buildProviders(d providerDeps) (*providers, error) {
	p := &providers{
		defaults: map[message.Channel][]message.Sender{},
		realms:   map[string]map[message.Channel][]message.Sender{},
		hooks:    map[string]http.Handler{},
	}
	if d.cfg.Dev() {
		for _, ch := range []message.Channel{message.ChannelEmail, message.ChannelSMS, message.ChannelVoice} {
			p.defaults[ch] = []message.Sender{d.dev}
		}
	} else if d.cfg.UsesDefaultSMTP() {
		mail, err := smtp.New(smtp.Config{
			Host: d.cfg.SMTP.Host, Port: d.cfg.SMTP.Port, Username: d.cfg.SMTP.Username,
			Password: string(d.cfg.SMTP.Password), From: d.cfg.SMTP.From, TLS: d.cfg.SMTP.TLS,
		})
		if err != nil {
			return nil, fmt.Errorf("smtp: %w", err)
		}
		p.defaults[message.ChannelEmail] = []message.Sender{mail}
	}
	byName := map[string]message.Sender{}
	for _, pc := range d.cfg.Providers {
		s, hook, err := buildProvider(pc, d)
		if err != nil {
			return nil, fmt.Errorf("providers %s: %w", pc.Name, err)
		}
		byName[pc.Name] = s
		if hook != nil {
			p.hooks[pc.Name] = hook
		}
	}
	for _, rc := range d.cfg.Realms {
		chs := map[message.Channel][]message.Sender{}
		for ch, names := range map[message.Channel][]string{
			message.ChannelEmail: rc.Providers.Email, message.ChannelSMS: rc.Providers.SMS, message.ChannelVoice: rc.Providers.Voice,
		} {
			for _, n := range names {
				chs[ch] = append(chs[ch], byName[n])
			}
		}
		p.realms[rc.ID] = chs
	}
	return p, nil
}

// buildProvider makes the sender of one definition and, for providers that
// report deliveries, its callback handler.
func buildProvider(pc config.Provider, d providerDeps) (message.Sender, http.Handler, error) {
	switch pc.Type {
	case "smtp":
		s, err := smtp.New(smtp.Config{
			Name: pc.Name, Host: pc.SMTP.Host, Port: pc.SMTP.Port, Username: pc.SMTP.Username,
			Password: string(pc.SMTP.Password), From: pc.SMTP.From, TLS: pc.SMTP.TLS,
		})
		return s, nil, err
	case "kannel":
		tokens := message.CallbackTokens{Hasher: d.hasher}
		s, err := kannel.New(kannel.Config{
			Name: pc.Name, SendSMSURL: pc.Kannel.SendSMSURL, Username: pc.Kannel.Username,
			Password: string(pc.Kannel.Password), From: pc.Kannel.From, SMSC: pc.Kannel.SMSC,
			CallbackBase: d.callbackBase, Tokens: tokens,
		})
		if err != nil {
			return nil, nil, err
		}
		return s, kannel.NewHandler(pc.Name, tokens, d.reports), nil
	case "twilio":
		s, err := twilio.New(twilio.Config{
			Name: pc.Name, BaseURL: pc.Twilio.BaseURL, AccountSID: pc.Twilio.AccountSID,
			AuthToken: string(pc.Twilio.AuthToken), From: pc.Twilio.From,
			CallbackBase: d.callbackBase, Reports: d.reports,
		})
		if err != nil {
			return nil, nil, err
		}
		return s, s.Handler(), nil
	case "devinbox":
		if d.dev == nil {
			return nil, nil, fmt.Errorf("the development inbox exists only in development mode")
		}
		return d.dev, nil, nil
	case "webhook":
		return buildWebhook(pc, d)
	}
	return nil, nil, fmt.Errorf("provider type %q is not built yet", pc.Type)
}

// buildWebhook makes the generic webhook provider and its callback handler
// (/hooks/<name>/status), both keyed by its secret.
func buildWebhook(pc config.Provider, d providerDeps) (message.Sender, http.Handler, error) {
	s, err := webhook.New(webhook.Config{
		Name: pc.Name, URL: pc.Webhook.URL, Secret: []byte(pc.Webhook.Secret),
		CallbackURL: d.callbackBase + "/hooks/" + pc.Name + "/status", Clock: d.clock,
	})
	if err != nil {
		return nil, nil, err
	}
	h, err := webhook.NewHandler(webhook.HandlerConfig{Name: pc.Name, Secret: []byte(pc.Webhook.Secret), Reports: d.reports, Clock: d.clock})
	if err != nil {
		return nil, nil, err
	}
	return s, h, nil
}
