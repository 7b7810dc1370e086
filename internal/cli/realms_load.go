package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/ninsho/ninsho/internal/config"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realmset"
)

// loadRealms seeds the stored realm settings from cfg (each realm of the
// file without a row), warns once about each realm of the file whose stored
// settings differ (the stored ones win), and returns cfg with the stored
// realms in place of the file's. Stored settings that fail validation
// refuse the start, like a broken configuration file.
func (a *App) loadRealms(ctx context.Context, cfg config.Config, o Options, events event.Store) (config.Config, error) {
	a.RealmSettings = &realmset.Service{Store: a.DB, Tx: a.DB, Events: events, Clock: o.Clock, Random: o.Random, Config: cfg,
		Changed: a.DB}
	a.realmTick = o.RealmTick
	differ, err := a.RealmSettings.Seed(ctx)
	if err != nil {
		return cfg, fmt.Errorf("realm settings: %w", err)
	}
	for _, id := range differ {
		a.Logger.Warn("the configuration file's settings of this realm differ from the stored ones: stored settings win; change them with `ninsho realms set`",
			"realm", id)
	}
	eff, stamp, err := a.RealmSettings.Effective(ctx)
	if err != nil {
		return cfg, fmt.Errorf("stored realm settings: %s\n(change them with `ninsho realms set`)", realmProblems(err))
	}
	a.realmStamp = stamp
	return eff, nil
}

// realmProblems is what a refused realm change says: the problems, one a
// line, or the error.
func realmProblems(err error) string {
	if e := ninsho.ErrorOf(err); e != nil {
		switch e.Code {
		case ninsho.CodeRealmSettingsInvalid:
			return fmt.Sprint(e.Params["problems"])
		case ninsho.CodeRealmSettingFixed:
			return fmt.Sprintf("%v is read only at start: change it in the configuration file (a realm created at run time has the default providers and the built-in theme)", e.Params["key"])
		case ninsho.CodeRealmExists:
			return "a realm with this id exists already"
		case ninsho.CodeNotFound:
			return "no such realm"
		case ninsho.CodeConflict:
			return "the realm was changed meanwhile: read it again and retry"
		}
	}
	return err.Error()
}

// watchRealms looks for changed realm settings every realm_refresh (or at
// each Options.RealmTick), and at once when another instance says a realm
// changed (realmNudge, from the invalidation listener), until ctx ends.
func (a *App) watchRealms(ctx context.Context) {
	tick := a.realmTick
	if tick == nil {
		t := time.NewTicker(a.Config.RealmRefreshEvery())
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			a.RefreshRealms(ctx)
		case <-a.realmNudge:
			a.RefreshRealms(ctx)
		}
	}
}

// RefreshRealms reads the stamp of the stored realm settings and, when it
// moved since the last look, reloads, validates and swaps the realms; it
// reports whether it swapped. Settings that fail validation are logged once
// per change and the realms served stay as they were.
func (a *App) RefreshRealms(ctx context.Context) bool {
	stamp, err := a.DB.RealmSettingsStamp(ctx)
	if err != nil {
		if ctx.Err() == nil {
			a.Logger.Error("realm settings: read the stamp", "err", err)
		}
		return false
	}
	a.realmMu.Lock()
	defer a.realmMu.Unlock()
	if stamp == a.realmStamp {
		return false
	}
	cfg, stamp, err := a.RealmSettings.Effective(ctx)
	if err != nil {
		if ctx.Err() == nil {
			a.Logger.Error("realm settings changed but are refused; the realms served stay as they were",
				"problems", realmProblems(err))
			a.realmStamp = stamp
		}
		return false
	}
	a.Realms.Replace(realmset.Build(cfg, a.emailOnly))
	a.realmStamp = stamp
	a.Logger.Info("realm settings reloaded", "realms", len(cfg.Realms), "stamp", stamp)
	return true
}
