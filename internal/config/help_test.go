package config

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/realm"
)

// realms[].help.due: 0 keeps the default (48 hours); otherwise between an
// hour and 30 days.
func TestHelpDue(t *testing.T) {
	for _, tt := range []struct {
		due time.Duration
		ok  bool
	}{
		{0, true}, {time.Hour, true}, {72 * time.Hour, true}, {30 * 24 * time.Hour, true},
		{-time.Hour, false}, {time.Minute, false}, {31 * 24 * time.Hour, false},
	} {
		c := Default()
		c.Realms[0].Help.Due = Duration(tt.due)
		err := c.Validate()
		if tt.ok && err != nil {
			t.Errorf("help.due %v: Validate() = %v, want nil", tt.due, err)
		}
		if !tt.ok && (err == nil || !strings.Contains(err.Error(), "realms[0].help.due")) {
			t.Errorf("help.due %v: Validate() = %v, want an error naming realms[0].help.due", tt.due, err)
		}
	}
	var r Realm
	if err := json.Unmarshal([]byte(`{"help": {"due": "24h"}}`), &r); err != nil || time.Duration(r.Help.Due) != 24*time.Hour {
		t.Errorf("help.due \"24h\" read as %v, %v", time.Duration(r.Help.Due), err)
	}
	if got := (&realm.Realm{}).HelpDue(); got != 48*time.Hour {
		t.Errorf("default HelpDue = %v, want 48h", got)
	}
	if got := (&realm.Realm{HelpDueFor: time.Hour}).HelpDue(); got != time.Hour {
		t.Errorf("HelpDue with 1h = %v, want 1h", got)
	}
}
