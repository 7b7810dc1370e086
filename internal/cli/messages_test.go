package cli_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/cli"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/message/providers/devinbox"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/secret"
	"github.com/ninsho/ninsho/internal/store"
)

// refusingRelay is a provider that is down, and puts the code in its error
// (the dispatcher must redact it).
type refusingRelay struct{}

func (refusingRelay) Name() string { return "relay-a" }
func (refusingRelay) Send(_ context.Context, m *message.Outgoing) (string, error) {
	return "", errors.New("421 busy, cannot take " + m.Code)
}

func TestMessagesCommand(t *testing.T) {
	const code = "739105"
	dir := t.TempDir()
	ctx := context.Background()
	clock := ninsho.NewManualClock(time.Date(2026, 12, 6, 3, 4, 5, 0, time.UTC))
	db, err := store.Open(ctx, store.Options{DataDir: dir, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	box, err := secret.NewBox(ninsho.NewSeededRandom(1), bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	templates, err := message.DefaultTemplates()
	if err != nil {
		t.Fatal(err)
	}
	outbox := message.NewOutbox(db, box, templates, clock, ninsho.NewSeededRandom(2))
	vars := map[string]string{"code": code, "name": "山田 太郎", "minutes": "10", "host": "id.example.com"}
	mail, err := outbox.Enqueue(ctx, "default", message.ChannelEmail, "taro.yamada@example.com", message.TemplateSignupCode, "ja", vars)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	sms, err := outbox.Enqueue(ctx, "default", message.ChannelSMS, "+819012345678", message.TemplateSignupCode, "ja", vars)
	if err != nil {
		t.Fatal(err)
	}
	d, err := message.NewDispatcher(message.DispatcherConfig{
		Store: db, Box: box, Templates: templates, Clock: clock, Random: ninsho.NewSeededRandom(3),
		Senders: map[message.Channel][]message.Sender{message.ChannelEmail: {refusingRelay{}, devinbox.NewSender(db, clock)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := d.RunOnce(ctx); err != nil || n != 1 {
		t.Fatalf("RunOnce = %d, %v; want the e-mail sent (the SMS has no provider)", n, err)
	}
	db.Close()

	run := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := cli.Main(append([]string{"messages", "--data-dir", dir}, args...), &out, &errOut)
		return code, out.String(), errOut.String()
	}
	status, out, errOut := run()
	if status != 0 {
		t.Fatalf("exit %d: %s", status, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 {
		t.Fatalf("got %d lines, want the SMS, the e-mail and its two attempts:\n%s", len(lines), out)
	}
	for _, want := range []struct {
		line  int
		parts []string
	}{
		{0, []string{sms.ID, "realm=default", "channel=sms", "template=signup_code", "to=090-****-5678", "status=pending", "delivery=queued", "provider=-", "attempts=0", "created=2026-12-06T03:04:06Z", `last_error="message: no provider for channel sms"`}},
		{1, []string{mail.ID, "realm=default", "channel=email", "to=t**********@e******.com", "status=sent", "delivery=sent", "provider=devinbox", "attempts=1", "created=2026-12-06T03:04:05Z"}},
		{2, []string{"  attempt 2026-12-06T03:04:06Z", "provider=relay-a failed", "duration=0s", `error="421 busy, cannot take [redacted]"`}},
		{3, []string{"  attempt 2026-12-06T03:04:06Z", "provider=devinbox ok", "duration=0s"}},
	} {
		for _, p := range want.parts {
			if !strings.Contains(lines[want.line], p) {
				t.Errorf("line %d %q lacks %q", want.line, lines[want.line], p)
			}
		}
	}
	for _, secretish := range []string{code, "taro.yamada", "9012345678", "山田"} {
		if strings.Contains(out, secretish) {
			t.Errorf("output shows %q:\n%s", secretish, out)
		}
	}

	if _, out, _ := run("--status", "sent", "--limit", "1"); !strings.Contains(out, mail.ID) || strings.Contains(out, sms.ID) {
		t.Errorf("--status sent: %s", out)
	}
	if _, out, _ := run("--limit", "1"); strings.Count(out, "realm=") != 1 || !strings.Contains(out, sms.ID) {
		t.Errorf("--limit 1: %s", out)
	}
	if _, out, _ := run("--realm", "elsewhere"); strings.TrimSpace(out) != "no messages" {
		t.Errorf("--realm elsewhere: %q", out)
	}
	for _, bad := range [][]string{{"--status", "lost"}, {"--delivery", "maybe"}, {"--limit", "0"}} {
		if status, _, errOut := run(bad...); status != 1 || !strings.Contains(errOut, "messages: --") {
			t.Errorf("%v: exit %d, %q; want 1 and the flag named", bad, status, errOut)
		}
	}
}
