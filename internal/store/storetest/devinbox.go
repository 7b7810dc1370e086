package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/message/providers/devinbox"
)

// DevInbox checks devinbox.Store: saving is idempotent per id, and listing
// is newest first, per recipient or for all, bounded.
func DevInbox(t *testing.T, open func(tb testing.TB) Stores) {
	ctx := context.Background()
	s := open(t)
	newMessage := func(to string, d time.Duration) *devinbox.Message {
		return &devinbox.Message{
			ID: NewID(), Realm: "jp", Channel: "email", To: to, Locale: "ja", Template: "signup_code",
			Subject: "確認コード", Text: "コード: 123456", HTML: "<p>123456</p>", Code: "123456", CreatedAt: at(d),
		}
	}
	ms := []*devinbox.Message{
		newMessage("hanako@example.jp", 0),
		newMessage("+819012345678", time.Minute),
		newMessage("hanako@example.jp", 2*time.Minute),
	}
	for _, m := range ms {
		mustNil(t, "SaveDevMessage", s.SaveDevMessage(ctx, m))
	}
	dup := *ms[0]
	dup.Subject = "again"
	mustNil(t, "SaveDevMessage of the same id", s.SaveDevMessage(ctx, &dup))

	cases := []struct {
		name  string
		to    string
		limit int
		want  []*devinbox.Message
	}{
		{"recipient", "hanako@example.jp", 10, []*devinbox.Message{ms[2], ms[0]}},
		{"recipient, limited", "hanako@example.jp", 1, []*devinbox.Message{ms[2]}},
		{"all", "", 10, []*devinbox.Message{ms[2], ms[1], ms[0]}},
		{"unknown recipient", "nobody@example.jp", 10, nil},
	}
	for _, tc := range cases {
		got, err := s.DevMessages(ctx, tc.to, tc.limit)
		mustNil(t, "DevMessages", err)
		if len(got) == 0 && len(tc.want) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("DevMessages(%s):\ngot  %s\nwant %s", tc.name, show(got), show(tc.want))
		}
	}
}
