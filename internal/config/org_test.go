package config

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// realms[].organisations: approvers are required with business_approval,
// each an e-mail address, at most MaxApprovers; they are normalised.
func TestRealmOrganisations(t *testing.T) {
	many := make([]string, MaxApprovers+1)
	for i := range many {
		many[i] = "a@example.jp"
	}
	for _, tt := range []struct {
		name string
		o    RealmOrganisations
		ok   bool
	}{
		{"off", RealmOrganisations{}, true},
		{"off with approvers", RealmOrganisations{Approvers: []string{"staff@example.jp"}}, true},
		{"on", RealmOrganisations{BusinessApproval: true, Approvers: []string{"staff@example.jp"}}, true},
		{"on without approvers", RealmOrganisations{BusinessApproval: true}, false},
		{"not an address", RealmOrganisations{BusinessApproval: true, Approvers: []string{"09012345678"}}, false},
		{"too many", RealmOrganisations{BusinessApproval: true, Approvers: many}, false},
	} {
		c := Default()
		c.Realms[0].Organisations = tt.o
		err := c.Validate()
		if tt.ok && err != nil {
			t.Errorf("%s: Validate() = %v, want nil", tt.name, err)
		}
		if !tt.ok && (err == nil || !strings.Contains(err.Error(), "realms[0].organisations.approvers")) {
			t.Errorf("%s: Validate() = %v, want an error naming realms[0].organisations.approvers", tt.name, err)
		}
	}
	var r Realm
	if err := json.Unmarshal([]byte(`{"organisations": {"business_approval": true, "approvers": ["Staff@Example.JP"]}}`), &r); err != nil ||
		!r.Organisations.BusinessApproval || !slices.Equal(r.Organisations.Normalized(), []string{"staff@example.jp"}) {
		t.Errorf("organisations read as %+v (%v), normalised %v", r.Organisations, err, r.Organisations.Normalized())
	}
}
