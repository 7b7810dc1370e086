package ninsho

// The reasons a CodeConflict may carry as its "reason" parameter when the
// refusal is not a change made elsewhere at the same time but the state of
// what was acted on: the message ("error.conflict.<reason>") says why, and
// problem documents carry it (params.reason).
const (
	// ConflictOwnAccount: an admin may not change their own role nor
	// disable their own staff account.
	ConflictOwnAccount = "own_account"
	// ConflictNotSuspended: only a suspended account can be reinstated.
	ConflictNotSuspended = "not_suspended"
	// ConflictNotPending: only an unconfirmed sign-up gets a reminder.
	ConflictNotPending = "not_pending"
	// ConflictNotLocked: only a locked account can be unlocked.
	ConflictNotLocked = "not_locked"
	// ConflictNotActive: the account's status does not allow the action
	// (a lock needs an active account, a suspension an active or locked
	// one).
	ConflictNotActive = "not_active"
	// ConflictClosed: a help request already closed takes no answer and
	// cannot be closed again.
	ConflictClosed = "closed"
)

// ConflictReasons lists the reasons above.
var ConflictReasons = []string{ConflictOwnAccount, ConflictNotSuspended, ConflictNotPending, ConflictNotLocked, ConflictNotActive, ConflictClosed}
