package authflow

import "github.com/ninsho/ninsho/internal/flow"

// TakePassedSecondFactor returns the method of the second factor f passed
// at a gate (SecondFactor.Before), "" when none, and forgets it: it counts
// for one use. A flow that completes without a session (re-authentication)
// reads it where Complete would.
func TakePassedSecondFactor(f *flow.Flow) string {
	m, _ := passed(f)
	return m
}
