package cli_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/ninsho/ninsho/internal/cli"
)

// TestClientsCommands: ninsho clients create prints the client_id and,
// once, the secret; list and show never show the secret or its hash;
// refusals name the flag and the reason; delete deletes.
func TestClientsCommands(t *testing.T) {
	dir := t.TempDir()
	run := func(want int, args ...string) (string, string) {
		t.Helper()
		var out, errOut bytes.Buffer
		if code := cli.Main(append([]string{"clients"}, append(args, "--data-dir", dir)...), &out, &errOut); code != want {
			t.Fatalf("clients %v: exit %d, want %d; stdout %q stderr %q", args, code, want, out.String(), errOut.String())
		}
		return out.String(), errOut.String()
	}
	if out, _ := run(0, "list"); !strings.Contains(out, "no clients in realm default") {
		t.Errorf("list with no clients said %q", out)
	}
	out, _ := run(0, "create", "--name", "Shop web", "--type", "confidential",
		"--redirect-uri", "https://shop.example.jp/cb", "--redirect-uri", "https://shop.example.jp/cb2",
		"--post-logout-uri", "https://shop.example.jp/bye", "--first-party",
		"--backchannel-logout-uri", "https://shop.example.jp/bcl", "--without-two-step", "refuse")
	m := regexp.MustCompile(`(?m)^realm: default\nclient_id: (c_[a-z2-7]{20})\nclient_secret: ([A-Za-z0-9_-]{43})\nThe client secret is shown only this once`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("create said %q, want the realm, client_id, client_secret and the once-only notice", out)
	}
	webID, webSecret := m[1], m[2]

	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	set, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	jwksFile := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(jwksFile, set, 0o600); err != nil {
		t.Fatal(err)
	}
	out, _ = run(0, "create", "--realm", "default", "--name", "Back end", "--type", "confidential", "--auth", "private_key_jwt",
		"--jwks", jwksFile, "--redirect-uri", "https://api.example.jp/cb")
	if !strings.Contains(out, "client_id: c_") || strings.Contains(out, "client_secret") {
		t.Errorf("private_key_jwt create said %q, want a client_id and no secret", out)
	}
	out, _ = run(0, "create", "--name", "App", "--type", "public", "--redirect-uri", "jp.example.shop:/callback",
		"--redirect-uri", "http://127.0.0.1/cb")
	if !strings.Contains(out, "client_id: c_") || strings.Contains(out, "client_secret") {
		t.Errorf("public create said %q, want a client_id and no secret", out)
	}

	out, _ = run(0, "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], webID+` name="Shop web" type=confidential auth=client_secret_basic first_party=true created=`) ||
		!strings.Contains(lines[1], "auth=private_key_jwt first_party=false") || !strings.Contains(lines[2], `name="App" type=public auth=none`) {
		t.Errorf("list said %q", out)
	}
	if strings.Contains(out, webSecret) {
		t.Errorf("list shows the secret: %q", out)
	}
	out, _ = run(0, "show", webID)
	for _, want := range []string{"client_id: " + webID, "name: Shop web", "type: confidential", "auth: client_secret_basic",
		"client_secret: set", "redirect_uri: https://shop.example.jp/cb\nredirect_uri: https://shop.example.jp/cb2\n",
		"post_logout_uri: https://shop.example.jp/bye", "first_party: true", "backchannel_logout_uri: https://shop.example.jp/bcl",
		"frontchannel_logout_uri: -", "jwks: -", "without_two_step: refuse", "created: "} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q: %q", want, out)
		}
	}
	if strings.Contains(out, webSecret) || strings.Contains(strings.ToLower(out), "hash:") {
		t.Errorf("show shows the secret or its hash: %q", out)
	}

	_, errOut := run(1, "create", "--type", "confidential", "--redirect-uri", "http://shop.example.jp/cb", "--redirect-uri", "myapp:/cb")
	for _, want := range []string{"--name: field_required", `--redirect-uri: "http://shop.example.jp/cb": request_invalid (https_required)`,
		`--redirect-uri: "myapp:/cb": request_invalid (https_required)`} {
		if !strings.Contains(errOut, want) {
			t.Errorf("refused create lacks %q: %q", want, errOut)
		}
	}
	if _, errOut := run(1, "create", "--name", "X", "--type", "public", "--auth", "client_secret_basic", "--redirect-uri", "http://[::1]/cb"); !strings.Contains(errOut, "--auth: request_invalid (auth_method_for_kind)") {
		t.Errorf("secret for a public client said %q", errOut)
	}
	if _, errOut := run(1, "create", "--name", "X", "--type", "public", "--redirect-uri", "http://[::1]/cb", "--realm", "nowhere"); !strings.Contains(errOut, `unknown realm "nowhere"`) {
		t.Errorf("unknown realm said %q", errOut)
	}
	if _, errOut := run(1, "create", "--name", "X", "--type", "confidential", "--auth", "private_key_jwt", "--jwks", filepath.Join(dir, "missing.json"),
		"--redirect-uri", "https://x.example.jp/cb"); !strings.Contains(errOut, "--jwks") {
		t.Errorf("missing JWKS file said %q", errOut)
	}

	out, _ = run(0, "delete", webID)
	if !strings.Contains(out, "client "+webID+" deleted") {
		t.Errorf("delete said %q", out)
	}
	if _, errOut := run(1, "show", webID); !strings.Contains(errOut, "not_found") {
		t.Errorf("show after delete said %q", errOut)
	}
	if _, errOut := run(1, "delete", webID); !strings.Contains(errOut, "not_found") {
		t.Errorf("second delete said %q", errOut)
	}
	if _, errOut := run(1, "show"); !strings.Contains(errOut, "client id is required") {
		t.Errorf("show without an id said %q", errOut)
	}
	if out, _ := run(0, "list"); len(strings.Split(strings.TrimSpace(out), "\n")) != 2 || strings.Contains(out, webID) {
		t.Errorf("list after delete said %q", out)
	}
	var o, e bytes.Buffer
	if code := cli.Main([]string{"clients", "fly"}, &o, &e); code != 1 || !strings.Contains(e.String(), "unknown subcommand") {
		t.Errorf("clients fly: exit %d, stderr %q", code, e.String())
	}
}
