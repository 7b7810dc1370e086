package kannel_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// Debian's kannel and kannel-extras put the boxes and the fake SMSC here.
const (
	bearerboxPath = "/usr/sbin/bearerbox"
	smsboxPath    = "/usr/sbin/smsbox"
	fakesmscPath  = "/usr/lib/kannel/test/fakesmsc"
)

// kannelReady is how long a Kannel process may take to start, and a
// message or report to cross it.
const kannelReady = 30 * time.Second

// TestRealKannel sends a Japanese verification SMS through a real Kannel:
// Ninsho's sender → smsbox's sendsms → bearerbox → its fake SMSC link →
// fakesmsc, which prints what it received; the fake SMSC link acknowledges
// the message, and bearerbox's reports (8, then 1) reach the dlr-url, which
// the DLR handler on a real HTTP server records in a real store.
func TestRealKannel(t *testing.T) {
	for _, p := range []string{bearerboxPath, smsboxPath, fakesmscPath} {
		if _, err := os.Stat(p); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is missing, and CI must run this test: .ci/run installs kannel and kannel-extras", p)
			}
			t.Skipf("Kannel is not installed (%s is missing): apt-get install kannel kannel-extras", p)
		}
	}
	dir := t.TempDir()
	ports := freePorts(t, 4)
	admin, boxPort, smscPort, sendsmsPort := ports[0], ports[1], ports[2], ports[3]
	conf := filepath.Join(dir, "kannel.conf")
	writeFile(t, conf, fmt.Sprintf(`group = core
admin-port = %d
admin-interface = 127.0.0.1
admin-password = admin-secret
smsbox-port = %d
box-allow-ip = 127.0.0.1
log-file = "%s"
log-level = 0
access-log = "%s"
dlr-storage = internal

group = smsc
smsc = fake
smsc-id = fake1
port = %d
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = %d
sendsms-port = %d
sendsms-interface = 127.0.0.1
log-file = "%s"
log-level = 0

group = sendsms-user
username = ninsho
password = s3cret-pw
max-messages = 5
concatenation = true
`, admin, boxPort, filepath.Join(dir, "bearerbox.log"), filepath.Join(dir, "access.log"),
		smscPort, boxPort, sendsmsPort, filepath.Join(dir, "smsbox.log")))

	start(t, dir, "bearerbox", bearerboxPath, conf)
	waitListening(t, smscPort)
	waitListening(t, boxPort)
	// fakesmsc plays the SMSC: -m 0 sends no message of its own (the one
	// given is never used) and every message it receives is logged as
	// "Got message N: <sender receiver type data>".
	received := make(chan string, 16)
	fake := start(t, dir, "fakesmsc", fakesmscPath, "-H", "127.0.0.1", "-r", fmt.Sprint(smscPort), "-m", "0", "1 2 text unused")
	go scanReceived(t.Context(), fake, received)
	start(t, dir, "smsbox", smsboxPath, conf)
	waitListening(t, sendsmsPort)
	waitSMSCOnline(t, admin)

	e := newEnv(t, storetest.MustOpenSQLite)
	s := e.sender(t, fmt.Sprintf("http://127.0.0.1:%d/cgi-bin/sendsms", sendsmsPort))
	m, text := e.enqueue(t, "+819012345678")
	if n, err := e.dispatcher(t, s).RunOnce(context.Background()); err != nil || n != 1 {
		got, _ := e.db.Message(context.Background(), m.ID)
		t.Fatalf("RunOnce = %d, %v (last error %q); want 1 sent through Kannel", n, err, got.LastError)
	}

	// The text arrives intact, in UCS-2 (in as many parts as Kannel needed).
	from, to, got := receiveSMS(t, received)
	if from != "Ninsho" || to != "+819012345678" {
		t.Errorf("fakesmsc got a message from %q to %q, want from Ninsho to +819012345678", from, to)
	}
	if got != text {
		t.Errorf("fakesmsc got text\n%q\nwant\n%q", got, text)
	}

	// The delivery report comes back and marks the message delivered.
	deadline := time.Now().Add(kannelReady)
	for e.delivery(t, m.ID) != message.DeliveryDelivered {
		if time.Now().After(deadline) {
			t.Fatalf("delivery = %s after %v, want delivered; DLR calls: %+v", e.delivery(t, m.ID), kannelReady, e.calls())
		}
		time.Sleep(20 * time.Millisecond)
	}
	var types []string
	var kannelURL string
	for _, c := range e.calls() {
		q, _ := url.ParseQuery(c.Query)
		if c.Status != http.StatusOK || q.Get("m") != m.ID || q.Get("t") != e.tokens.Token(providerName, m.ID) {
			t.Errorf("DLR call %q answered %d, want 200 for message %s with its token", c.Query, c.Status, m.ID)
		}
		types = append(types, q.Get("type"))
		if q.Get("type") == "1" {
			kannelURL = e.hooks.URL + "/hooks/" + providerName + "/dlr?" + c.Query
		}
	}
	if !slices.Contains(types, "1") {
		t.Fatalf("DLR types from Kannel = %v, want a 1 (delivered)", types)
	}
	t.Logf("Kannel reported types %v", types)
	before, err := e.db.Delivery(context.Background(), m.ID)
	if err != nil {
		t.Fatal(err)
	}

	// A replay of Kannel's own report, a late report of another kind and a
	// forged one change nothing.
	e.clock.Advance(time.Minute)
	forged := url.Values{"m": {m.ID}, "t": {e.tokens.Token(providerName, "another-id")}, "type": {"2"}}
	for _, c := range []struct {
		url    string
		status int
	}{
		{kannelURL, http.StatusOK},
		{strings.Replace(kannelURL, "type=1", "type=16", 1), http.StatusOK},
		{e.hooks.URL + "/hooks/" + providerName + "/dlr?" + forged.Encode(), http.StatusForbidden},
	} {
		resp, err := http.Get(c.url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("GET %s = %d, want %d", c.url, resp.StatusCode, c.status)
		}
	}
	after, err := e.db.Delivery(context.Background(), m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.Status != message.DeliveryDelivered || !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Errorf("after replayed and forged reports: %s at %v, want delivered at %v", after.Status, after.UpdatedAt, before.UpdatedAt)
	}
}

// freePorts returns n distinct free loopback ports.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// start runs a Kannel program with its output in dir/<name>.out, killed and
// waited for when the test ends. It returns the output file.
func start(t *testing.T, dir, name, path string, args ...string) string {
	t.Helper()
	out := filepath.Join(dir, name+".out")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		f.Close()
		if t.Failed() {
			b, _ := os.ReadFile(out)
			t.Logf("%s output (last 2000 bytes):\n%s", name, tail(b, 2000))
		}
	})
	return out
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// waitListening waits until something accepts connections on port.
func waitListening(t *testing.T, port int) {
	t.Helper()
	deadline := time.Now().Add(kannelReady)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on port %d after %v: %v", port, kannelReady, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitSMSCOnline waits until bearerbox's status page shows the fake SMSC
// link online (fakesmsc connected) and an smsbox connected.
func waitSMSCOnline(t *testing.T, admin int) {
	t.Helper()
	deadline := time.Now().Add(kannelReady)
	online := regexp.MustCompile(`fake1\[fake1\]\s+FAKE:\d+\s+\(online`)
	var last string
	for {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/status.txt?password=admin-secret", admin))
		if err == nil {
			var b strings.Builder
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				b.WriteString(sc.Text() + "\n")
			}
			resp.Body.Close()
			last = b.String()
			if online.MatchString(last) && strings.Contains(last, "smsbox:") {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("bearerbox status after %v:\n%s\nwant the fake SMSC online and an smsbox", kannelReady, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// gotMessage is fakesmsc's log line of a received message.
var gotMessage = regexp.MustCompile(`Got message \d+: <(.*)>$`)

// scanReceived follows fakesmsc's output file and sends every received
// message line on ch until ctx ends (the test ended).
func scanReceived(ctx context.Context, name string, ch chan<- string) {
	f, err := os.Open(name)
	if err != nil {
		return
	}
	defer f.Close()
	r := bufio.NewReader(f)
	var partial string
	for ctx.Err() == nil {
		line, err := r.ReadString('\n')
		partial += line
		if err != nil {
			time.Sleep(20 * time.Millisecond) // poll the growing file
			continue
		}
		if m := gotMessage.FindStringSubmatch(strings.TrimRight(partial, "\n")); m != nil {
			select {
			case ch <- m[1]:
			case <-ctx.Done():
			}
		}
		partial = ""
	}
}

// receiveSMS waits for the next message fakesmsc received and returns its
// sender, receiver and text. fakesmsc prints "sender receiver ucs-2 <data>"
// (or "text <data>" for GSM-7), data URL-encoded; a message Kannel split
// comes as parts "sender receiver udh <udh> data <data>", which are joined
// in the order of their concatenation header.
func receiveSMS(t *testing.T, ch <-chan string) (from, to, text string) {
	t.Helper()
	parts := map[int][]byte{}
	total := 0
	deadline := time.After(kannelReady)
	for {
		var line string
		select {
		case line = <-ch:
		case <-deadline:
			t.Fatalf("fakesmsc received no (complete) message in %v; parts so far %d of %d", kannelReady, len(parts), total)
		}
		f := strings.Split(line, " ")
		if len(f) < 4 {
			t.Fatalf("fakesmsc line %q: want sender receiver type data", line)
		}
		from, to = f[0], f[1]
		switch f[2] {
		case "text":
			return from, to, strings.Join(f[3:], " ")
		case "ucs-2":
			t.Logf("fakesmsc received the message in one UCS-2 part")
			return from, to, ucs2(t, mustUnescape(t, f[3]))
		case "udh":
			if len(f) != 6 || f[4] != "data" {
				t.Fatalf("fakesmsc line %q: want sender receiver udh <udh> data <data>", line)
			}
			seq, n := concat(t, mustUnescape(t, f[3]))
			total = n
			parts[seq] = mustUnescape(t, f[5])
			if len(parts) == total {
				var all []byte
				for i := 1; i <= total; i++ {
					all = append(all, parts[i]...)
				}
				t.Logf("fakesmsc received the message in %d UCS-2 parts", total)
				return from, to, ucs2(t, all)
			}
		default:
			t.Fatalf("fakesmsc line %q: unexpected type %q", line, f[2])
		}
	}
}

func mustUnescape(t *testing.T, s string) []byte {
	t.Helper()
	u, err := url.QueryUnescape(s)
	if err != nil {
		t.Fatalf("fakesmsc data %q: %v", s, err)
	}
	return []byte(u)
}

// ucs2 decodes big-endian UCS-2 (UTF-16) bytes.
func ucs2(t *testing.T, b []byte) string {
	t.Helper()
	if len(b)%2 != 0 {
		t.Fatalf("UCS-2 data of odd length %d", len(b))
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	return string(utf16.Decode(u))
}

// concat reads the concatenation element (8- or 16-bit reference) of a
// user data header and returns the part's number and the number of parts.
func concat(t *testing.T, udh []byte) (seq, total int) {
	t.Helper()
	if len(udh) == 0 || int(udh[0])+1 != len(udh) {
		t.Fatalf("user data header % x: bad length", udh)
	}
	for i := 1; i+1 < len(udh); {
		id, l := udh[i], int(udh[i+1])
		v := udh[i+2 : min(i+2+l, len(udh))]
		switch {
		case id == 0x00 && l == 3:
			return int(v[2]), int(v[1])
		case id == 0x08 && l == 4:
			return int(v[3]), int(v[2])
		}
		i += 2 + l
	}
	t.Fatalf("user data header % x: no concatenation element", udh)
	return 0, 0
}
