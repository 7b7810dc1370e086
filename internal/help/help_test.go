package help

import "testing"

// TestQuotedRef: a case reference is read as people type it, a request id
// as hexadecimal digits and hyphens; anything else is no reference.
func TestQuotedRef(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"s 7kp4 mx3c", "S-7KP4-MX3C"},
		{"Ｈ－７ＫＰ４－ＭＸ３Ｃ", "H-7KP4-MX3C"},
		{" 01A2107B-0C3D-7E4F-8A9B-0C1D2E3F4A5B ", "01a2107b-0c3d-7e4f-8a9b-0c1d2e3f4a5b"},
		{"<script>", ""},
		{"", ""},
		{"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0", ""},
	} {
		if got := QuotedRef(tt.in); got != tt.want {
			t.Errorf("QuotedRef(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	for _, s := range Steps {
		if !s.Valid() {
			t.Errorf("%s not valid", s)
		}
	}
	if Step("everything").Valid() || Step("").Valid() {
		t.Errorf("an unknown step is valid")
	}
}
