package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// bareBody is the answer of the bare handler: a small JSON body of the size
// and shape of GET /api/v1/me's.
var bareBody = []byte(`{"id":"01a2107c-7d5d-7ff0-95d4-3420e443ba28","realm":"default","name":"Bench","email":"bench@example.com","email_verified":true,"phone":null,"phone_verified":false,"locale":"en","status":"active","created_at":"2026-11-25T02:15:23Z","session":{"aal":1,"methods":["pwd"],"authenticated_at":"2026-11-25T02:15:23Z","expires_at":"2026-12-25T02:15:23Z"}}` + "\n")

// BareHandler is the baseline of the session-check benchmark: a net/http
// handler that does nothing but answer 200 with a fixed small JSON body.
func BareHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(bareBody)
	})
}

// BareMain is the command bareserver: it serves BareHandler on --addr
// (default 127.0.0.1:0) with the http.Server settings of ninsho serve, prints
// "listening at URL" and stops on SIGINT or SIGTERM. It returns the exit
// code.
func BareMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bareserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "bareserver: %v\n", err)
		return 1
	}
	// The same settings as internal/cli's server, so that both are served
	// the same way.
	srv := &http.Server{
		Handler:           BareHandler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          log.New(stderr, "bareserver: ", 0),
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	fmt.Fprintf(stdout, "listening at http://%s\n", ln.Addr())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "bareserver: %v\n", err)
		return 1
	}
	return 0
}
