package cli

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/importer"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/password"
)

// ExitRefused is the exit code of `ninsho import` when the run finished but
// refused at least one line (every other line was imported or skipped).
const ExitRefused = 3

// exitCode is an error that asks Main for a particular exit code; its
// message has been printed already.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// importShown is how many refused lines the summary lists.
const importShown = 20

// importProgressEvery is how often a progress line is written when stderr
// is not a terminal.
const importProgressEvery = 5 * time.Second

// importCmd runs "ninsho import": accounts from JSON lines (internal/importer).
func importCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		realmID, signerKey, saltSep string
		rounds, memCost, batch      int
	)
	c := newCommand("import", "--realm ID [flags] FILE|-",
		"Creates the accounts of FILE (JSON lines, one account each; - reads standard input) in the realm, in\n"+
			"batches, skipping accounts whose e-mail address or phone number the realm already holds. Refused lines\n"+
			"are listed with their numbers and reasons; the exit status is 3 when any line was refused.\n"+
			"See docs/operations.md, \"Importing accounts\".", stderr, func(c *command) {
			c.fs.StringVar(&realmID, "realm", "", "`id` of the realm the accounts join (required)")
			c.fs.StringVar(&signerKey, "firebase-signer-key", "", "Firebase project's base64_signer_key (`base64`), for Firebase scrypt hashes")
			c.fs.StringVar(&saltSep, "firebase-salt-separator", "", "Firebase project's base64_salt_separator (`base64`)")
			c.fs.IntVar(&rounds, "firebase-rounds", 0, "Firebase project's `rounds`")
			c.fs.IntVar(&memCost, "firebase-mem-cost", 0, "Firebase project's `mem_cost`")
			c.fs.IntVar(&batch, "batch", importer.DefaultBatchSize, "accounts per transaction (`n`)")
			c.dataDirFlag()
			c.configFlag()
		})
	var pos []string
	rest := args
	for {
		if err := c.fs.Parse(rest); err != nil {
			return err
		}
		if c.fs.NArg() == 0 {
			break
		}
		pos = append(pos, c.fs.Arg(0))
		rest = c.fs.Args()[1:]
	}
	switch {
	case realmID == "":
		return errors.New("import: --realm is required")
	case len(pos) != 1:
		return errors.New("import: give one FILE (or - for standard input)")
	case batch < 1 || batch > 10_000:
		return errors.New("import: --batch must be 1..10000")
	}
	fb, err := firebaseParams(signerKey, saltSep, rounds, memCost)
	if err != nil {
		return err
	}
	in, size := io.Reader(os.Stdin), int64(0)
	if pos[0] != "-" {
		f, err := os.Open(pos[0])
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		defer f.Close()
		in = f
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			size = st.Size()
		}
	}
	cfg, err := c.loadConfig()
	if err != nil {
		return err
	}
	app, err := NewApp(ctx, cfg, Options{LogOutput: io.Discard, Shared: true})
	if err != nil {
		return err
	}
	defer app.Close()
	rl := app.Realms.ByID(realmID)
	if rl == nil {
		return fmt.Errorf("import: no realm %q (ninsho realms list)", realmID)
	}
	svc := app.Importer(fb)
	svc.BatchSize = batch
	svc.Progress = newImportProgress(stderr, size).show
	sum, err := svc.Run(ctx, rl, in)
	writeImportSummary(stdout, rl.ID, sum)
	if err != nil {
		return fmt.Errorf("import: stopped after line %d: %w", sum.Lines, err)
	}
	if sum.Refused > 0 {
		return exitCode(ExitRefused)
	}
	return nil
}

// Importer returns the service that imports accounts into this instance's
// database, with fb as the Firebase project's hash parameters (nil: none).
func (a *App) Importer(fb *password.Firebase) *importer.Service {
	k := a.kit
	return &importer.Service{Store: a.DB, Tx: a.DB, Clock: k.Clock, Random: k.Random, Box: k.TwoStep.Box, Firebase: fb}
}

// firebaseParams reads the --firebase-* flags: none, or all four.
func firebaseParams(signerKey, saltSep string, rounds, memCost int) (*password.Firebase, error) {
	if signerKey == "" && saltSep == "" && rounds == 0 && memCost == 0 {
		return nil, nil
	}
	if signerKey == "" || saltSep == "" || rounds == 0 || memCost == 0 {
		return nil, errors.New("import: give all four of --firebase-signer-key, --firebase-salt-separator, --firebase-rounds and --firebase-mem-cost")
	}
	key, err := base64.StdEncoding.DecodeString(signerKey)
	if err != nil {
		return nil, errors.New("import: --firebase-signer-key is not base64")
	}
	sep, err := base64.StdEncoding.DecodeString(saltSep)
	if err != nil {
		return nil, errors.New("import: --firebase-salt-separator is not base64")
	}
	fb := &password.Firebase{SignerKey: key, SaltSeparator: sep, Rounds: rounds, MemCost: memCost}
	if err := fb.Check(); err != nil {
		return nil, fmt.Errorf("import: Firebase hash parameters: %w", err)
	}
	return fb, nil
}

// importProgress writes the progress to stderr: a bar redrawn in place on a
// terminal, else a plain line every importProgressEvery.
type importProgress struct {
	w        io.Writer
	size     int64 // of the file, 0 when unknown (standard input)
	terminal bool
	start    time.Time
	last     time.Time
}

func newImportProgress(w io.Writer, size int64) *importProgress {
	p := &importProgress{w: w, size: size, start: time.Now()}
	p.last = p.start
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.terminal = true
		}
	}
	return p
}

func (p *importProgress) show(pr importer.Progress) {
	now := time.Now()
	rate := 0.0
	if d := now.Sub(p.start).Seconds(); d > 0 {
		rate = float64(pr.Lines) / d
	}
	counts := fmt.Sprintf("%d lines: created %d, skipped %d, refused %d (%.0f accounts/s)", pr.Lines, pr.Created, pr.Skipped, pr.Refused, rate)
	if p.terminal {
		bar := ""
		if p.size > 0 {
			const width = 30
			done := min(width, int(pr.Bytes*width/p.size))
			bar = fmt.Sprintf("[%s%s] %3d%% ", strings.Repeat("#", done), strings.Repeat("-", width-done), min(100, pr.Bytes*100/p.size))
		}
		fmt.Fprintf(p.w, "\r%s%s\x1b[K", bar, counts)
		return
	}
	if now.Sub(p.last) >= importProgressEvery {
		p.last = now
		fmt.Fprintf(p.w, "import: %s\n", counts)
	}
}

// writeImportSummary prints what the run did: the counts, the first
// refused lines with their reasons, and the rate.
func writeImportSummary(w io.Writer, realm string, s *importer.Summary) {
	fmt.Fprintf(w, "import into realm %s: %d lines, created %d, skipped %d (identifier already in the realm), refused %d, in %s (%.0f accounts/s)\n",
		realm, s.Lines, s.Created, s.Skipped, s.Refused, s.Elapsed.Round(time.Millisecond), s.PerSecond())
	shown := 0
	for _, r := range s.Refusals {
		if shown == importShown {
			break
		}
		shown++
		fmt.Fprintf(w, "  line %d: %s\n", r.Line, refusalText(r.Err))
	}
	if more := s.Refused - shown; more > 0 {
		fmt.Fprintf(w, "  … and %d more refused lines\n", more)
	}
}

// refusalText is a refusal as the operator reads it: the field, the
// catalogue code, its English message and the detail (never a hash or a
// secret: the details name parameters only).
func refusalText(e *ninsho.Error) string {
	var sb strings.Builder
	if e.Field != "" {
		sb.WriteString(e.Field + ": ")
	}
	sb.WriteString(string(e.Code))
	sb.WriteString(" — ")
	sb.WriteString(i18n.ErrorMessage("en", e.Code, e.Params))
	if e.Err != nil && e.Code != ninsho.CodeInternal {
		sb.WriteString(" (" + e.Err.Error() + ")")
	}
	return sb.String()
}
