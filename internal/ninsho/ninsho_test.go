package ninsho

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestNewIDIsUUIDv7InTimeOrder(t *testing.T) {
	c := NewManualClock(time.Date(2026, 11, 25, 1, 2, 3, 0, time.UTC))
	prev := ""
	for i := 0; i < 100; i++ {
		id := NewID(c, SecureRandom)
		if !ValidID(id) {
			t.Fatalf("ValidID(%q) = false", id)
		}
		if id[14] != '7' || (id[19] != '8' && id[19] != '9' && id[19] != 'a' && id[19] != 'b') {
			t.Fatalf("%q: version or variant is wrong", id)
		}
		if id <= prev {
			t.Fatalf("%q sorts before the earlier %q", id, prev)
		}
		prev = id
		c.Advance(time.Millisecond)
	}
}

func TestValidIDRefusesOtherShapes(t *testing.T) {
	for _, s := range []string{"", "x", "01a2107b-0fba-7b02-bb24-795ab0397e9", "01A2107B-0FBA-7B02-BB24-795AB0397E98",
		"01a2107b_0fba-7b02-bb24-795ab0397e98", "../../../../etc/passwd/../../../../aaaa"} {
		if ValidID(s) {
			t.Errorf("ValidID(%q) = true, want false", s)
		}
	}
}

func TestErrorMatchingAndWrapping(t *testing.T) {
	cause := errors.New("disk on fire")
	err := fmt.Errorf("outer: %w", E(CodeFlowExpired).Wrap(cause))
	if !errors.Is(err, E(CodeFlowExpired)) {
		t.Error("errors.Is does not match the same code")
	}
	if errors.Is(err, E(CodeFlowNotFound)) {
		t.Error("errors.Is matches another code")
	}
	if !errors.Is(err, cause) {
		t.Error("the cause is not reachable with errors.Is")
	}
	if got := CodeOf(err); got != CodeFlowExpired {
		t.Errorf("CodeOf = %q", got)
	}
	if got := CodeOf(errors.New("plain")); got != CodeInternal {
		t.Errorf("CodeOf(plain error) = %q, want internal", got)
	}
	if CodeOf(nil) != "" || ErrorOf(nil) != nil {
		t.Error("nil error has a code")
	}
	fe := FieldError(CodeCodeIncorrect, "code").WithParam("attempts_left", 3)
	if fe.Field != "code" || fe.Params["attempts_left"] != 3 {
		t.Errorf("FieldError = %+v", fe)
	}
}

func TestTokenLengthAndAlphabet(t *testing.T) {
	tok := Token(SecureRandom, 32)
	if len(tok) != 43 {
		t.Errorf("len(Token(32)) = %d, want 43", len(tok))
	}
	for _, r := range tok {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			t.Fatalf("token %q has %q outside base64url", tok, r)
		}
	}
}

func TestNewIDIsMonotonicWhenTheClockStandsStill(t *testing.T) {
	c := NewManualClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	prev := NewID(c, SecureRandom)
	for i := 0; i < 5000; i++ { // more than the 4,096 a millisecond holds
		id := NewID(c, SecureRandom)
		if id <= prev {
			t.Fatalf("id %d: %q does not sort after %q", i, id, prev)
		}
		prev = id
	}
}
