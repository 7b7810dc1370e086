package config

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// realms[].recovery.due: 0 keeps the default (48 hours); otherwise between
// an hour and 14 days.
func TestRecoveryDue(t *testing.T) {
	for _, tt := range []struct {
		due time.Duration
		ok  bool
	}{
		{0, true}, {time.Hour, true}, {24 * time.Hour, true}, {14 * 24 * time.Hour, true},
		{-time.Hour, false}, {time.Minute, false}, {15 * 24 * time.Hour, false},
	} {
		c := Default()
		c.Realms[0].Recovery.Due = Duration(tt.due)
		err := c.Validate()
		if tt.ok && err != nil {
			t.Errorf("recovery.due %v: Validate() = %v, want nil", tt.due, err)
		}
		if !tt.ok && (err == nil || !strings.Contains(err.Error(), "realms[0].recovery.due")) {
			t.Errorf("recovery.due %v: Validate() = %v, want an error naming realms[0].recovery.due", tt.due, err)
		}
	}
	var r Realm
	if err := json.Unmarshal([]byte(`{"recovery": {"due": "24h"}}`), &r); err != nil || time.Duration(r.Recovery.Due) != 24*time.Hour {
		t.Errorf("recovery.due \"24h\" read as %v, %v", time.Duration(r.Recovery.Due), err)
	}
}
