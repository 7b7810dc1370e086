package message

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps the message capability free of transport and
// database code (STYLE habit 1): providers and stores are adapters that
// depend on it, never the other way round.
func TestDependencies(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not found")
	}
	out, err := exec.Command(goTool, "list", "-deps", "github.com/ninsho/ninsho/internal/message").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	forbidden := map[string]bool{"net/http": true, "database/sql": true}
	for _, p := range strings.Fields(string(out)) {
		if forbidden[p] {
			t.Errorf("internal/message depends on %s", p)
		}
	}
}
