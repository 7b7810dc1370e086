package cli_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ninsho/ninsho/internal/config"
)

// TestUnknownHosts: with unknown_hosts "not_found" a host no realm names
// gets 404 not_found (a problem on /api, a plain page elsewhere) while the
// realms' hosts and the health routes answer; by default the first realm
// answers every host.
func TestUnknownHosts(t *testing.T) {
	realms := []config.Realm{{ID: "jp", Name: "Sakura", Hosts: []string{"127.0.0.1"}, DefaultLocale: "ja", PhoneRegion: "JP",
		IdentifierDisclosure: "explicit"}}
	get := func(base, host, path string) (int, string, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Host = host
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header.Get("Content-Type"), string(b)
	}
	strict := startAppWith(t, func(c *cliConfig) { c.Realms, c.UnknownHosts = realms, "not_found" })
	host := strings.TrimPrefix(strict.URL(), "http://")
	if status, _, _ := get(strict.URL(), host, "/signin"); status != http.StatusOK {
		t.Errorf("a realm's host: %d", status)
	}
	if status, ct, body := get(strict.URL(), "evil.example", "/api/v1/me"); status != http.StatusNotFound || !strings.Contains(ct, "problem+json") || !strings.Contains(body, `"not_found"`) {
		t.Errorf("unknown host, API: %d %s %s", status, ct, body)
	}
	if status, ct, _ := get(strict.URL(), "evil.example:8080", "/signin"); status != http.StatusNotFound || strings.Contains(ct, "json") {
		t.Errorf("unknown host, page: %d %s", status, ct)
	}
	if status, _, _ := get(strict.URL(), "evil.example", "/healthz"); status != http.StatusOK {
		t.Errorf("unknown host, /healthz: %d", status)
	}
	lenient := startAppWith(t, func(c *cliConfig) { c.Realms = realms })
	if status, _, _ := get(lenient.URL(), "evil.example", "/signin"); status != http.StatusOK {
		t.Errorf("default_realm: unknown host got %d", status)
	}
}
