package realm

import (
	"sync"
	"testing"
)

func TestRegistryReplace(t *testing.T) {
	jp := &Realm{ID: "jp", Name: "ショップ", Hosts: []string{"ID.example.jp"}}
	us := &Realm{ID: "us", Name: "Shop", Hosts: []string{"id.example.com"}}
	r := NewRegistry([]*Realm{jp, us})
	if r.ForHost("id.example.jp:8443") != jp || r.ForHost("other.example") != jp || r.ByID("us") != us || !r.Known("id.example.com") {
		t.Fatal("before Replace")
	}
	jp2 := &Realm{ID: "jp", Name: "New name", Hosts: []string{"login.example.jp"}}
	kr := &Realm{ID: "kr", Name: "KR", Hosts: []string{"id.example.kr"}}
	jp2.HintRealms = []*Realm{kr}
	r.Replace([]*Realm{jp2, us, kr})
	if got := r.ByID("jp"); got != jp2 || got.Name != "New name" {
		t.Errorf("ByID jp = %+v", got)
	}
	if r.Known("id.example.jp") || !r.Known("login.example.jp") || r.ForHost("id.example.kr") != kr {
		t.Error("hosts not swapped")
	}
	if r.ForHost("unknown.example") != jp2 {
		t.Error("the fallback is the new first realm")
	}
	all := r.All()
	if len(all) != 3 || all[0] != jp2 || all[1] != us || all[2] != kr {
		t.Errorf("All = %v, want jp, us, kr in order", all)
	}
	all[0] = nil // the caller's copy
	if r.All()[0] != jp2 {
		t.Error("All shares its slice")
	}
	if jp.Name != "ショップ" || jp.Hosts[0] != "ID.example.jp" {
		t.Error("a realm handed out earlier changed")
	}
	if got := NewRegistry(nil).All(); len(got) != 1 || got[0] != nil {
		t.Errorf("empty registry All = %v, want [nil]", got)
	}
}

// Readers and Replace at once (go test -race): every read sees one whole
// snapshot.
func TestRegistryReplaceConcurrent(t *testing.T) {
	a := []*Realm{{ID: "a", Hosts: []string{"a.example"}}, {ID: "b", Hosts: []string{"b.example"}}}
	b := []*Realm{{ID: "a", Hosts: []string{"a2.example"}}, {ID: "b", Hosts: []string{"b.example"}}}
	r := NewRegistry(a)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				rl := r.ForHost("b.example")
				if rl == nil || rl.ID != "b" || len(r.All()) != 2 {
					t.Error("a torn read")
					return
				}
			}
		}()
	}
	for i := range 1000 {
		if i%2 == 0 {
			r.Replace(b)
		} else {
			r.Replace(a)
		}
	}
	close(stop)
	wg.Wait()
}
