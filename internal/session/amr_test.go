package session_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/session"
)

func TestCodeMethod(t *testing.T) {
	for ch, want := range map[string]string{"email": "email", "sms": "sms", "voice": "tel", "": "", "fax": ""} {
		if got := session.CodeMethod(ch); got != want {
			t.Errorf("CodeMethod(%q) = %q, want %q", ch, got, want)
		}
	}
}

func TestReadMethods(t *testing.T) {
	cases := []struct{ stored, want []string }{
		{[]string{"password"}, []string{"pwd"}},
		{[]string{"password", "email_code"}, []string{"pwd", "email"}},
		{[]string{"password", "sms_code"}, []string{"pwd", "sms"}},
		{[]string{"sms_code"}, []string{"sms"}},
		{[]string{"pwd", "otp"}, []string{"pwd", "otp"}},
		{[]string{"pwd", "hwk"}, []string{"pwd", "hwk"}},
		{nil, nil},
	}
	for _, tc := range cases {
		in := fmt.Sprint(tc.stored)
		if got := session.ReadMethods(tc.stored); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("ReadMethods(%s) = %q, want %q", in, got, tc.want)
		}
	}
}

func TestRecent(t *testing.T) {
	at := time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)
	s := &session.Session{AuthenticatedAt: at}
	window := 10 * time.Minute
	cases := []struct {
		name   string
		s      *session.Session
		now    time.Time
		window time.Duration
		want   bool
	}{
		{"just now", s, at, window, true},
		{"inside the window", s, at.Add(window - time.Microsecond), window, true},
		{"at the end of the window", s, at.Add(window), window, false},
		{"long after", s, at.Add(24 * time.Hour), window, false},
		{"a little in the future (clock difference)", s, at.Add(-time.Second), window, true},
		{"no window", s, at, 0, false},
		{"never authenticated", &session.Session{}, at, window, false},
		{"no session", nil, at, window, false},
	}
	for _, tc := range cases {
		if got := session.Recent(tc.s, tc.now, tc.window); got != tc.want {
			t.Errorf("%s: Recent = %v, want %v", tc.name, got, tc.want)
		}
	}
}
