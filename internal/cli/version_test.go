package cli

import (
	"bytes"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionString(t *testing.T) {
	stamped := func(version string, settings ...string) *debug.BuildInfo {
		info := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/ninsho/ninsho", Version: version}}
		for i := 0; i+1 < len(settings); i += 2 {
			info.Settings = append(info.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return info
	}
	const rev = "abc1234def5678abc1234def5678abc1234def56"
	tests := []struct {
		name    string
		ldflags string
		info    *debug.BuildInfo
		want    string
	}{
		{"release build", "v0.4.0", stamped("(devel)", "vcs.revision", rev, "vcs.modified", "false"), "ninsho v0.4.0 (rev abc1234, go1.26.8)"},
		{"go install of a tag", "", stamped("v0.3.2"), "ninsho v0.3.2 (go1.26.8)"},
		{"checkout with changes", "", stamped("(devel)", "vcs.revision", rev, "vcs.modified", "true"), "ninsho (devel) (rev abc1234-dirty, go1.26.8)"},
		{"no build information", "", nil, "ninsho (devel) (" + runtime.Version() + ")"},
	}
	for _, tt := range tests {
		if got := versionString(tt.ldflags, tt.info); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestVersionCommand(t *testing.T) {
	old := Version
	Version = "v9.8.7"
	defer func() { Version = old }()
	for _, args := range [][]string{{"version"}, {"--version"}} {
		var out, errOut bytes.Buffer
		if code := Main(args, &out, &errOut); code != 0 {
			t.Fatalf("%v: exit %d, %s", args, code, errOut.String())
		}
		if got := out.String(); !strings.HasPrefix(got, "ninsho v9.8.7 (") || !strings.HasSuffix(got, runtime.Version()+")\n") {
			t.Errorf("%v: got %q, want \"ninsho v9.8.7 (… %s)\"", args, got, runtime.Version())
		}
	}
	var out, errOut bytes.Buffer
	if code := Main([]string{"version", "extra"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), `unexpected argument "extra"`) {
		t.Errorf("version extra: exit %d, %q", code, errOut.String())
	}
}

// TestEachCommandHelpListsItsOwnFlags: --help of a command lists the flags
// that command takes, and no other command's.
func TestEachCommandHelpListsItsOwnFlags(t *testing.T) {
	all := []string{"-addr", "-data-dir", "-dev", "-config", "-trusted-proxy"}
	tests := []struct {
		command string
		want    []string
	}{
		{"serve", []string{"-addr", "-data-dir", "-dev", "-config", "-trusted-proxy"}},
		{"migrate", []string{"-data-dir", "-config"}},
		{"version", nil},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		if code := Main([]string{tt.command, "--help"}, &out, &errOut); code != 0 {
			t.Fatalf("%s --help: exit %d", tt.command, code)
		}
		help := errOut.String()
		if !strings.HasPrefix(help, "Usage: ninsho "+tt.command) {
			t.Errorf("%s --help: got %q, want its usage", tt.command, help)
		}
		for _, f := range all {
			listed := strings.Contains(help, "  "+f+" ") || strings.Contains(help, "  "+f+"\n")
			if want := strings.Contains(" "+strings.Join(tt.want, " ")+" ", " "+f+" "); listed != want {
				t.Errorf("%s --help: flag %s listed %v, want %v:\n%s", tt.command, f, listed, want, help)
			}
		}
	}
	// A flag of another command is refused.
	var out, errOut bytes.Buffer
	if code := Main([]string{"migrate", "--addr", "127.0.0.1:9999"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "flag provided but not defined: -addr") {
		t.Errorf("migrate --addr: exit %d, %q", code, errOut.String())
	}
}
