package signin

import "github.com/ninsho/ninsho/internal/event"

// The owner's own settings (internal/profile) show in the history too: an
// identifier removed, the name or language changed.
func init() {
	HistoryTypes = append(HistoryTypes, event.TypeIdentifierRemoved, event.TypeProfileChanged)
}
