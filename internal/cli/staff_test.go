package cli_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ninsho/ninsho/internal/cli"
)

// TestStaffCommands: ninsho staff create prints a one-time enrolment link
// (never the token's hash), list shows the account, a second create for
// the address is refused, disable disables it.
func TestStaffCommands(t *testing.T) {
	dir := t.TempDir()
	run := func(want int, args ...string) (string, string) {
		t.Helper()
		var out, errOut bytes.Buffer
		if code := cli.Main(append([]string{"staff"}, append(args, "--data-dir", dir)...), &out, &errOut); code != want {
			t.Fatalf("staff %v: exit %d, want %d; stderr %q", args, code, want, errOut.String())
		}
		return out.String(), errOut.String()
	}
	out, _ := run(0, "create", "--email", "Admin@Example.jp", "--role", "admin", "--name", "Hanako")
	if !strings.Contains(out, "admin@example.jp") || !strings.Contains(out, "/console/enrol?token=") {
		t.Errorf("create said %q, want the address and the enrolment link", out)
	}
	out, _ = run(0, "list")
	if !strings.Contains(out, "admin@example.jp role=admin status=invited") {
		t.Errorf("list said %q", out)
	}
	_, errOut := run(1, "create", "--email", "admin@example.jp", "--role", "agent")
	if !strings.Contains(errOut, "identifier_taken") {
		t.Errorf("second create said %q, want identifier_taken", errOut)
	}
	_, errOut = run(1, "create", "--email", "x@example.jp", "--role", "root")
	if !strings.Contains(errOut, "role") {
		t.Errorf("unknown role said %q", errOut)
	}
	run(0, "disable", "--email", "admin@example.jp")
	out, _ = run(0, "list")
	if !strings.Contains(out, "status=disabled") {
		t.Errorf("after disable, list said %q", out)
	}
	var o, e bytes.Buffer
	if code := cli.Main([]string{"staff", "fly"}, &o, &e); code != 1 || !strings.Contains(e.String(), "unknown subcommand") {
		t.Errorf("staff fly: exit %d, stderr %q", code, e.String())
	}
}
