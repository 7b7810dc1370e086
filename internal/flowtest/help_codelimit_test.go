package flowtest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/help"
	"github.com/ninsho/ninsho/internal/httperr"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// TestHelpCodeLimitNotice: the code that uses up the strangers' budget of a
// contact comes with the code_limit notice, on the help request's resend
// path as at sign-up; the next resend is refused.
func TestHelpCodeLimitNotice(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		s, _ := helpService(e)
		const to = "limit@example.net"
		in := help.Input{Step: "other", Contact: to}
		var ans *flow.Answer
		for i := range help.ContactStartsPerHour {
			var err error
			if ans, err = s.Start(ctx, e.JP, flowtest.Req(fmt.Sprintf("198.51.100.%d", 10+i), ""), in); err != nil {
				t.Fatalf("start %d: %v", i+1, err)
			}
		}
		req := flowtest.Req("198.51.100.12", ans.DeviceToken)
		sent := help.ContactStartsPerHour
		for {
			e.Clock.Advance(61 * time.Second)
			_, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionResendCode})
			if ninsho.IsCode(err, ninsho.CodeResendLimitReached) {
				break
			}
			if err != nil || sent > 20 {
				t.Fatalf("resend after %d codes: %v", sent, err)
			}
			sent++
		}
		ms := e.Messages(t, to)
		codes, limits := 0, 0
		for _, m := range ms {
			switch m.Template {
			case help.TemplateCode:
				codes++
			case "code_limit":
				limits++
			}
		}
		if codes != sent || limits != 1 || ms[0].Template != "code_limit" {
			t.Errorf("messages: %d codes (sent %d), %d code_limit notices, newest %s; want one notice with the last code", codes, sent, limits, ms[0].Template)
		}
	})
}

// TestHelpTooLongSaysTheLimit: an over-long description or identifier is
// field_too_long whose message states the limit (docs/api.md: params are
// public only where listed, and field_too_long lists none).
func TestHelpTooLongSaysTheLimit(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		s, _ := helpService(e)
		_, err := s.Start(context.Background(), e.JP, flowtest.Req("198.51.100.7", ""), help.Input{
			Step: "other", Identifier: strings.Repeat("a", help.MaxIdentifier+1), Description: strings.Repeat("字", help.MaxDescription+1), Contact: "a@example.net",
		})
		flowtest.WantRefusals(t, err, "field_too_long/identifier", "field_too_long/description")
		for _, p := range httperr.FieldProblems(err, "en") {
			want := map[string]int{"identifier": help.MaxIdentifier, "description": help.MaxDescription}[p.Field]
			if !strings.Contains(p.Message, fmt.Sprintf("no more than %d characters", want)) || p.Params != nil {
				t.Errorf("%s: %q (params %v), want the limit %d in the message and no params", p.Field, p.Message, p.Params, want)
			}
		}
	})
}
