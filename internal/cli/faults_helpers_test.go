package cli_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver for the invariants
)

// pgCluster is a PostgreSQL server of the test's own: initdb'd in a
// temporary directory, on a free loopback port, started and stopped by the
// test (never the shared server other tests use).
type pgCluster struct {
	tb   testing.TB
	bin  string // the server binaries' directory
	dir  string // holds data/ and the socket
	port int
	cred *syscall.Credential // run as the postgres user when the test is root

	mu  sync.Mutex
	cmd *exec.Cmd
	log *os.File
	end chan struct{} // closed when cmd has exited
}

// newPGCluster initdb's a cluster, or skips the test when the server
// binaries are not installed (/usr/lib/postgresql/*/bin) or it cannot run
// them. It is stopped and removed when the test ends.
func newPGCluster(tb testing.TB) *pgCluster {
	tb.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	if len(bins) == 0 {
		tb.Skip("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
	}
	sort.Strings(bins)
	c := &pgCluster{tb: tb, bin: filepath.Dir(bins[len(bins)-1])}
	dir, err := os.MkdirTemp("", "ninsho-pg-")
	if err != nil {
		tb.Fatal(err)
	}
	c.dir = dir
	tb.Cleanup(func() { os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		// initdb and postgres refuse root: run them as postgres, in a
		// directory it may enter.
		u, err := user.Lookup("postgres")
		if err != nil {
			tb.Skipf("running as root and no postgres user to run the server as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chmod(dir, 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.Chown(dir, uid, gid); err != nil {
			tb.Fatal(err)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	c.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := c.command("initdb", "-D", filepath.Join(dir, "data"), "-U", "postgres", "-A", "trust", "-E", "UTF8",
		"--locale=C", "--no-sync", "--no-instructions")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("initdb: %v\n%s", err, out)
	}
	tb.Cleanup(func() { c.stop(syscall.SIGQUIT) })
	return c
}

func (c *pgCluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Dir = c.dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C", "HOME=" + c.dir}
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	return cmd
}

// url returns the URL of database db on the cluster.
func (c *pgCluster) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable&connect_timeout=5", c.port, db)
}

// start starts the server and waits until it accepts connections. It
// returns when it launched the server (no connection can have been
// accepted before) and when it saw it accept one.
func (c *pgCluster) start() (launched, ready time.Time) {
	c.tb.Helper()
	c.mu.Lock()
	launched = time.Now()
	cmd := c.command("postgres", "-D", filepath.Join(c.dir, "data"), "-p", strconv.Itoa(c.port), "-k", c.dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=100")
	log, err := os.OpenFile(filepath.Join(c.dir, "server.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		c.mu.Unlock()
		c.tb.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		c.mu.Unlock()
		c.tb.Fatalf("start postgres: %v", err)
	}
	end := make(chan struct{})
	go func() { cmd.Wait(); close(end) }()
	c.cmd, c.log, c.end = cmd, log, end
	c.mu.Unlock()

	db, err := sql.Open("pgx", c.url("postgres"))
	if err != nil {
		c.tb.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := db.PingContext(ctx)
		cancel()
		if err == nil {
			return launched, time.Now()
		}
		select {
		case <-end:
			b, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
			c.tb.Fatalf("postgres exited at start: %s", b)
		default:
		}
		if time.Now().After(deadline) {
			c.tb.Fatalf("postgres does not accept connections: %v", err)
		}
		time.Sleep(20 * time.Millisecond) // polling the server's start
	}
}

// stop sends sig to the postmaster (SIGINT: fast shutdown — sessions
// ended, a clean checkpoint) and waits until it has exited.
func (c *pgCluster) stop(sig syscall.Signal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd == nil {
		return
	}
	_ = c.cmd.Process.Signal(sig)
	select {
	case <-c.end:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.end
	}
	c.log.Close()
	c.cmd = nil
}

// mustExec runs statements on database db of the cluster.
func (c *pgCluster) mustExec(db string, stmts ...string) {
	c.tb.Helper()
	conn, err := sql.Open("pgx", c.url(db))
	if err != nil {
		c.tb.Fatal(err)
	}
	defer conn.Close()
	for _, s := range stmts {
		if _, err := conn.Exec(s); err != nil {
			c.tb.Fatalf("%s: %v", s, err)
		}
	}
}

// answer is one HTTP answer the load got.
type answer struct {
	op         string
	start, end time.Time
	status     int
	retryAfter string
	ctype      string
	code       string // the problem's code, or the first errors[] code
	body       string // the start of the body, for messages
	err        error  // a transport failure
}

// answers records the load's answers.
type answers struct {
	mu  sync.Mutex
	all []answer
}

func (a *answers) add(x answer) {
	a.mu.Lock()
	a.all = append(a.all, x)
	a.mu.Unlock()
}

func (a *answers) snapshot() []answer {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]answer(nil), a.all...)
}

// okSince reports whether every op of ops has had n 2xx answers that
// started after t.
func (a *answers) okSince(t time.Time, n int, ops ...string) bool {
	seen := map[string]int{}
	for _, x := range a.snapshot() {
		if x.err == nil && x.status/100 == 2 && x.start.After(t) {
			seen[x.op]++
		}
	}
	for _, op := range ops {
		if seen[op] < n {
			return false
		}
	}
	return true
}

// do sends req and records the answer as op; it returns the answer and the
// body.
func (a *answers) do(c *http.Client, op string, req *http.Request) (answer, []byte) {
	x := answer{op: op, start: time.Now()}
	res, err := c.Do(req)
	if err != nil {
		x.err, x.end = err, time.Now()
		a.add(x)
		return x, nil
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	x.end = time.Now()
	x.status, x.retryAfter, x.ctype, x.err = res.StatusCode, res.Header.Get("Retry-After"), res.Header.Get("Content-Type"), err
	x.body = string(body[:min(len(body), 300)])
	var doc struct {
		Code   string `json:"code"`
		Errors []struct {
			Code string `json:"code"`
		} `json:"errors"`
	}
	if strings.Contains(x.ctype, "json") && json.Unmarshal(body, &doc) == nil {
		x.code = doc.Code
		if x.code == "" && len(doc.Errors) > 0 {
			x.code = doc.Errors[0].Code
		}
	}
	a.add(x)
	return x, body
}

// checkInvariants runs SQL checks that nothing is half-written: each query
// lists the rows that break one rule, and must list none.
func checkInvariants(tb testing.TB, db *sql.DB) {
	tb.Helper()
	for _, inv := range []struct{ rule, query string }{
		{"every account has the sign-up event of its start",
			`SELECT a.id FROM account a WHERE NOT EXISTS (SELECT 1 FROM event e WHERE e.account_id = a.id AND e.type = 'signup.started')`},
		{"every sign-up start event has its account",
			`SELECT e.id FROM event e WHERE e.type = 'signup.started' AND NOT EXISTS (SELECT 1 FROM account a WHERE a.id = e.account_id)`},
		{"every active account has its sign-up completion event",
			`SELECT a.id FROM account a WHERE a.status = 'active' AND NOT EXISTS (SELECT 1 FROM event e WHERE e.account_id = a.id AND e.type = 'signup.completed')`},
		{"every sign-up completion event has an active account",
			`SELECT e.id FROM event e WHERE e.type = 'signup.completed' AND NOT EXISTS (SELECT 1 FROM account a WHERE a.id = e.account_id AND a.status = 'active')`},
		{"every completed sign-up or sign-in flow has a session of its account",
			`SELECT f.id FROM flow f WHERE f.status = 'complete' AND f.kind IN ('signup', 'signin') AND NOT EXISTS (SELECT 1 FROM session s WHERE s.account_id = f.account_id AND s.created_at >= f.created_at)`},
		{"every session was opened by a completed sign-up or sign-in (its event)",
			`SELECT s.id FROM session s WHERE NOT EXISTS (SELECT 1 FROM event e WHERE e.account_id = s.account_id AND e.type IN ('signup.completed', 'signin.succeeded'))`},
		{"every sign-up flow that sent a code has its code",
			`SELECT f.id FROM flow f WHERE f.kind = 'signup' AND f.sends > 0 AND NOT EXISTS (SELECT 1 FROM code c WHERE c.flow_id = f.id)`},
		{"every code has its flow",
			`SELECT c.id FROM code c WHERE NOT EXISTS (SELECT 1 FROM flow f WHERE f.id = c.flow_id)`},
		{"every sign-up code has its message in the outbox",
			`SELECT c.id FROM code c WHERE c.purpose = 'signup' AND NOT EXISTS (SELECT 1 FROM message m WHERE m.to_addr = c.destination AND m.template = 'signup_code')`},
		{"every outbox message is delivered or pending",
			`SELECT m.id FROM message m WHERE m.status NOT IN ('pending', 'sent')`},
		{"every delivered message has its successful attempt",
			`SELECT m.id FROM message m WHERE m.status = 'sent' AND NOT EXISTS (SELECT 1 FROM delivery_attempt d WHERE d.message_id = m.id AND d.ok)`},
	} {
		rows, err := db.Query(inv.query)
		if err != nil {
			tb.Errorf("%s: %v", inv.rule, err)
			continue
		}
		var bad []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				tb.Fatal(err)
			}
			bad = append(bad, id)
		}
		rows.Close()
		if len(bad) > 0 {
			tb.Errorf("not so: %s — %d rows break it, e.g. %s", inv.rule, len(bad), bad[0])
		}
	}
}
