package event

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
)

// SecurityTypes are the events that SecurityLog writes to the log stream:
// locks (including the owner's "this wasn't me", an account.locked with
// reason not_me), unlocks, password changes, sign-in alerts, purged
// accounts, every change of two-step verification (turned on or off, a
// method added, removed or preferred, new backup codes), trusted devices
// added and forgotten, re-authentications, second factors failed after
// the right password (or code), sessions signed out and familiar devices
// forgotten by the owner, and contact changes and their undo.
var SecurityTypes = []string{
	TypeAccountLocked,
	TypeAccountUnlocked,
	TypePasswordChanged,
	TypeSigninAlertSent,
	TypeAccountPurged,
	TypeAccountClosed,
	TypeAccountReopened,
	TypeTwoStepEnabled,
	TypeTwoStepDisabled,
	TypeTwoStepMethodAdded,
	TypeTwoStepMethodRemoved,
	TypeTwoStepPreferred,
	TypeTwoStepBackupCodes,
	TypeTrustedDeviceAdded,
	TypeTrustedDeviceRevoked,
	TypeTrustedDeviceCleared,
	TypeSessionReauthenticated,
	TypeSigninSecondFactorFailed,
	TypeSessionRevoked,
	TypeSessionRevokedOthers,
	TypeDeviceForgotten,
	TypeContactChanged,
	TypeContactUndone,
}

// securityData are the keys of Event.Data that a security record carries.
// Events never hold secrets; this list also keeps out anything added later
// without a thought for the log (and the network prefix, which client_ip
// already gives).
var securityData = []string{"kind", "level", "until", "reason", "lock", "lock_lifted", "via", "channel", "template", "sessions_revoked", "flow",
	"method", "credential", "replaced_by", "count", "trusted_device", "aal", "methods", "session", "alerted",
	"revoked", "device", "trusted", "entry",
	"change", "restored", "two_step_moved"}

// SecurityLog writes each event of SecurityTypes as one structured record,
// message "security event", for a SIEM to collect: the event's id and type,
// realm, account and device ids, client address and User-Agent, request id,
// and the reasons and outcome from its data (securityData). It writes no
// identifier (e-mail address or phone number), code, token or password: the
// account id is what ties records together.
type SecurityLog struct {
	Logger *slog.Logger
}

var _ Observer = SecurityLog{}

// Observe implements Observer.
func (l SecurityLog) Observe(e *Event) {
	if !slices.Contains(SecurityTypes, e.Type) {
		return
	}
	ctx := context.Background()
	if !l.Logger.Enabled(ctx, slog.LevelInfo) {
		return
	}
	attrs := make([]slog.Attr, 0, 12)
	attrs = append(attrs,
		slog.String("event", e.Type),
		slog.String("event_id", e.ID),
		slog.String("realm", e.Realm),
		slog.String("account_id", e.AccountID),
		slog.String("device_id", e.DeviceID),
		slog.String("client_ip", e.IP),
		slog.String("user_agent", e.UserAgent),
		slog.String("request_id", e.RequestID),
	)
	for _, k := range securityData {
		if v, ok := e.Data[k]; ok {
			attrs = append(attrs, dataAttr(k, v))
		}
	}
	l.Logger.LogAttrs(ctx, slog.LevelInfo, "security event", attrs...)
}

// dataAttr turns one data value into an attribute of a plain kind.
func dataAttr(k string, v any) slog.Attr {
	switch v := v.(type) {
	case string:
		return slog.String(k, v)
	case int:
		return slog.Int(k, v)
	case int64:
		return slog.Int64(k, v)
	case bool:
		return slog.Bool(k, v)
	case []string:
		return slog.Any(k, v)
	}
	return slog.String(k, fmt.Sprint(v))
}
