package grant

import (
	"context"
	"time"
)

// Back-channel logout (OpenID Connect Back-Channel Logout 1.0): when a
// Ninsho session ends — by whatever path revokes it — every client that got
// tokens under it and registered a back-channel logout URI is told, by a
// logout token POSTed to that URI. The revocation paths write nothing for
// it: a sweep finds the sessions revoked since it last looked (each session
// is looked at once) and queues one delivery per (session, client); the
// queue survives restarts and is retried with back-off (at least once).

// Back-channel delivery schedule.
const (
	// LogoutAttempts is how many deliveries of one logout token are begun
	// before it is given up.
	LogoutAttempts = 8
	// LogoutFirstRetry is the wait after the first failed delivery; each
	// later one doubles it, up to LogoutMaxRetry.
	LogoutFirstRetry = 30 * time.Second
	// LogoutMaxRetry caps the wait between deliveries.
	LogoutMaxRetry = time.Hour
	// LogoutLease is how long a begun delivery holds its row: an instance
	// that stops mid-delivery leaves it to be retried after that.
	LogoutLease = time.Minute
	// LogoutTokenLifetime is a logout token's lifetime (exp - iat).
	LogoutTokenLifetime = 2 * time.Minute
)

// LogoutRetryAfter is the wait after the failed delivery numbered attempts
// (1 for the first).
func LogoutRetryAfter(attempts int) time.Duration {
	d := LogoutFirstRetry
	for i := 1; i < attempts && d < LogoutMaxRetry; i++ {
		d *= 2
	}
	return min(d, LogoutMaxRetry)
}

// Logout is one logout token still to be delivered: client ClientID got
// tokens under session SessionID of account AccountID, which has ended.
type Logout struct {
	SessionID string
	ClientID  string
	Realm     string
	AccountID string
	Attempts  int       // deliveries begun
	NextAt    time.Time // when the next may begin
	CreatedAt time.Time
}

// LogoutStore keeps the back-channel logout queue. Methods take part in the
// transaction carried by ctx.
type LogoutStore interface {
	// RevokedUnswept returns up to limit ids of sessions revoked and not yet
	// swept, oldest revocation first.
	RevokedUnswept(ctx context.Context, limit int) ([]string, error)
	// SweepSession queues a Logout (attempts 0, next_at and created_at t)
	// for every client that got tokens under session id and has a
	// back-channel logout URI (one per client, none twice), marks the
	// session swept at t and returns how many it queued. A session swept
	// already (by this instance or another) queues nothing: each session's
	// logouts are queued once across instances.
	SweepSession(ctx context.Context, id string, t time.Time) (int, error)
	// DueLogouts returns up to limit logouts whose next_at is at or before
	// t, earliest first.
	DueLogouts(ctx context.Context, t time.Time, limit int) ([]Logout, error)
	// ClaimLogout begins a delivery of l: where next_at is still l.NextAt
	// it sets next_at to until and adds one to attempts, and reports
	// whether it did (false: another instance began it).
	ClaimLogout(ctx context.Context, l Logout, until time.Time) (bool, error)
	// RetryLogout sets next_at of the logout (session, client) to t.
	RetryLogout(ctx context.Context, sessionID, clientID string, t time.Time) error
	// DeleteLogout deletes the logout (session, client).
	DeleteLogout(ctx context.Context, sessionID, clientID string) error
}
