package realmset_test

import (
	"slices"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/config"
	"github.com/ninsho/ninsho/internal/realmset"
	"github.com/ninsho/ninsho/internal/risk"
)

// TestBuildRealmPolicies: the offered languages, password minimum, code
// lifetime and lock ladder of the settings reach the realm; left out, the
// realm keeps the defaults.
func TestBuildRealmPolicies(t *testing.T) {
	cfg := config.Default()
	cfg.Realms = append(cfg.Realms, config.Realm{ID: "jp", Name: "JP", DefaultLocale: "ja", PhoneRegion: "JP", IdentifierDisclosure: "explicit",
		Locales: []string{"ja"}, Password: config.RealmPassword{MinLength: 12}, Codes: config.RealmCodes{Lifetime: config.Duration(3 * time.Minute)},
		Risk: config.RiskThresholds{LockLadder: []config.Duration{config.Duration(5 * time.Minute), config.Duration(time.Hour)}}})
	rs := realmset.Build(cfg, func(string) bool { return false })
	def, jp := rs[0], rs[1]
	if def.Risk != nil || def.PasswordMin() != 8 || def.CodeLifetime() != 10*time.Minute || !slices.Equal(def.Offered(), []string{"en", "ja"}) {
		t.Errorf("the default realm: risk %v, min %d, lifetime %v, languages %v", def.Risk, def.PasswordMin(), def.CodeLifetime(), def.Offered())
	}
	if jp.PasswordMin() != 12 || jp.CodeLifetime() != 3*time.Minute || !slices.Equal(jp.Offered(), []string{"ja"}) {
		t.Errorf("jp: min %d, lifetime %v, languages %v", jp.PasswordMin(), jp.CodeLifetime(), jp.Offered())
	}
	if jp.Risk == nil || jp.Risk.LockFor(1) != 5*time.Minute || jp.Risk.LockFor(2) != time.Hour || jp.Risk.LockFor(7) != time.Hour ||
		jp.Risk.LockAfterFailures != risk.DefaultPolicy().LockAfterFailures {
		t.Errorf("jp's risk policy: %+v", jp.Risk)
	}
}
