package config

import (
	"fmt"
	"net/url"
)

// problems checks the kannel block of providers[i].
func (k *Kannel) problems(i int) []error {
	var errs []error
	bad := func(f string, a ...any) {
		errs = append(errs, fmt.Errorf("providers[%d].kannel.%s", i, fmt.Sprintf(f, a...)))
	}
	u, err := url.Parse(k.SendSMSURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		bad("sendsms_url: %q must be smsbox's sendsms address (http or https, no query), e.g. http://127.0.0.1:13013/cgi-bin/sendsms", k.SendSMSURL)
	}
	if k.Username == "" {
		bad("username: required (a sendsms-user of Kannel)")
	}
	if k.Password == "" {
		bad("password: required (the sendsms-user's password)")
	}
	return errs
}
