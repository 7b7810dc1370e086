package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/ninsho/ninsho/internal/recovery/recoverytest"
)

// TestRecoveryFormAllOrNothing: the upload form checks every file before it
// keeps any — a valid front with an invalid back is refused (400) and the
// front is not stored either.
func TestRecoveryFormAllOrNothing(t *testing.T) {
	h, env := newRecoveryWeb(t)
	b := jar{}
	b.take(t, get(h, "/recovery").Result())
	rec := post(h, "/recovery", url.Values{"identifier": {"hanako@example.jp"}, "password": {pw}}, b.header()...)
	b.take(t, rec.Result())
	flowID := strings.TrimPrefix(rec.Header().Get("Location"), "/recovery?flow=")
	html := "<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
	rec = multipartPost(h, "/recovery/documents",
		[][2]string{{"flow", flowID}, {"document_type", "drivers_license"}, {"action", "submit_documents"}},
		[][3]string{{"front", "front.png", string(recoverytest.MustPNG(t))}, {"back", "back.pdf", html}}, b.header()...)
	if rec.Code != 400 || strings.Contains(rec.Body.String(), `data-slot="front"`) {
		t.Fatalf("valid front, invalid back: %d\n%s", rec.Code, rec.Body)
	}
	f, err := env.DB.Flow(context.Background(), flowID)
	if err != nil {
		t.Fatal(err)
	}
	c, err := env.DB.Case(context.Background(), "jp", f.Get("case"))
	if err != nil {
		t.Fatal(err)
	}
	if docs, _ := env.DB.Documents(context.Background(), c.ID); len(docs) != 0 {
		t.Fatalf("stored %d documents of a refused form, want none", len(docs))
	}
	// The same form with a valid back keeps both.
	rec = multipartPost(h, "/recovery/documents",
		[][2]string{{"flow", flowID}, {"document_type", "drivers_license"}, {"action", ""}},
		[][3]string{{"front", "front.png", string(recoverytest.MustPNG(t))}, {"back", "back.pdf", string(recoverytest.MinimalPDF())}}, b.header()...)
	if rec.Code != 303 {
		t.Fatalf("valid form: %d\n%s", rec.Code, rec.Body)
	}
	if docs, _ := env.DB.Documents(context.Background(), c.ID); len(docs) != 2 {
		t.Fatalf("stored %d documents, want 2", len(docs))
	}
}
