// Package archtest holds tests of the code's shape: which packages may depend
// on which.
package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/ninsho/ninsho/"

// adapters may import net/http and database/sql: they translate between the
// outside world and the services. Everything else under internal/ holds rules
// and must not.
var adapters = []string{
	"internal/store",
	"internal/web",
	"internal/api",
	"internal/console",
	"internal/oidc",
	"internal/message/providers",
	"internal/cli",
	"internal/server",
	"internal/httperr",
	"internal/clientip",
	"internal/passkey", // the WebAuthn relying party (go-webauthn reaches net/http)
	"internal/bench",
	"internal/loadgen", // the load generator of ninsho bench and the benchmarks
	"internal/archtest",
	"internal/message/messageprom",
	"internal/event/eventprom",
	"internal/smsguard/smsguardprom", // the guard's Prometheus counter
	"internal/caseprom",              // the support queues' overdue gauges, read at scrape
	"internal/flowtest",              // test support: builds services on a real store
}

var forbidden = []string{"net/http", "database/sql"}

func isAdapter(pkg string) bool {
	rel := strings.TrimPrefix(pkg, module)
	for _, a := range adapters {
		if rel == a || strings.HasPrefix(rel, a+"/") {
			return true
		}
	}
	return false
}

// TestFeaturePackagesDoNotImportAdapters fails when a package that holds rules
// depends, directly or through another package, on net/http or database/sql.
func TestFeaturePackagesDoNotImportAdapters(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, "../...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || isAdapter(fields[0]) || !strings.HasPrefix(fields[0], module+"internal/") {
			continue
		}
		checked++
		for _, dep := range fields[1:] {
			for _, f := range forbidden {
				if dep == f {
					t.Errorf("%s depends on %s; only adapters may (%v)", strings.TrimPrefix(fields[0], module), f, adapters)
				}
			}
		}
	}
	if checked < 10 {
		t.Fatalf("checked only %d packages; the listing is wrong", checked)
	}
}
