package cli_test

import (
	"encoding/json"

	"github.com/ninsho/ninsho/internal/realmset"
)

func realmSetBy(name string) realmset.Who { return realmset.Who{Name: name} }

func realmSetName(name string) realmset.Change {
	v, _ := json.Marshal(name)
	return realmset.Change{Assign: []realmset.Assignment{{Key: "name", Value: v}}}
}
