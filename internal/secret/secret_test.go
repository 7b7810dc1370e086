package secret

import (
	"bytes"
	"crypto/rand"
	"testing"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func TestHasherSeparatesPurposesAndParts(t *testing.T) {
	h, err := NewHasher(key(1))
	if err != nil {
		t.Fatal(err)
	}
	a := h.Hash("code", "flow", "123456")
	if !Equal(a, h.Hash("code", "flow", "123456")) {
		t.Error("the same input hashes differently")
	}
	for _, other := range [][]byte{
		h.Hash("session", "flow", "123456"),
		h.Hash("code", "flow1", "23456"),
		h.Hash("code", "flow123456"),
	} {
		if Equal(a, other) {
			t.Error("different inputs collide")
		}
	}
	h2, _ := NewHasher(key(2))
	if Equal(a, h2.Hash("code", "flow", "123456")) {
		t.Error("another key gives the same hash")
	}
	if _, err := NewHasher([]byte("short")); err == nil {
		t.Error("NewHasher accepted a short key")
	}
}

func TestBoxRotatesKeys(t *testing.T) {
	old, err := NewBox(rand.Reader, key(1))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := old.Seal([]byte("code 123456"), []byte("msg-1"))
	if err != nil {
		t.Fatal(err)
	}
	rotated, _ := NewBox(rand.Reader, key(2), key(1))
	got, err := rotated.Open(sealed, []byte("msg-1"))
	if err != nil || string(got) != "code 123456" {
		t.Fatalf("Open after rotation = %q, %v", got, err)
	}
	if _, err := rotated.Open(sealed, []byte("msg-2")); err != ErrOpen {
		t.Errorf("Open with other additional data = %v, want ErrOpen", err)
	}
	resealed, _ := rotated.Seal([]byte("x"), nil)
	if _, err := old.Open(resealed, nil); err != ErrOpen {
		t.Errorf("the old key opened a value sealed under the new one: %v", err)
	}
	for _, bad := range [][]byte{nil, {1, 2, 3}, bytes.Repeat([]byte{0}, 40)} {
		if _, err := rotated.Open(bad, nil); err != ErrOpen {
			t.Errorf("Open(%x) = %v, want ErrOpen", bad, err)
		}
	}
	if _, err := NewBox(rand.Reader, []byte("short")); err == nil {
		t.Error("NewBox accepted a short key")
	}
}
