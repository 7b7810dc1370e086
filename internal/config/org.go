package config

import (
	"fmt"

	"github.com/ninsho/ninsho/internal/identifier"
)

// RealmOrganisations is a realm's settings of organisations
// (realms[].organisations, internal/org).
type RealmOrganisations struct {
	// BusinessApproval makes every new business organisation wait for an
	// approval before it can invite members: an approval link goes by
	// e-mail to Approvers, and staff can decide in the console.
	BusinessApproval bool `json:"business_approval"`
	// Approvers are the e-mail addresses the approval requests go to;
	// required (at least one, at most MaxApprovers) when BusinessApproval
	// is on.
	Approvers []string `json:"approvers,omitempty"`
}

// MaxApprovers bounds realms[].organisations.approvers.
const MaxApprovers = 20

// problems returns what is wrong with the settings of realms[i].
func (o RealmOrganisations) problems(i int) []error {
	var out []error
	if o.BusinessApproval && len(o.Approvers) == 0 {
		out = append(out, fmt.Errorf("realms[%d].organisations.approvers: required when business_approval is on (the e-mail addresses that approve business organisations)", i))
	}
	if len(o.Approvers) > MaxApprovers {
		out = append(out, fmt.Errorf("realms[%d].organisations.approvers: at most %d addresses", i, MaxApprovers))
	}
	for j, a := range o.Approvers {
		id, err := identifier.Parse(a, "")
		if err != nil || id.Kind != identifier.KindEmail {
			out = append(out, fmt.Errorf("realms[%d].organisations.approvers[%d]: %q is not an e-mail address", i, j, a))
		}
	}
	return out
}

// Normalized returns the approvers' addresses as identifier stores them.
func (o RealmOrganisations) Normalized() []string {
	var out []string
	for _, a := range o.Approvers {
		if id, err := identifier.Parse(a, ""); err == nil && id.Kind == identifier.KindEmail {
			out = append(out, id.Value)
		}
	}
	return out
}
