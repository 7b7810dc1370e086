// Package loadgen drives a running Ninsho deployment from outside: the HTTP
// client that looks like many people (a browser User-Agent and a spread
// X-Forwarded-For), the JSON API calls (sign-up with the development
// inbox's code, sign-in, flow actions, session checks), closed and open load
// loops with their tallies, and the bare cost of the password hash. The
// benchmarks of internal/bench and the `ninsho bench` command share it; the
// command's scenarios and report are in run.go and report.go.
package loadgen
