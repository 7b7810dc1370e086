package config

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// realms[].locales, .password.min_length, .codes.lifetime and
// .risk.lock_ladder: what Validate accepts, and the setting each refusal
// names.
func TestRealmPolicySettings(t *testing.T) {
	mins := func(ds ...int) []Duration {
		var out []Duration
		for _, d := range ds {
			out = append(out, Duration(time.Duration(d)*time.Minute))
		}
		return out
	}
	for _, tt := range []struct {
		name string
		edit func(r *Realm)
		want string // "" accepts
	}{
		{"defaults", func(r *Realm) {}, ""},
		{"ja only", func(r *Realm) { r.Locales = []string{"ja"} }, ""},
		{"both", func(r *Realm) { r.Locales = []string{"en", "ja"} }, ""},
		{"empty list", func(r *Realm) { r.Locales = []string{} }, "realms[0].locales: at least one language"},
		{"unsupported", func(r *Realm) { r.Locales = []string{"ja", "fr"} }, `realms[0].locales[1]: "fr" is not a supported language (en, ja)`},
		{"tag", func(r *Realm) { r.Locales = []string{"ja-JP"} }, `realms[0].locales[0]: "ja-JP" is not a supported language`},
		{"twice", func(r *Realm) { r.Locales = []string{"ja", "ja"} }, `realms[0].locales[1]: "ja" is listed twice`},
		{"without default", func(r *Realm) { r.Locales = []string{"en"} }, `realms[0].locales: must include default_locale "ja"`},
		{"min 8", func(r *Realm) { r.Password.MinLength = 8 }, ""},
		{"min 64", func(r *Realm) { r.Password.MinLength = 64 }, ""},
		{"min 7", func(r *Realm) { r.Password.MinLength = 7 }, "realms[0].password.min_length: must be 0 (the default, 8) or between 8 and 64"},
		{"min 65", func(r *Realm) { r.Password.MinLength = 65 }, "realms[0].password.min_length"},
		{"lifetime 2m", func(r *Realm) { r.Codes.Lifetime = mins(2)[0] }, ""},
		{"lifetime 30m", func(r *Realm) { r.Codes.Lifetime = mins(30)[0] }, ""},
		{"lifetime 1m", func(r *Realm) { r.Codes.Lifetime = mins(1)[0] }, "realms[0].codes.lifetime: must be 0 (the default, 10m) or between 2m0s and 30m0s"},
		{"lifetime 31m", func(r *Realm) { r.Codes.Lifetime = mins(31)[0] }, "realms[0].codes.lifetime"},
		{"lifetime 150s", func(r *Realm) { r.Codes.Lifetime = Duration(150 * time.Second) }, "realms[0].codes.lifetime: whole minutes"},
		{"delivery timeout past the lifetime", func(r *Realm) {
			r.Codes.Lifetime, r.CodeDeliveryTimeout = mins(3)[0], mins(5)[0]
		}, "realms[0].code_delivery_timeout: must not be longer than the codes' lifetime (3m0s)"},
		{"ladder", func(r *Realm) { r.Risk.LockLadder = mins(5, 5, 60, 1440) }, ""},
		{"empty ladder", func(r *Realm) { r.Risk.LockLadder = []Duration{} }, "realms[0].risk.lock_ladder: 1 to 10 durations"},
		{"long ladder", func(r *Realm) { r.Risk.LockLadder = mins(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1) }, "realms[0].risk.lock_ladder: 1 to 10 durations"},
		{"short rung", func(r *Realm) { r.Risk.LockLadder = []Duration{Duration(30 * time.Second)} }, "realms[0].risk.lock_ladder[0]: must be between 1m0s and 24h0m0s"},
		{"long rung", func(r *Realm) { r.Risk.LockLadder = mins(1, 1441) }, "realms[0].risk.lock_ladder[1]"},
		{"shorter rung", func(r *Realm) { r.Risk.LockLadder = mins(5, 1) }, "realms[0].risk.lock_ladder[1]: must not be shorter than the lock before it"},
	} {
		c := Default()
		tt.edit(&c.Realms[0])
		err := c.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: Validate() = %v, want nil", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: Validate() = %v, want %q", tt.name, err, tt.want)
		}
	}
	var r Realm
	doc := `{"locales": ["ja"], "password": {"min_length": 12}, "codes": {"lifetime": "3m"}, "risk": {"lock_ladder": ["5m", "1h"]}}`
	if err := json.Unmarshal([]byte(doc), &r); err != nil || len(r.Locales) != 1 || r.Password.MinLength != 12 ||
		time.Duration(r.Codes.Lifetime) != 3*time.Minute || len(r.Risk.LockLadder) != 2 || !r.Risk.Any() {
		t.Errorf("%s read as %+v, %v", doc, r, err)
	}
}
