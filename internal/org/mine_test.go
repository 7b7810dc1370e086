package org

import (
	"testing"
	"time"
)

// TestMineCacheDropsStaleAnswers: an answer read before a change committed
// is not remembered, and a change retires what was remembered.
func TestMineCacheDropsStaleAnswers(t *testing.T) {
	var c mineCache
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	k := mineKey{"jp", "a"}
	affs := []Affiliation{{Role: RoleOwner}}

	gen := c.gen.Load() // a Mine starts reading…
	c.drop()            // …a change commits meanwhile…
	c.put(k, affs, gen, now)
	if _, ok := c.get(k, now); ok {
		t.Fatal("an answer read before a change was remembered")
	}

	c.put(k, affs, c.gen.Load(), now)
	if got, ok := c.get(k, now.Add(MineTTL-time.Nanosecond)); !ok || len(got) != 1 {
		t.Fatalf("get within MineTTL = %v, %v", got, ok)
	}
	if _, ok := c.get(k, now.Add(MineTTL)); ok {
		t.Error("an answer outlived MineTTL")
	}
	c.drop()
	if _, ok := c.get(k, now); ok {
		t.Error("a change did not retire the answer")
	}
}
