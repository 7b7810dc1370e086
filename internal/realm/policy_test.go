package realm_test

import (
	"slices"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/realm"
)

func TestRealmLanguage(t *testing.T) {
	jaOnly := &realm.Realm{DefaultLocale: "ja", Locales: []string{"ja"}}
	both := &realm.Realm{DefaultLocale: "en"}
	var none *realm.Realm
	for _, tt := range []struct {
		rl           *realm.Realm
		asked, saved string
		want         string
	}{
		{jaOnly, "en", "", "ja"},
		{jaOnly, "en-US", "en", "ja"},
		{jaOnly, "ja-JP", "", "ja"},
		{both, "ja", "", "ja"},
		{both, "", "ja", "ja"},
		{both, "fr", "", "en"},
		{both, "en", "ja", "en"},
		{none, "en", "", "en"},
		{none, "", "", "ja"},
	} {
		if got := tt.rl.Language(tt.asked, tt.saved); got != tt.want {
			t.Errorf("%+v.Language(%q, %q) = %q, want %q", tt.rl, tt.asked, tt.saved, got, tt.want)
		}
	}
	if got := jaOnly.Offered(); !slices.Equal(got, []string{"ja"}) {
		t.Errorf("Offered() = %v, want [ja]", got)
	}
	if got := both.Offered(); !slices.Equal(got, []string{"en", "ja"}) {
		t.Errorf("Offered() = %v, want [en ja]", got)
	}
	if jaOnly.Offers("en") || !jaOnly.Offers("ja") || both.Offers("fr") || !none.Offers("en") {
		t.Error("Offers is wrong")
	}
}

func TestRealmPasswordMinAndCodeLifetime(t *testing.T) {
	var none *realm.Realm
	for _, tt := range []struct {
		rl   *realm.Realm
		min  int
		life time.Duration
	}{
		{none, 8, 10 * time.Minute},
		{&realm.Realm{}, 8, 10 * time.Minute},
		{&realm.Realm{PasswordMinLength: 12, CodeLifetimeFor: 3 * time.Minute}, 12, 3 * time.Minute},
	} {
		if got := tt.rl.PasswordMin(); got != tt.min {
			t.Errorf("%+v.PasswordMin() = %d, want %d", tt.rl, got, tt.min)
		}
		if got := tt.rl.CodeLifetime(); got != tt.life {
			t.Errorf("%+v.CodeLifetime() = %v, want %v", tt.rl, got, tt.life)
		}
	}
}

func TestLocation(t *testing.T) {
	at := time.Date(2026, 12, 7, 1, 57, 0, 0, time.UTC)
	if got := (&realm.Realm{DefaultLocale: "ja"}).Location(); at.In(got).Format("15:04 MST") != "10:57 JST" {
		t.Errorf("a Japanese realm's zone gives %s", at.In(got).Format("15:04 MST"))
	}
	if got := (&realm.Realm{DefaultLocale: "en"}).Location(); got != time.UTC {
		t.Errorf("an English realm's zone = %v, want UTC", got)
	}
	if got := (*realm.Realm)(nil).Location(); got != time.UTC {
		t.Errorf("no realm's zone = %v, want UTC", got)
	}
}
