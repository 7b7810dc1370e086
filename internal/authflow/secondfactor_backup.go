package authflow

import (
	"context"
	"strconv"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/session"
	"github.com/ninsho/ninsho/internal/twostep"
)

// stateSFBackupLeft keeps, after a second factor passed with a backup code
// that left twostep.LowBackupCodes or fewer, how many are left, for the
// completed answer (BackupCodesLeft).
const stateSFBackupLeft = "2sv_backup_left"

// noteBackupCodesLeft remembers on f how many backup codes a has left when
// the factor just passed (used) was a backup code and few are left.
func (sf SecondFactor) noteBackupCodesLeft(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account, used string) error {
	if used != session.MethodBackup {
		return nil
	}
	left, err := sf.k.TwoStep.BackupCodesLeft(ctx, rl, a)
	if err != nil {
		return err
	}
	if left <= twostep.LowBackupCodes {
		f.Set(stateSFBackupLeft, strconv.Itoa(left))
	}
	return nil
}

// BackupCodesLeft is the number of backup codes left after the second
// factor of f, when it was a backup code that left twostep.LowBackupCodes
// or fewer; nil otherwise.
func BackupCodesLeft(f *flow.Flow) *int {
	v := f.Get(stateSFBackupLeft)
	if v == "" {
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return nil
	}
	return &n
}
