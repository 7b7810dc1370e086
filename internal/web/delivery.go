package web

import "time"

// clock formats t as people of locale read a time of day on the code
// pages: "12:03" in Japan time in Japanese, "03:03 UTC" otherwise.
func clock(locale string, t time.Time) string {
	if locale == "ja" {
		return t.In(jst).Format("15:04")
	}
	return t.UTC().Format("15:04") + " UTC"
}
