package desk_test

import (
	"context"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/caseref"
	"github.com/ninsho/ninsho/internal/desk"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/staff"
)

// helpCases stands for a later package (help requests) that plugs into the
// desk: its cases appear in timelines and its references find accounts.
type helpCases struct{ accountID string }

func (h helpCases) Timeline(ctx context.Context, a *account.Account, limit int) ([]desk.Entry, error) {
	if a.ID != h.accountID {
		return nil, nil
	}
	return []desk.Entry{{At: flowtest.Epoch.Add(time.Hour), Kind: "help_request", Type: "opened", Actor: "anonymous",
		Details: []desk.Detail{{Label: "reference", Value: "H-AAAA-AAAA"}}}}, nil
}

func (h helpCases) FindReference(ctx context.Context, ref string, kind byte) (string, bool, error) {
	if kind != caseref.KindHelp || ref != "H-AAAA-AAAA" {
		return "", false, nil
	}
	return h.accountID, true, nil
}

func TestSourcesAndFinders(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, "hanako@example.jp", "sakura-fubuki-2026", "hanako@example.jp")
		a, _ := e.DB.AccountByEmail(ctx, "jp", "hanako@example.jp")
		h := helpCases{accountID: a.ID}
		d := &desk.Service{Kit: e.Kit, Realms: e.Realms, Locks: e.DB, Suspensions: e.DB, Resets: e.DB, Lookup: e.DB,
			Sources: []desk.Source{h}, Finders: []desk.Finder{h}}
		p := &staff.Principal{Staff: &staff.Staff{ID: ninsho.NewID(e.Clock, e.Kit.Random), Role: staff.RoleAgent}}
		ms, err := d.Find(ctx, p, "", "h aaaa aaaa")
		if err != nil || len(ms) != 1 || ms[0].Account.ID != a.ID || ms[0].Via != desk.ViaReference {
			t.Fatalf("Find(help reference): %+v %v", ms, err)
		}
		e.Clock.Advance(2 * time.Hour)
		tl, err := d.Timeline(ctx, p, a)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for i, en := range tl {
			kinds = append(kinds, en.Kind)
			if i > 0 && en.At.After(tl[i-1].At) {
				t.Errorf("timeline not newest first at %d", i)
			}
		}
		found := false
		for _, en := range tl {
			found = found || en.Kind == "help_request"
		}
		if !found || len(tl) < 3 {
			t.Errorf("timeline kinds %v: want the sign-up's events, its code message and the help request", kinds)
		}
		// Another staff member without the permission sees nothing.
		_, err = d.Timeline(ctx, &staff.Principal{Staff: &staff.Staff{Role: "nobody"}}, a)
		flowtest.WantCode(t, err, ninsho.CodeForbidden)
		err = d.Unlock(ctx, &staff.Principal{Staff: &staff.Staff{Role: "nobody"}}, ninsho.Request{}, a.ID, "x")
		flowtest.WantCode(t, err, ninsho.CodeForbidden)
	})
}
