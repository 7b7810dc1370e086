package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// RealmURL returns where the links in the messages of realms[i] point
// (baseURL, without a trailing slash) and the host name those messages show,
// as in the SMS line "@host #123456" (publicHost). The first of these
// decides: the realm's public_url; the global public_url; http:// the realm's
// first host on addr's port; http://addr, shown as "localhost".
func (c *Config) RealmURL(i int) (baseURL, publicHost string) {
	r := c.Realms[i]
	for _, u := range []string{r.PublicURL, c.PublicURL} {
		if p, err := url.Parse(u); u != "" && err == nil && p.Hostname() != "" {
			return strings.TrimRight(u, "/"), strings.ToLower(p.Hostname())
		}
	}
	if len(r.Hosts) > 0 {
		h := r.Hosts[0]
		if _, port, err := net.SplitHostPort(c.Addr); err == nil {
			return "http://" + net.JoinHostPort(h, port), h
		}
		return "http://" + h, h
	}
	return "http://" + c.Addr, "localhost"
}

// checkPublicURL checks a public URL: absolute http or https with a host and,
// in production, https unless the host is loopback (a trial of production
// mode on one's own machine).
func checkPublicURL(v string, production bool) error {
	u, err := url.Parse(v)
	switch {
	case err != nil || u.Hostname() == "" || (u.Scheme != "http" && u.Scheme != "https"):
		return errors.New(`must be an absolute URL such as "https://id.example.com"`)
	case production && u.Scheme != "https" && !loopbackHost(u.Hostname()):
		return errors.New("must be https in production")
	}
	return nil
}

// realmLinkProblems reports the realms whose links would open another realm:
// the host of a realm's public URL (its own, or the global one) must select
// that realm, that is be one of its hosts or, for the first realm (which
// serves every host no realm names), no realm's host.
func (c *Config) realmLinkProblems() []error { return c.realmLinks(true) }

// RealmLinkWarnings are, in development, what production would refuse about
// where realms' links point: a realm whose links and SMS "@host" line would
// name another realm's host (its codes would not fill in, its "this wasn't
// me" links would open the other realm). Development starts all the same;
// the server logs them as warnings.
func (c *Config) RealmLinkWarnings() []error { return c.realmLinks(false) }

func (c *Config) realmLinks(production bool) []error {
	var errs []error
	for i, r := range c.Realms {
		u := r.PublicURL
		if u == "" {
			u = c.PublicURL
		}
		if u == "" || checkPublicURL(u, production) != nil {
			continue // reported already, or links follow each realm's own host
		}
		p, _ := url.Parse(u)
		host := strings.ToLower(p.Hostname())
		if j := c.realmForHost(host); j != i {
			errs = append(errs, fmt.Errorf("realms[%d].public_url: the links of realm %q would point at %s, which serves realm %q; "+
				"set realms[%d].public_url to a URL on one of its hosts", i, r.ID, host, c.Realms[j].ID, i))
		}
	}
	return errs
}

// realmForHost returns the index of the realm that serves host, as
// realm.Registry.ForHost does: the (last) realm naming it, else the first.
func (c *Config) realmForHost(host string) int {
	j := 0
	for k, r := range c.Realms {
		for _, h := range r.Hosts {
			if strings.EqualFold(h, host) {
				j = k
			}
		}
	}
	return j
}
