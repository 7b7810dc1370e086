package config

import (
	"fmt"
	"strings"
	"time"
)

// DefaultRealmRefresh is how often instances look for changed realm
// settings when realm_refresh is not set; MinRealmRefresh and
// MaxRealmRefresh bound it.
const (
	DefaultRealmRefresh = 2 * time.Second
	MinRealmRefresh     = 100 * time.Millisecond
	MaxRealmRefresh     = 5 * time.Minute
)

// realmRefreshProblems checks realm_refresh (0 is the default).
func (c *Config) realmRefreshProblems() []error {
	if d := time.Duration(c.RealmRefresh); d != 0 && (d < MinRealmRefresh || d > MaxRealmRefresh) {
		return []error{fmt.Errorf("realm_refresh: must be 0 (the default, %v) or between %v and %v", DefaultRealmRefresh, MinRealmRefresh, MaxRealmRefresh)}
	}
	return nil
}

// RealmRefreshEvery is realm_refresh, or DefaultRealmRefresh when 0.
func (c *Config) RealmRefreshEvery() time.Duration {
	if c.RealmRefresh > 0 {
		return time.Duration(c.RealmRefresh)
	}
	return DefaultRealmRefresh
}

// realmHostProblems reports a host name that selects two realms (it would
// serve only the last; issue 15 checks it for realms changed at run time as
// well) and empty host names.
func (c *Config) realmHostProblems() []error {
	var errs []error
	owner := map[string]int{}
	for i, r := range c.Realms {
		for j, h := range r.Hosts {
			k := strings.ToLower(strings.TrimSpace(h))
			if k == "" {
				errs = append(errs, fmt.Errorf("realms[%d].hosts[%d]: a host name such as \"id.example.jp\", not empty", i, j))
				continue
			}
			if o, ok := owner[k]; ok && o != i {
				errs = append(errs, fmt.Errorf("realms[%d].hosts[%d]: realms %q and %q both name the host %q; a host name belongs to one realm",
					i, j, c.Realms[o].ID, r.ID, h))
				continue
			}
			owner[k] = i
		}
	}
	return errs
}
