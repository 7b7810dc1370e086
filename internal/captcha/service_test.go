package captcha_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/captcha"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/secret"
	"github.com/ninsho/ninsho/internal/store"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// MustService returns a CAPTCHA service on db with a clock stopped at
// storetest.Epoch.
func MustService(tb testing.TB, db *store.DB) (*captcha.Service, *ninsho.ManualClock) {
	tb.Helper()
	box, err := secret.NewBox(rand.Reader, bytes.Repeat([]byte{7}, 32))
	if err != nil {
		tb.Fatalf("NewBox: %v", err)
	}
	clock := ninsho.NewManualClock(storetest.Epoch)
	return &captcha.Service{Store: db, Box: box, Clock: clock, Random: rand.Reader}, clock
}

// mustNew issues a challenge of a new flow in realm "jp" and returns it with
// its answer.
func mustNew(tb testing.TB, s *captcha.Service) (*captcha.Challenge, string) {
	tb.Helper()
	ctx := context.Background()
	c, err := s.New(ctx, "jp", storetest.NewID())
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	answer, err := s.Answer(ctx, c.ID)
	if err != nil {
		tb.Fatalf("Answer(%s): %v", c.ID, err)
	}
	return c, answer
}

// wrong returns an answer of the same length that is not answer.
func wrong(answer string) string {
	b := []byte(answer)
	b[0] = '0' + (b[0]-'0'+1)%10
	return string(b)
}

// fullWidth writes the digits of s in full-width forms, with an ideographic
// space in the middle, as a Japanese IME would.
func fullWidth(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i == len(s)/2 {
			b.WriteRune('\u3000')
		}
		b.WriteRune(r - '0' + '０')
	}
	return b.String()
}

func wantCode(tb testing.TB, what string, err error, want ninsho.Code) {
	tb.Helper()
	if got := ninsho.CodeOf(err); got != want {
		tb.Errorf("%s: got %v (code %q), want code %q", what, err, got, want)
	}
}

func TestService(t *testing.T) {
	storetest.EachDatabase(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		ctx := context.Background()

		t.Run("new", func(t *testing.T) {
			s, _ := MustService(t, open(t))
			flowID := storetest.NewID()
			c, err := s.New(ctx, "jp", flowID)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if !ninsho.ValidID(c.ID) || c.Realm != "jp" || c.FlowID != flowID || c.Attempts != 0 || c.SolvedAt != nil ||
				!c.CreatedAt.Equal(storetest.Epoch) || !c.ExpiresAt.Equal(storetest.Epoch.Add(captcha.DefaultTTL)) {
				t.Errorf("New: got %+v", c)
			}
			answer, err := s.Answer(ctx, c.ID)
			if err != nil || len(answer) != captcha.DefaultLength || strings.Trim(answer, "0123456789") != "" {
				t.Fatalf("Answer: got %q, %v; want %d digits", answer, err, captcha.DefaultLength)
			}
			if bytes.Contains(c.SealedDigits, []byte(answer)) {
				t.Errorf("SealedDigits hold the answer in the clear")
			}
			digits, err := s.Digits(ctx, "jp", c.ID)
			if err != nil {
				t.Fatalf("Digits: %v", err)
			}
			for i, d := range digits {
				if d != answer[i]-'0' {
					t.Fatalf("Digits: got %v, want the values of %q", digits, answer)
				}
			}
			_, err = s.Digits(ctx, "us", c.ID)
			wantCode(t, "Digits of another realm", err, ninsho.CodeNotFound)
			for _, id := range []string{storetest.NewID(), "not-an-id", ""} {
				_, err = s.Digits(ctx, "jp", id)
				wantCode(t, "Digits of "+id, err, ninsho.CodeNotFound)
				_, err = s.Answer(ctx, id)
				wantCode(t, "Answer of "+id, err, ninsho.CodeNotFound)
			}
			// Each challenge has digits of its own.
			seen := map[string]bool{answer: true}
			for range 10 {
				_, a := mustNew(t, s)
				seen[a] = true
			}
			if len(seen) < 10 {
				t.Errorf("11 challenges had %d distinct answers", len(seen))
			}
		})

		t.Run("answers", func(t *testing.T) {
			// Each case answers a fresh challenge in turn; want is the code
			// of each answer ("" for accepted).
			type answer struct {
				text    func(right string) string
				advance time.Duration
				flow    string // "other": answered on another flow
				want    ninsho.Code
			}
			right := func(a string) string { return a }
			cases := []struct {
				name    string
				answers []answer
			}{
				{"right", []answer{{text: right}}},
				{"single use", []answer{{text: right}, {text: right, want: ninsho.CodeCaptchaIncorrect}}},
				{"full-width with spaces", []answer{{text: fullWidth}}},
				{"spaces", []answer{{text: func(a string) string { return " " + a[:3] + " " + a[3:] + "\t" }}}},
				{"wrong then right", []answer{
					{text: wrong, want: ninsho.CodeCaptchaIncorrect},
					{text: wrong, want: ninsho.CodeCaptchaIncorrect},
					{text: right},
				}},
				{"out of attempts", []answer{
					{text: wrong, want: ninsho.CodeCaptchaIncorrect},
					{text: func(string) string { return strings.Repeat("1", 300) }, want: ninsho.CodeCaptchaIncorrect},
					{text: func(a string) string { return a[:5] }, want: ninsho.CodeCaptchaIncorrect},
					{text: right, want: ninsho.CodeCaptchaIncorrect},
				}},
				{"empty counts nothing", []answer{
					{text: func(string) string { return " \u3000" }, want: ninsho.CodeFieldRequired},
					{text: wrong, want: ninsho.CodeCaptchaIncorrect},
					{text: wrong, want: ninsho.CodeCaptchaIncorrect},
					{text: right},
				}},
				{"expired", []answer{{text: right, advance: captcha.DefaultTTL, want: ninsho.CodeCaptchaIncorrect}}},
				{"just in time", []answer{{text: right, advance: captcha.DefaultTTL - time.Microsecond}}},
				{"other flow counts nothing", []answer{
					{text: right, flow: "other", want: ninsho.CodeCaptchaIncorrect},
					{text: right, flow: "other", want: ninsho.CodeCaptchaIncorrect},
					{text: right, flow: "other", want: ninsho.CodeCaptchaIncorrect},
					{text: right},
				}},
			}
			s, clock := MustService(t, open(t))
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					clock.Set(storetest.Epoch)
					c, ans := mustNew(t, s)
					for i, a := range tc.answers {
						clock.Advance(a.advance)
						flowID := c.FlowID
						if a.flow == "other" {
							flowID = storetest.NewID()
						}
						err := s.Check(ctx, c.ID, flowID, a.text(ans))
						wantCode(t, fmt.Sprintf("answer #%d", i+1), err, a.want)
						if a.want == ninsho.CodeCaptchaIncorrect {
							if e := ninsho.ErrorOf(err); e.Field != "answer" {
								t.Errorf("answer #%d: got field %q, want answer", i+1, e.Field)
							}
						}
					}
				})
			}
		})

		t.Run("unknown challenge", func(t *testing.T) {
			s, _ := MustService(t, open(t))
			for _, id := range []string{storetest.NewID(), "x"} {
				wantCode(t, "Check of "+id, s.Check(ctx, id, storetest.NewID(), "123456"), ninsho.CodeCaptchaIncorrect)
			}
		})

		t.Run("solved is not drawn", func(t *testing.T) {
			s, _ := MustService(t, open(t))
			c, ans := mustNew(t, s)
			if err := s.Check(ctx, c.ID, c.FlowID, ans); err != nil {
				t.Fatalf("Check: %v", err)
			}
			_, err := s.Digits(ctx, "jp", c.ID)
			wantCode(t, "Digits of a solved challenge", err, ninsho.CodeNotFound)
			_, err = s.Answer(ctx, c.ID)
			wantCode(t, "Answer of a solved challenge", err, ninsho.CodeNotFound)
		})

		t.Run("concurrent right answers", func(t *testing.T) {
			s, _ := MustService(t, open(t))
			c, ans := mustNew(t, s)
			var (
				wg   sync.WaitGroup
				wins atomic.Int32
			)
			for range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					switch err := s.Check(ctx, c.ID, c.FlowID, ans); ninsho.CodeOf(err) {
					case "":
						wins.Add(1)
					case ninsho.CodeCaptchaIncorrect:
					default:
						t.Errorf("Check: %v", err)
					}
				}()
			}
			wg.Wait()
			if got := wins.Load(); got != 1 {
				t.Errorf("16 concurrent right answers: got %d accepted, want 1", got)
			}
		})

		t.Run("settings", func(t *testing.T) {
			s, clock := MustService(t, open(t))
			s.Length, s.MaxAttempts, s.TTL = 8, 1, time.Minute
			c, ans := mustNew(t, s)
			if len(ans) != 8 || !c.ExpiresAt.Equal(clock.Now().Add(time.Minute)) {
				t.Errorf("New with Length 8 and TTL 1m: got answer %q, expiry %v", ans, c.ExpiresAt)
			}
			wantCode(t, "wrong answer", s.Check(ctx, c.ID, c.FlowID, wrong(ans)), ninsho.CodeCaptchaIncorrect)
			wantCode(t, "right answer after the one attempt", s.Check(ctx, c.ID, c.FlowID, ans), ninsho.CodeCaptchaIncorrect)
		})
	})
}

func TestPaths(t *testing.T) {
	id := "0195a1b2-0000-7000-8000-000000000000"
	cases := []struct{ got, want string }{
		{captcha.ImagePath(id), "/api/v1/captcha/" + id + ".png"},
		{captcha.AudioPath(id, "ja"), "/api/v1/captcha/" + id + ".wav?lang=ja"},
		{captcha.AudioPath(id, ""), "/api/v1/captcha/" + id + ".wav"},
	}
	for _, tc := range cases {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
