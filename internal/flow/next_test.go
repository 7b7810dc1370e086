package flow_test

import (
	"encoding/json"
	"testing"

	"github.com/ninsho/ninsho/internal/flow"
)

// TestSecondFactorNextJSON: the second-factor step reaches API clients with
// its method and alternatives under the names docs/api.md gives them.
func TestSecondFactorNextJSON(t *testing.T) {
	b, err := json.Marshal(&flow.Next{Step: flow.StepSecondFactor, Method: "totp", Alternatives: []string{"backup_code"}, AttemptsLeft: 5})
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"step":"second_factor","method":"totp","alternatives":["backup_code"],"attempts_left":5}`
	if string(b) != want {
		t.Errorf("next = %s, want %s", b, want)
	}
}
