package config

import "time"

// RealmRecovery is a realm's document recovery of two-step verification
// (internal/recovery).
type RealmRecovery struct {
	// Due is how long after its submission a case is due for its
	// decision (overdue after it: metrics, the top of the queue); 0 is
	// the default, 48h (realm.DefaultRecoveryDue); otherwise between
	// MinRecoveryDue and MaxRecoveryDue.
	Due Duration `json:"due"`
}

// Bounds of realms[].recovery.due.
const (
	MinRecoveryDue = time.Hour
	MaxRecoveryDue = 14 * 24 * time.Hour
)
