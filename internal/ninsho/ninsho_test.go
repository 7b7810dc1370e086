package ninsho

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
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

func TestNewSeededRandom(t *testing.T) {
	read := func(r Random, n int) []byte {
		b := make([]byte, n)
		ReadRandom(r, b)
		return b
	}
	a, b := NewSeededRandom(7), NewSeededRandom(7)
	first := read(a, 64)
	if got := read(b, 64); !bytes.Equal(got, first) {
		t.Errorf("same seed: got %x, want %x", got, first)
	}
	if got := read(NewSeededRandom(8), 64); bytes.Equal(got, first) {
		t.Errorf("seeds 7 and 8 gave the same bytes %x", got)
	}
	if got := read(a, 64); bytes.Equal(got, first) {
		t.Errorf("the stream repeated its first 64 bytes")
	}

	// Concurrent readers share one stream: together they read exactly the
	// bytes one reader would (run with -race to check the locking).
	const readers, each = 8, 1000
	shared, alone := NewSeededRandom(9), NewSeededRandom(9)
	got := make([][]byte, readers)
	var wg sync.WaitGroup
	for i := range readers {
		wg.Go(func() {
			for range each {
				got[i] = append(got[i], read(shared, 8)...)
			}
		})
	}
	wg.Wait()
	want := map[string]int{}
	for range readers * each {
		want[string(read(alone, 8))]++
	}
	for _, g := range got {
		for i := 0; i < len(g); i += 8 {
			want[string(g[i:i+8])]--
		}
	}
	for k, n := range want {
		if n != 0 {
			t.Fatalf("chunk %x: read %d times more alone than shared, want the same chunks", k, n)
		}
	}
}

func TestFieldsCollectsEveryRefusedField(t *testing.T) {
	if err := Fields(nil, nil); err != nil {
		t.Fatalf("Fields(nil, nil) = %v, want nil", err)
	}
	err := Fields(
		FieldError(CodeFieldRequired, "identifier"),
		nil,
		FieldError(CodeFieldRequired, "name"),
		Fields(FieldError(CodePasswordTooShort, "password").WithParam("min", 8), FieldError(CodePasswordMismatch, "password_confirmation")),
	)
	e := ErrorOf(err)
	if e.Code != CodeFieldRequired || e.Field != "identifier" {
		t.Errorf("first = %s %s, want field_required identifier (the top-level code stays the first field's)", e.Code, e.Field)
	}
	var got []string
	for _, x := range e.All() {
		got = append(got, string(x.Code)+"/"+x.Field)
	}
	want := []string{"field_required/identifier", "field_required/name", "password_too_short/password", "password_mismatch/password_confirmation"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("All() = %v, want %v", got, want)
	}
	if e.More[1].Params["min"] != 8 {
		t.Errorf("params of a further field lost: %v", e.More[1].Params)
	}
	if s := err.Error(); s != "ninsho: field_required (field identifier); field_required (field name); password_too_short (field password); password_mismatch (field password_confirmation)" {
		t.Errorf("Error() = %q", s)
	}
	if !IsCode(err, CodeFieldRequired) {
		t.Error("IsCode does not see the first refusal")
	}

	single := FieldError(CodeNameInvalid, "name")
	if e := ErrorOf(Fields(nil, single)); e.Code != CodeNameInvalid || len(e.More) != 0 {
		t.Errorf("one refusal = %+v", e)
	}
	// An error about the request, not a field, wins alone: nothing about
	// the input can be said until it is resolved.
	internal := Internal("boom")
	if got := Fields(FieldError(CodeFieldRequired, "name"), internal); got != error(internal) {
		t.Errorf("Fields with an internal error = %v, want the internal error alone", got)
	}
	if (*Error)(nil).All() != nil {
		t.Error("nil.All() != nil")
	}
}

func TestOffsetClock(t *testing.T) {
	var c OffsetClock
	before := time.Now().UTC()
	if got := c.Now(); got.Before(before) || got.Location() != time.UTC {
		t.Errorf("zero OffsetClock.Now() = %v, want real time in UTC (not before %v)", got, before)
	}
	c.Advance(time.Hour)
	if got := c.Now(); got.Before(before.Add(time.Hour)) || got.After(time.Now().UTC().Add(time.Hour+time.Second)) {
		t.Errorf("after Advance(1h): %v, want real time plus an hour", got)
	}
}

func TestErrorOfFindsAnOutageUnderInternal(t *testing.T) {
	out := Unavailable(errors.New("conn closed"))
	for _, tc := range []struct {
		err  error
		want Code
	}{
		{out, CodeUnavailable},
		{Internal("signup: %w", out), CodeUnavailable},
		{Internal("a: %w", Internal("b: %w", StorageFull(errors.New("disk full")))), CodeStorageFull},
		{fmt.Errorf("plain: %w", out), CodeUnavailable},
		{Internal("x: %w", E(CodeCodeIncorrect)), CodeInternal},
		{Internal("boom"), CodeInternal},
	} {
		if got := CodeOf(tc.err); got != tc.want {
			t.Errorf("CodeOf(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
