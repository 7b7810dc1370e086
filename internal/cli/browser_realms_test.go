package cli_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ninsho/ninsho/internal/config"
)

// localhostClient reaches name.localhost:port at the loopback address, as
// browsers do (Go's resolver does not know *.localhost).
func localhostClient() *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if host, port, err := net.SplitHostPort(addr); err == nil && strings.HasSuffix(host, ".localhost") {
				addr = net.JoinHostPort("127.0.0.1", port)
			}
			return d.DialContext(ctx, network, addr)
		},
	}}
}

// TestBrowserRealmsByHost (issue 15): jp.localhost and us.localhost, one
// server, show their own shop name and language in Chromium; realm jp names
// us in its cross-realm hint, so an address registered on us only is told
// "registered on our other regional site, Sakura Shop" with us's sign-in
// address on jp's sign-in page — and us, which names no realm, answers an
// address of jp only with "no account" and no hint.
func TestBrowserRealmsByHost(t *testing.T) {
	chromium := mustChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*browserTimeout)
	t.Cleanup(cancel)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	jpBase, usBase := "http://jp.localhost:"+port, "http://us.localhost:"+port
	app := startAppWith(t, func(c *cliConfig) {
		c.Addr, c.PublicURL = addr, ""
		c.Realms = []config.Realm{
			{ID: "jp", Name: "さくら商店", Hosts: []string{"jp.localhost"}, PublicURL: jpBase, DefaultLocale: "ja", PhoneRegion: "JP",
				IdentifierDisclosure: "explicit", CrossRealmHint: []string{"us"}, Branding: config.Branding{PrimaryColor: "#d63384"}},
			{ID: "us", Name: "Sakura Shop", Hosts: []string{"us.localhost"}, PublicURL: usBase, DefaultLocale: "en", PhoneRegion: "US",
				IdentifierDisclosure: "explicit", Branding: config.Branding{PrimaryColor: "#0b5394"}},
		}
	})
	for _, base := range []string{jpBase, usBase} {
		registerDeliveries(t, base, deliveriesOf(t, app.URL()))
	}
	oidcPerson(t, &client{tb: t, base: usBase, http: localhostClient()}, "only-us@example.com", "kumo-no-ue-42")
	oidcPerson(t, &client{tb: t, base: jpBase, http: localhostClient()}, "only-jp@example.jp", "kumo-no-ue-42")

	b := mustStartBrowser(t, ctx, chromium, "fr-FR,fr") // a language neither speaks: each realm's own
	look := func(base, lang, name string) {
		t.Helper()
		mustDo(t, b, "open "+base+"/signin", chromedp.Navigate(base+"/signin"))
		mustDo(t, b, "wait for the form", chromedp.WaitVisible(chromedp.CSS(`form[action="/signin"]`)))
		if got := mustRun(t, b, "read the page language", chromedp.Evaluate[string](`document.documentElement.lang`)); got != lang {
			t.Errorf("%s: page language %q, want %q", base, got, lang)
		}
		if got := mustRun(t, b, "read the shop name", chromedp.Text(chromedp.CSS(".brand-name"), chromedp.NodeVisible)); strings.TrimSpace(got) != name {
			t.Errorf("%s: shop name %q, want %q", base, got, name)
		}
	}
	signIn := func(base, address string) string {
		t.Helper()
		mustDo(t, b, "open "+base+"/signin", chromedp.Navigate(base+"/signin"))
		mustDo(t, b, "fill the form",
			chromedp.SendKeys(chromedp.CSS(`input[name="identifier"]`), address, chromedp.NodeVisible),
			chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), "kumo-no-ue-42", chromedp.NodeVisible))
		res, err := chromedp.RunResponse(b, chromedp.Click(chromedp.CSS(`form[action="/signin"] button[type="submit"]`), chromedp.NodeVisible))
		if err != nil {
			t.Fatalf("submit at %s: %v", base, err)
		}
		if res.Status != http.StatusBadRequest {
			t.Errorf("%s with %s: %d, want 400", base, address, res.Status)
		}
		return pageAlert(b)
	}

	look(jpBase, "ja", "さくら商店")
	look(usBase, "en", "Sakura Shop")
	if alert := signIn(jpBase, "only-us@example.com"); !strings.Contains(alert, "Sakura Shop") || !strings.Contains(alert, usBase+"/signin") ||
		!strings.Contains(alert, "別の地域") {
		t.Errorf("jp with an address of us: the page says %q, want the hint naming Sakura Shop and %s/signin", alert, usBase)
	}
	// The hint links to the other site's sign-in; following it opens us's page.
	if href := mustRun(t, b, "read the hint's link", chromedp.Evaluate[string](`(document.querySelector('.alert a.button') || {}).href || ""`)); href != usBase+"/signin" {
		t.Errorf("jp's hint links to %q, want %s/signin", href, usBase)
	}
	mustDo(t, b, "follow the hint", chromedp.Click(chromedp.CSS(`.alert a.button`), chromedp.NodeVisible), chromedp.WaitVisible(chromedp.CSS(`form[action="/signin"]`)))
	if got := mustRun(t, b, "read the shop name", chromedp.Text(chromedp.CSS(".brand-name"), chromedp.NodeVisible)); strings.TrimSpace(got) != "Sakura Shop" {
		t.Errorf("after the hint's link: shop name %q, want Sakura Shop", got)
	}
	if alert := signIn(usBase, "only-jp@example.jp"); strings.Contains(alert, "さくら商店") || strings.Contains(alert, jpBase) ||
		!strings.Contains(alert, "can't find an account") {
		t.Errorf("us with an address of jp: the page says %q, want no account and no hint", alert)
	}
}
