package cli_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/config"
	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/loadgen"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// TestSQLiteDiskFull runs a SQLite server on a small file system of its own
// (tmpfs, 8 MiB) and fills it: sign-ups answer 503 storage_full with
// Retry-After and the catalogue's message in Japanese and English, nothing
// answers 500 or panics, session checks and /readyz go on, and once space
// is freed writes (a sign-up, a sign-in's session) work again without a
// restart. It skips when the test may not mount a file system (not root).
func TestSQLiteDiskFull(t *testing.T) {
	dir, err := os.MkdirTemp("", "ninsho-full-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=8m,mode=0700"); err != nil {
		t.Skipf("cannot mount a small tmpfs for the full disk (needs root or CAP_SYS_ADMIN): %v", err)
	}
	t.Cleanup(func() { // after the server's Close (cleanups run last first)
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	app := startAppWith(t, func(c *config.Config) {
		c.DataDir = filepath.Join(dir, "data")
		c.TrustedProxies = []string{"127.0.0.1"}
	})
	base := app.URL()
	hc := loadgen.NewClientFrom(16, 10*time.Second, 2<<16)
	api := &loadgen.API{Client: hc, URL: base}
	acc, err := api.Signup(t.Context(), "owner@example.com", "Kaede-Hoshizora-4242", "Full Disk")
	if err != nil {
		t.Fatal(err)
	}

	// Fill the file system.
	filler := filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	f.Close()

	signup := func(i int, lang string) answer {
		b, _ := json.Marshal(map[string]string{"identifier": fmt.Sprintf("full%03d@example.com", i),
			"password": "Kasumi-Yamabuki-Hotaru-42", "name": "Full Disk", "locale": lang})
		r, _ := http.NewRequest("POST", base+"/api/v1/signup", bytes.NewReader(b))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Accept-Language", lang)
		x, body := (&answers{}).do(hc, "signup", r)
		if x.err != nil {
			t.Fatalf("sign-up: %v", x.err)
		}
		if x.status == http.StatusServiceUnavailable {
			var p struct{ Code, Detail string }
			json.Unmarshal(body, &p)
			if p.Code != string(ninsho.CodeStorageFull) || x.retryAfter != "30" || p.Detail != i18n.ErrorMessage(lang, ninsho.CodeStorageFull, nil) {
				t.Errorf("sign-up on a full disk (%s): %s, Retry-After %q; want storage_full, 30 and the catalogue's message", lang, body, x.retryAfter)
			}
		} else if x.status != http.StatusCreated {
			t.Errorf("sign-up on a full disk: %d %s", x.status, x.body)
		}
		return x
	}
	sessionOK := func() {
		t.Helper()
		r, _ := http.NewRequest("GET", base+"/api/v1/me", nil)
		r.Header.Set("Authorization", "Bearer "+acc.SessionToken)
		if x, _ := (&answers{}).do(hc, "session", r); x.err != nil || x.status != http.StatusOK {
			t.Errorf("session check on a full disk: %d %v %s", x.status, x.err, x.body)
		}
	}
	refused := map[string]int{}
	created := 0
	for i := 0; i < 400 && (refused["ja"] == 0 || refused["en"] == 0); i++ {
		lang := []string{"ja", "en"}[i%2]
		switch x := signup(i, lang); x.status {
		case http.StatusServiceUnavailable:
			refused[lang]++
		case http.StatusCreated:
			created++
		}
		if i%20 == 0 {
			sessionOK()
		}
	}
	t.Logf("on the full file system: %d sign-ups written (into space SQLite already held), %d refused in ja, %d in en",
		created, refused["ja"], refused["en"])
	if refused["ja"] == 0 || refused["en"] == 0 {
		t.Fatalf("the full disk never refused a sign-up in both languages")
	}
	// Reads go on: session checks, readiness, and a sign-in (which writes
	// a session: it gets in, or is refused the same clean way).
	sessionOK()
	if code := getStatus(t, hc, base+"/readyz", nil); code != http.StatusOK {
		t.Errorf("/readyz on a full disk: %d, want 200 (reads are served)", code)
	}
	r, err := api.Signin(t.Context(), acc.Identifier, acc.Password, acc.DeviceToken)
	refusedFull := r.Status == http.StatusServiceUnavailable && r.RetryAfter &&
		(r.Problem == string(ninsho.CodeStorageFull) || r.Flow != nil && len(r.Flow.Errors) > 0 && r.Flow.Errors[0].Code == string(ninsho.CodeStorageFull))
	if err != nil || !(r.SignedIn() || refusedFull) {
		t.Errorf("sign-in on a full disk: %+v %v; want signed in or 503 storage_full", r, err)
	}
	t.Logf("sign-in of an existing account on the full disk: %d", r.Status)

	// Space freed: writes work again in the same server.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	ok := false
	for i := 1000; i < 1005 && !ok; i++ {
		ok = signup(i, "en").status == http.StatusCreated
	}
	if !ok {
		t.Fatal("sign-ups are still refused after space was freed")
	}
	if r, err := api.Signin(t.Context(), acc.Identifier, acc.Password, acc.DeviceToken); err != nil || !r.SignedIn() {
		t.Errorf("sign-in after space was freed: %+v %v", r, err)
	}
	sessionOK()
}
