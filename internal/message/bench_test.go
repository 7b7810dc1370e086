package message_test

import (
	"context"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/message/providers/devinbox"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// benchSender passes messages to a local provider and closes done when
// it has accepted want of them.
type benchSender struct {
	message.Sender
	n, want atomic.Int64
	done    chan struct{}
}

func (s *benchSender) Send(ctx context.Context, m *message.Outgoing) (string, error) {
	id, err := s.Sender.Send(ctx, m)
	if err == nil && s.n.Add(1) == s.want.Load() {
		close(s.done)
	}
	return id, err
}

// BenchmarkDispatcher measures the messages per second one dispatcher (the
// defaults: batches of 32, 4 in parallel) sustains to a local provider, the
// development inbox, which writes each message to the same database: it
// enqueues 2,000 messages, then times Run until every one is sent.
//
//	NINSHO_TEST_POSTGRES=postgres://… go test -run '^$' -bench Dispatcher -benchtime 3x ./internal/message/
func BenchmarkDispatcher(b *testing.B) {
	const batch = 2000
	for _, d := range storetest.Databases() {
		b.Run(d.Name, func(b *testing.B) {
			if d.Name == "postgres" && os.Getenv(storetest.PostgresEnv) == "" {
				b.Skipf("%s is not set", storetest.PostgresEnv)
			}
			db := d.Open(b)
			clock := ninsho.SystemClock{}
			box, templates := message.MustBox(b, 7), message.MustTemplates(b)
			outbox := message.NewOutbox(db, box, templates, clock, ninsho.SecureRandom)
			vars := map[string]string{"code": "482913", "name": "山田 太郎", "minutes": "10", "host": "id.example.com"}
			ctx := context.Background()
			var total time.Duration
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				err := db.InTx(ctx, func(ctx context.Context) error {
					for range batch {
						if _, err := outbox.Enqueue(ctx, "jp", message.ChannelEmail, "taro@example.com", message.TemplateSignupCode, "ja", vars); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				sender := &benchSender{Sender: devinbox.NewSender(db, clock), done: make(chan struct{})}
				sender.want.Store(batch)
				disp, err := message.NewDispatcher(message.DispatcherConfig{
					Store: db, Box: box, Templates: templates, Clock: clock,
					Senders: map[message.Channel][]message.Sender{message.ChannelEmail: {sender}},
				})
				if err != nil {
					b.Fatal(err)
				}
				runCtx, stop := context.WithCancel(ctx)
				ran := make(chan error, 1)
				b.StartTimer()
				start := time.Now()
				go func() { ran <- disp.Run(runCtx) }()
				<-sender.done
				stop()
				if err := <-ran; err != nil {
					b.Fatal(err)
				}
				total += time.Since(start)
				b.StopTimer()
				if backlog, err := db.OutboxBacklog(ctx); err != nil || backlog.Pending != 0 {
					b.Fatalf("after the run: backlog %+v, %v; want every message sent", backlog, err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(batch*b.N)/total.Seconds(), "msgs/s")
		})
	}
}
