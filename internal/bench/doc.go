// Package bench measures Ninsho against the non-functional targets of
// DESIGN §8 and holds them as Go benchmarks (bench_test.go). The results and
// the command that produced them are in docs/performance.md.
//
// Every benchmark drives a real server: the ninsho binary, built with go
// build and started with `serve` on a loopback port and a temporary data
// directory, in a process of its own, so that its peak memory can be read
// from /proc/PID/status (VmHWM) and its CPU time from /proc/PID/stat. The
// load comes from a real HTTP/1.1 client with keep-alive in the benchmark
// process. Accounts are seeded through the JSON API (sign-up, then the code
// from the development inbox), and their device and session tokens are
// reused. BenchmarkSigninTOTP seeds accounts of its own, which also add an
// authenticator app through the API, and computes their codes (totp.go).
// BenchmarkOIDCRefresh and BenchmarkOIDCIntrospect (oidc_test.go) start a
// server of their own per database (SQLite; PostgreSQL when
// NINSHO_TEST_POSTGRES is set), register a client with `ninsho clients
// create` and get each worker a grant through the authorization endpoint
// with a seeded session cookie, then compare the token endpoint's refreshes
// and the introspection endpoint with the bare handler.
//
// Each goal is a ratio of two figures measured side by side in the same run,
// never an absolute number: machines differ, and a shared machine is noisy.
//
// The benchmarks run only when -bench selects them; plain `go test ./...`
// compiles this package and runs its small unit tests only. Each benchmark is
// one measurement of fixed duration: it ignores b.N, suppresses ns/op and
// reports its figures with b.ReportMetric and, in full, with b.Log. Run them
// with -benchtime=1x:
//
//	go test -run '^$' -bench . -benchtime 1x -timeout 20m ./internal/bench/
//
// Flags after -args: -load 15s (the measured window of the main phases),
// -keep (keep the work directory with the binaries, the data and every
// server's log, to profile or read them) and -config FILE (run the server
// with ninsho serve --config FILE; put "mode": "development" in it to keep
// the development inbox the seeding needs). Each benchmark prints how the
// machine's CPU was shared between the server, the benchmark process and
// other processes, and warns when others took more than a tenth of it.
package bench
