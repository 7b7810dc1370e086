package cli

import (
	"runtime"
	"runtime/debug"
)

// Version is the release of this binary, set when building one:
//
//	go build -ldflags "-X github.com/ninsho/ninsho/internal/cli.Version=v0.4.0" ./cmd/ninsho
//
// Empty, the module version recorded in the binary stands for it (a tagged
// version under go install, "(devel)" in a checkout).
var Version = ""

// VersionString describes this binary, e.g.
// "ninsho v0.4.0 (rev abc1234, go1.26.1)".
func VersionString() string {
	info, _ := debug.ReadBuildInfo()
	return versionString(Version, info)
}

// versionString is VersionString from the ldflags version v and the build
// information info (nil when the binary has none).
func versionString(v string, info *debug.BuildInfo) string {
	goVersion := runtime.Version()
	rev, dirty := "", false
	if info != nil {
		if v == "" {
			v = info.Main.Version
		}
		if info.GoVersion != "" {
			goVersion = info.GoVersion
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	out := "ninsho " + v + " ("
	if rev != "" {
		if len(rev) > 7 {
			rev = rev[:7]
		}
		out += "rev " + rev
		if dirty {
			out += "-dirty"
		}
		out += ", "
	}
	return out + goVersion + ")"
}
