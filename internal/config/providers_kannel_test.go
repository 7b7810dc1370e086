package config

import (
	"strings"
	"testing"
)

func TestKannelProvider(t *testing.T) {
	valid := func() *Kannel {
		return &Kannel{SendSMSURL: "http://127.0.0.1:13013/cgi-bin/sendsms", Username: "ninsho", Password: "pw", From: "Example"}
	}
	withKannel := func(k *Kannel) Config {
		c := Default()
		c.Providers = []Provider{{Name: "kannel-jp", Type: "kannel", Kannel: k}}
		c.Realms[0].Providers.SMS = []string{"kannel-jp"}
		return c
	}
	c := withKannel(valid())
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate() = %v, want a valid kannel provider", err)
	}
	for _, tt := range []struct {
		name string
		edit func(*Kannel)
		want string
	}{
		{"no url", func(k *Kannel) { k.SendSMSURL = "" }, "providers[0].kannel.sendsms_url"},
		{"url with query", func(k *Kannel) { k.SendSMSURL += "?username=u" }, "providers[0].kannel.sendsms_url"},
		{"not http", func(k *Kannel) { k.SendSMSURL = "127.0.0.1:13013" }, "providers[0].kannel.sendsms_url"},
		{"no username", func(k *Kannel) { k.Username = "" }, "providers[0].kannel.username: required"},
		{"no password", func(k *Kannel) { k.Password = "" }, "providers[0].kannel.password: required"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			k := valid()
			tt.edit(k)
			c := withKannel(k)
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
	c = withKannel(valid())
	c.Realms[0].Providers.SMS = nil
	c.Realms[0].Providers.Voice = []string{"kannel-jp"}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "cannot carry voice") {
		t.Errorf("Validate() = %v, want kannel refused for voice", err)
	}
}
