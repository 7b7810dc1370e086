package cli

import "github.com/ninsho/ninsho/internal/recovery"

// RecoveryService is the app's document recovery service, for the
// end-to-end tests that decide a case as the console will.
func (a *App) RecoveryService() *recovery.Service { return a.recovery }
