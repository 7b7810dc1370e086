package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/ninsho/ninsho/internal/cli"
)

// TestKeysCommands: ninsho keys rotate adds keys (the first signs at once,
// the next an hour later and retires the first), list shows them without
// private material, bad input is refused.
func TestKeysCommands(t *testing.T) {
	dir := t.TempDir()
	run := func(want int, args ...string) (string, string) {
		t.Helper()
		var out, errOut bytes.Buffer
		if code := cli.Main(append([]string{"keys"}, append(args, "--data-dir", dir)...), &out, &errOut); code != want {
			t.Fatalf("keys %v: exit %d, want %d; stderr %q", args, code, want, errOut.String())
		}
		return out.String(), errOut.String()
	}
	if out, _ := run(0, "list"); !strings.Contains(out, "no signing keys") {
		t.Errorf("list with no keys said %q", out)
	}
	out, _ := run(0, "rotate", "--realm", "default")
	if !strings.Contains(out, "realm default: new key ") || !strings.Contains(out, "(ES256)") {
		t.Errorf("rotate said %q", out)
	}
	out, _ = run(0, "rotate", "--realm", "default", "--alg", "RS256")
	if !strings.Contains(out, "(RS256)") {
		t.Errorf("rotate RS256 said %q", out)
	}
	out, _ = run(0, "list", "--realm", "default")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "alg=ES256") || !strings.Contains(lines[1], "alg=RS256") ||
		strings.Contains(lines[0], "retire_after=-") || !strings.Contains(lines[1], "retire_after=-") {
		t.Errorf("list said %q, want the ES256 key retiring and the RS256 key without retirement", out)
	}
	for _, private := range []string{"PRIVATE", `"d"`, "sealed", "{"} {
		if strings.Contains(out, private) {
			t.Errorf("list shows %q: %q", private, out)
		}
	}
	if _, errOut := run(1, "rotate", "--realm", "default", "--alg", "HS256"); !strings.Contains(errOut, "ES256 or RS256") {
		t.Errorf("bad alg said %q", errOut)
	}
	if _, errOut := run(1, "rotate", "--realm", "nowhere"); !strings.Contains(errOut, "unknown realm") {
		t.Errorf("unknown realm said %q", errOut)
	}
	if _, errOut := run(1, "rotate"); !strings.Contains(errOut, "--realm is required") {
		t.Errorf("no realm said %q", errOut)
	}
}

// TestOIDCEndpointsServed: the running server answers the discovery
// document and a JWKS holding the key the realm signs with, through the
// whole middleware stack (security headers, access log).
func TestOIDCEndpointsServed(t *testing.T) {
	app := startAppWith(t, func(c *cliConfig) { c.PublicURL = "" })
	res, err := http.Get(app.URL() + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var disc map[string]any
	err = json.NewDecoder(res.Body).Decode(&disc)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK || disc["jwks_uri"] != disc["issuer"].(string)+"/oauth/v2/keys" {
		t.Fatalf("discovery: %d %v %v", res.StatusCode, disc, err)
	}
	res, err = http.Get(app.URL() + "/oauth/v2/keys")
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	err = json.NewDecoder(res.Body).Decode(&set)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK || len(set.Keys) != 1 {
		t.Fatalf("jwks: %d %d keys %v", res.StatusCode, len(set.Keys), err)
	}
	sg, err := app.SigningKeys.Signing(context.Background(), "default", time.Now())
	if err != nil || set.Keys[0].KeyID != sg.Key.ID {
		t.Errorf("the JWKS key %s is not the signing key (%v)", set.Keys[0].KeyID, err)
	}
}
