package storetest

import "testing"

// All runs every conformance suite against the stores open returns, the
// suites in parallel. open must return fresh, empty stores on every call and
// be safe for concurrent use.
func All(t *testing.T, open func(tb testing.TB) Stores) {
	suites := []struct {
		name string
		run  func(*testing.T, func(testing.TB) Stores)
	}{
		{"Tx", Tx},
		{"Account", Account},
		{"Flow", Flow},
		{"Code", Code},
		{"Session", Session},
		{"Device", Device},
		{"Event", Event},
		{"Message", Message},
		{"DevInbox", DevInbox},
		{"Throttle", Throttle},
		{"Captcha", Captcha},
		{"Lockout", Lockout},
		{"CodeGuard", CodeGuard},
		{"Retention", Retention},
		{"CommitHooks", CommitHooks},
		{"Backlog", Backlog},
		{"TwoStep", TwoStep},
		{"Trust", Trust},
		{"Sessions", Sessions},
		{"Help", Help},
	}
	for _, s := range suites {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			s.run(t, open)
		})
	}
}
