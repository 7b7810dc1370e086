package devinbox_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/message/providers/devinbox"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/secret"
)

// TestReportEndpoint: POST /dev/api/messages/{id}/delivery plays a
// provider's report through message.Reports: undelivered is recorded once
// (a replay changes nothing), queued, unknown statuses and malformed
// bodies are 400, and without Reports the route is 404.
func TestReportEndpoint(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	clock := ninsho.NewManualClock(t0)
	random := ninsho.NewSeededRandom(1)
	box, err := secret.NewBox(random, []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	templates, err := message.DefaultTemplates()
	if err != nil {
		t.Fatal(err)
	}
	m, err := message.NewOutbox(s.DB, box, templates, clock, random).Enqueue(ctx, "jp", message.ChannelSMS, "+819012345678",
		message.TemplateTwoStepCode, "ja", map[string]string{"code": "123456", "host": "id.example.jp", "minutes": "10", "name": "", "base_url": "https://id.example.jp"})
	if err != nil {
		t.Fatal(err)
	}
	h := devinbox.NewHandler(s)
	postAs := func(ctype, id, body string) (int, string) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/dev/api/messages/"+id+"/delivery", strings.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		h.ServeHTTP(rec, req)
		return rec.Code, strings.TrimSpace(rec.Body.String())
	}
	post := func(id, body string) (int, string) { return postAs("application/json", id, body) }
	if code, _ := post(m.ID, `{"status":"undelivered"}`); code != http.StatusNotFound {
		t.Errorf("without Reports: %d, want 404", code)
	}
	h.Reports = &message.Reports{Store: s.DB, Clock: clock}
	for _, body := range []string{`{"status":"queued"}`, `{"status":"lost"}`, `not json`, ``, `null`, `{}`, `[]`,
		`{"status":"undelivered","extra":1}`, `{"status":"undelivered"} {}`, `{"status":"undelivered"}x`,
		`{"status":"undelivered"}` + strings.Repeat(" ", 5000)} {
		if code, got := post(m.ID, body); code != http.StatusBadRequest || got != `{"error":"request_invalid"}` {
			t.Errorf("body %q: %d %s, want 400 request_invalid", body, code, got)
		}
	}
	for _, ctype := range []string{"", "text/plain", "application/x-www-form-urlencoded", "application/jsonx"} {
		if code, got := postAs(ctype, m.ID, `{"status":"undelivered"}`); code != http.StatusBadRequest || got != `{"error":"request_invalid"}` {
			t.Errorf("Content-Type %q: %d %s, want 400 request_invalid", ctype, code, got)
		}
	}
	// An id that names no message is 400 as documented, not {"changed": false}.
	for _, id := range []string{ninsho.NewID(clock, random), "nope"} {
		if code, got := post(id, `{"status":"undelivered"}`); code != http.StatusBadRequest || got != `{"error":"request_invalid"}` {
			t.Errorf("id %q: %d %s, want 400 request_invalid", id, code, got)
		}
	}
	if d, err := s.DB.Delivery(ctx, m.ID); err != nil || d.Status == message.DeliveryUndelivered {
		t.Fatalf("refused reports changed the message: %+v, %v", d, err)
	}
	if code, got := postAs("application/json; charset=utf-8", m.ID, `{"status":"sent"}`); code != http.StatusOK || got != `{"changed":true}` {
		t.Errorf("with a charset: %d %s", code, got)
	}
	if code, got := post(m.ID, `{"status":"undelivered"}`); code != http.StatusOK || got != `{"changed":true}` {
		t.Fatalf("report: %d %s", code, got)
	}
	if code, got := post(m.ID, `{"status":"undelivered"}`); code != http.StatusOK || got != `{"changed":false}` {
		t.Errorf("replay: %d %s, want changed false", code, got)
	}
	d, err := s.DB.Delivery(ctx, m.ID)
	if err != nil || d.Status != message.DeliveryUndelivered {
		t.Errorf("delivery = %+v, %v; want undelivered", d, err)
	}
}
