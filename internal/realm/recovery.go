package realm

import "time"

// DefaultRecoveryDue is how long staff have to decide a document recovery
// case when the realm does not say (realms[].recovery.due).
const DefaultRecoveryDue = 48 * time.Hour

// RecoveryDue returns how long after its submission a recovery case of r is
// due for its decision.
func (r *Realm) RecoveryDue() time.Duration {
	if r.RecoveryDueFor > 0 {
		return r.RecoveryDueFor
	}
	return DefaultRecoveryDue
}
