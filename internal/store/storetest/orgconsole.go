package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/org"
)

// OrgConsoleStores are the stores the console reads organisations from.
type OrgConsoleStores interface {
	OrgStores
	ListOrgs(ctx context.Context, realm string, status org.Status, limit int) ([]*org.Organisation, error)
	OrgEvents(ctx context.Context, realm, orgID string, limit int) ([]*event.Event, error)
}

// OrgConsole checks the console's reading of organisations: ListOrgs
// lists a realm's organisations newest first, filtered by status and
// bounded; OrgEvents lists the org.* events of one organisation (not of
// another, whose id differs, nor other types, nor another realm's),
// newest first and bounded.
func OrgConsole(t *testing.T, open func(tb testing.TB) OrgConsoleStores) {
	ctx := context.Background()
	s := open(t)
	a := MustCreateAccount(t, s, NewAccount("jp", "owner@example.jp", ""))
	old, pending, other := NewOrg("jp", a.ID), NewOrg("jp", a.ID), NewOrg("us", a.ID)
	pending.Kind, pending.Status, pending.ApprovalHash, pending.ApprovalExpiresAt = org.KindBusiness, org.StatusPending, NewHash(), at(7*24*time.Hour)
	pending.CreatedAt = at(time.Minute)
	for _, o := range []*org.Organisation{old, pending, other} {
		mustNil(t, "CreateOrg", s.CreateOrg(ctx, o))
	}
	list, err := s.ListOrgs(ctx, "jp", "", 10)
	mustNil(t, "ListOrgs", err)
	if len(list) != 2 || list[0].ID != pending.ID || list[1].ID != old.ID {
		t.Errorf("ListOrgs = %s, want the pending one then the old one", show(list))
	}
	if list, _ := s.ListOrgs(ctx, "jp", org.StatusPending, 10); len(list) != 1 || list[0].ID != pending.ID {
		t.Errorf("ListOrgs pending = %s", show(list))
	}
	if list, _ := s.ListOrgs(ctx, "jp", "", 1); len(list) != 1 {
		t.Errorf("ListOrgs limit 1 = %d rows", len(list))
	}

	add := func(realm, typ, orgID string, d time.Duration) *event.Event {
		e := &event.Event{ID: NewID(), Realm: realm, AccountID: a.ID, Type: typ, Actor: "account:" + a.ID,
			Data: map[string]any{"org": orgID, "role": "owner"}, At: at(d)}
		mustNil(t, "AppendEvent", s.AppendEvent(ctx, e))
		return e
	}
	first := add("jp", event.TypeOrgCreated, old.ID, time.Second)
	second := add("jp", event.TypeOrgInvited, old.ID, 2*time.Second)
	add("jp", event.TypeOrgCreated, pending.ID, 3*time.Second)
	add("jp", event.TypeSigninSucceeded, old.ID, 4*time.Second)
	add("us", event.TypeOrgCreated, old.ID, 5*time.Second)
	evs, err := s.OrgEvents(ctx, "jp", old.ID, 10)
	mustNil(t, "OrgEvents", err)
	if len(evs) != 2 || evs[0].ID != second.ID || evs[1].ID != first.ID {
		t.Errorf("OrgEvents = %s, want the invitation then the creation", show(evs))
	}
	if evs, _ := s.OrgEvents(ctx, "jp", old.ID, 1); len(evs) != 1 || evs[0].ID != second.ID {
		t.Errorf("OrgEvents limit 1 = %s", show(evs))
	}
}
