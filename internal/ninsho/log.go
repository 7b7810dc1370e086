package ninsho

import (
	"log/slog"
	"time"
)

// DurationMS is the log attribute of a duration: "duration_ms", in
// milliseconds with microsecond precision. Every log record gives its
// durations this way, in one unit named in the key, so that a log pipeline
// can sum and compare them without parsing "1.5s" or "300µs".
func DurationMS(d time.Duration) slog.Attr {
	return slog.Float64("duration_ms", float64(d.Microseconds())/1000)
}
