package store

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestNotifyUnsupported: the errors of an engine without pg_notify or
// LISTEN (CockroachDB's undefined function, YugabyteDB's feature not
// supported) turn notices off; any other error does not.
func TestNotifyUnsupported(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&pgconn.PgError{Code: "42883", Message: "unknown function: pg_notify()"}, true},
		{fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: "0A000"}), true},
		{&pgconn.PgError{Code: "42601"}, true},
		{&pgconn.PgError{Code: "08006"}, false}, // connection failure
		{&pgconn.PgError{Code: "22023"}, false}, // payload too long
		{errors.New("eof"), false},
	} {
		if got := notifyUnsupported(tc.err); got != tc.want {
			t.Errorf("notifyUnsupported(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
