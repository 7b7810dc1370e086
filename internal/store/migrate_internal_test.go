package store

import (
	"io/fs"
	"regexp"
	"testing"
)

// binaryColumn matches a column definition of a binary type.
var binaryColumn = regexp.MustCompile(`(?m)^\s+\w+\s+(BLOB|BYTEA)\b`)

func TestMigrationRewrite(t *testing.T) {
	cases := []struct {
		d    dialect
		want string
	}{
		{sqliteDialect, "BLOB"},
		{postgresDialect, "BYTEA"},
	}
	for _, tc := range cases {
		fsys, err := migrationFS(tc.d)
		if err != nil {
			t.Fatalf("migrationFS(%s): %v", tc.d.name, err)
		}
		b, err := fs.ReadFile(fsys, "00001_init.sql")
		if err != nil {
			t.Fatalf("%s: %v", tc.d.name, err)
		}
		cols := binaryColumn.FindAllStringSubmatch(string(b), -1)
		if len(cols) == 0 {
			t.Errorf("%s migration: got no binary columns, want some", tc.d.name)
		}
		for _, c := range cols {
			if c[1] != tc.want {
				t.Errorf("%s migration: got column %q, want type %s", tc.d.name, c[0], tc.want)
			}
		}
	}
}

func TestRedactURL(t *testing.T) {
	cases := []struct{ in, want string }{
		{"postgres://u:secret@h:5432/db?x=1", "postgres://u:xxxxx@h:5432/db?x=1"},
		{"postgres://u@h/db", "postgres://u@h/db"},
		{"postgres://h/db", "postgres://h/db"},
	}
	for _, tc := range cases {
		if got := redactURL(tc.in); got != tc.want {
			t.Errorf("redactURL(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
}
