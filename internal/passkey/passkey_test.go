package passkey_test

import (
	"testing"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/passkey"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/twostep"
)

// TestAddressHostHasNoPasskeys: a realm served at an IP address can be no
// WebAuthn relying party; a passkey start there is the catalogue's
// passkey_unavailable, not an internal error, and a host name works.
func TestAddressHostHasNoPasskeys(t *testing.T) {
	user := &twostep.PasskeyUser{Handle: []byte("0123456789abcdef"), Name: "hanako@example.jp"}
	for _, host := range []string{"127.0.0.1", "[::1]", "::1", "192.0.2.10"} {
		rl := &realm.Realm{ID: "jp", Name: "さくら", PublicHost: host, BaseURL: "http://" + host + ":8080"}
		if _, _, err := (passkey.RelyingParty{}).BeginRegistration(rl, user, true); !ninsho.IsCode(err, ninsho.CodePasskeyUnavailable) {
			t.Errorf("host %s: BeginRegistration = %v, want passkey_unavailable", host, err)
		}
		if _, _, err := (passkey.RelyingParty{}).BeginLogin(rl, nil); !ninsho.IsCode(err, ninsho.CodePasskeyUnavailable) {
			t.Errorf("host %s: BeginLogin = %v, want passkey_unavailable", host, err)
		}
	}
	rl := &realm.Realm{ID: "jp", Name: "さくら", PublicHost: "localhost", BaseURL: "http://localhost:8080"}
	if _, _, err := (passkey.RelyingParty{}).BeginRegistration(rl, user, true); err != nil {
		t.Errorf("host localhost: BeginRegistration = %v", err)
	}
}
