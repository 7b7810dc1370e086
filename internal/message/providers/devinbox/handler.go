package devinbox

import (
	"encoding/json"

	"github.com/ninsho/ninsho/internal/message"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Listing limits.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// Handler serves the development inbox:
//
//	GET /dev/api/messages?to=X&limit=N  JSON {"messages": [...]}, newest first
//	GET /dev/inbox?to=X                 an HTML page listing the same messages
//	POST /dev/api/messages/{id}/delivery  a provider's delivery report (report)
//
// to is matched exactly as given (the caller normalises it, as the server does
// for identifiers); without it every recipient is listed. limit defaults to
// 50 and is capped at 500. Answers are never cached: they hold one-time
// codes. The server mounts the handler in development mode only.
type Handler struct {
	// WriteError writes the response for a store failure; the server sets
	// it to its one error writer. When nil, a bare 500 is written.
	WriteError func(w http.ResponseWriter, r *http.Request, err error)
	// Reports records the reports played with POST
	// /dev/api/messages/{id}/delivery; nil serves 404 there.
	Reports *message.Reports

	store Store
	mux   *http.ServeMux
}

// NewHandler returns the inbox handler over s.
func NewHandler(s Store) *Handler {
	h := &Handler{store: s, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /dev/api/messages", h.handle(h.messages))
	h.mux.HandleFunc("GET /dev/inbox", h.handle(h.page))
	h.mux.HandleFunc("POST /dev/api/messages/{id}/delivery", h.handle(h.report))
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *Handler) handle(fn func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			if h.WriteError != nil {
				h.WriteError(w, r, err)
				return
			}
			http.Error(w, "devinbox: internal error", http.StatusInternalServerError)
		}
	}
}

// apiMessage is one message in the JSON listing.
type apiMessage struct {
	ID        string    `json:"id"`
	Realm     string    `json:"realm"`
	Channel   string    `json:"channel"`
	To        string    `json:"to"`
	Subject   string    `json:"subject"`
	Body      string    `json:"body"`
	Template  string    `json:"template"`
	Locale    string    `json:"locale"`
	Code      string    `json:"code"`
	CreatedAt time.Time `json:"created_at"`
}

func (h *Handler) list(r *http.Request) (string, []*Message, error) {
	limit := DefaultLimit
	if n, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && n > 0 {
		limit = min(n, MaxLimit)
	}
	to := r.URL.Query().Get("to")
	if !utf8.ValidString(to) || strings.ContainsRune(to, 0) {
		// No message is addressed there (PostgreSQL would refuse the
		// text outright, a 500): an empty inbox.
		return to, nil, nil
	}
	ms, err := h.store.DevMessages(r.Context(), to, limit)
	return to, ms, err
}

func noStore(w http.ResponseWriter, contentType string) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
}

func (h *Handler) messages(w http.ResponseWriter, r *http.Request) error {
	_, ms, err := h.list(r)
	if err != nil {
		return err
	}
	out := struct {
		Messages []apiMessage `json:"messages"`
	}{Messages: make([]apiMessage, 0, len(ms))}
	for _, m := range ms {
		out.Messages = append(out.Messages, apiMessage{
			ID: m.ID, Realm: m.Realm, Channel: m.Channel, To: m.To, Subject: m.Subject, Body: m.Text,
			Template: m.Template, Locale: m.Locale, Code: m.Code, CreatedAt: m.CreatedAt.UTC(),
		})
	}
	noStore(w, "application/json; charset=utf-8")
	return json.NewEncoder(w).Encode(out)
}

func (h *Handler) page(w http.ResponseWriter, r *http.Request) error {
	to, ms, err := h.list(r)
	if err != nil {
		return err
	}
	noStore(w, "text/html; charset=utf-8")
	return pageTemplate.Execute(w, struct {
		To       string
		Messages []*Message
	}{to, ms})
}

var pageTemplate = template.Must(template.New("inbox").Funcs(template.FuncMap{
	"time": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 MST") },
}).Parse(`<!DOCTYPE html>
<html lang="ja">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>開発用受信箱 · Development inbox — Ninsho</title>
<style>
body{margin:0;font-family:system-ui,-apple-system,"Hiragino Sans",Meiryo,sans-serif;background:#f3f4f6;color:#1f2937}
header{background:#1d4ed8;color:#fff;padding:12px 20px}
header h1{margin:0;font-size:18px}
main{max-width:960px;margin:0 auto;padding:16px}
form{display:flex;gap:8px;margin-bottom:16px;flex-wrap:wrap;align-items:center}
input[type=search]{flex:1;min-width:240px;padding:8px;font-size:15px;border:1px solid #9ca3af;border-radius:4px}
button,.button{padding:8px 14px;font-size:15px;border-radius:4px;border:1px solid #1d4ed8;background:#1d4ed8;color:#fff;text-decoration:none}
.button{background:#fff;color:#1d4ed8}
article{background:#fff;border-radius:8px;padding:14px 18px;margin-bottom:12px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
.meta{font-size:13px;color:#6b7280;display:flex;gap:12px;flex-wrap:wrap}
.channel{font-weight:bold;text-transform:uppercase;color:#1d4ed8}
.subject{font-weight:bold;margin:6px 0}
.code{font-family:Menlo,Consolas,monospace;font-size:26px;font-weight:bold;letter-spacing:4px;background:#f1f5f9;display:inline-block;padding:4px 12px;border-radius:4px;margin:6px 0}
pre{white-space:pre-wrap;word-break:break-word;background:#f9fafb;border:1px solid #e5e7eb;border-radius:4px;padding:10px;font-size:13px}
iframe{width:100%;height:480px;border:1px solid #e5e7eb;border-radius:4px;background:#fff}
.empty{color:#6b7280}
</style>
</head>
<body>
<header><h1>Ninsho 開発用受信箱 · Development inbox</h1></header>
<main>
<form method="get" action="/dev/inbox" role="search">
<label for="to">宛先 · To</label>
<input type="search" id="to" name="to" value="{{.To}}" placeholder="taro@example.com / +819012345678" autocomplete="off">
<button type="submit">絞り込む · Filter</button>
<a class="button" href="/dev/inbox">すべて表示 · Show all</a>
</form>
{{range .Messages}}
<article id="m-{{.ID}}">
<div class="meta"><span class="channel">{{.Channel}}</span><span>宛先 · To: <a href="/dev/inbox?to={{.To}}">{{.To}}</a></span><span>{{.Template}} ({{.Locale}})</span><span>{{.Realm}}</span><time datetime="{{.CreatedAt.UTC.Format "2006-01-02T15:04:05Z07:00"}}">{{time .CreatedAt}}</time></div>
{{with .Subject}}<div class="subject">{{.}}</div>{{end}}
{{with .Code}}<div>確認コード · Code: <span class="code">{{.}}</span></div>{{end}}
<pre>{{.Text}}</pre>
{{with .HTML}}<details><summary>HTML</summary><iframe sandbox="" srcdoc="{{.}}" title="HTML"></iframe></details>{{end}}
</article>
{{else}}
<p class="empty">メッセージはありません。 · No messages.</p>
{{end}}
</main>
</body>
</html>
`))
