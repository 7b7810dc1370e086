package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ninsho/ninsho/internal/caseref"
	"github.com/ninsho/ninsho/internal/help"
	"github.com/ninsho/ninsho/internal/identifier"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/staff"
)

// QueueLimit is how many open help requests a page of the queue lists.
const QueueLimit = 200

// helpRow is one open request in the queue.
type helpRow struct {
	Ref, Realm, Step, Contact, AccountID string
	CreatedAt, DueAt                     time.Time
	AgeKey                               string
	AgeN                                 int
	Overdue                              bool
}

// helpQueueView is the queue page's data.
type helpQueueView struct {
	Rows            []helpRow
	Q               string // the filter as typed
	Linked          bool   // only requests linked to an account
	Filtered        bool
	From, To, Total int    // the rows shown (from 1) and how many match
	Prev, Next      string // links to the pages around, or ""
}

// queuePage is the page of the queue asked for: ?page=N (from 1; anything
// else is the first).
func queuePage(r *http.Request) int {
	n, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || n < 1 || n > 100000 {
		return 1
	}
	return n
}

// queueLink is the queue's address for page with the filter of v.
func queueLink(v *helpQueueView, page int) string {
	q := url.Values{}
	if v.Q != "" {
		q.Set("q", v.Q)
	}
	if v.Linked {
		q.Set("linked", "1")
	}
	if page > 1 {
		q.Set("page", strconv.Itoa(page))
	}
	if len(q) == 0 {
		return Path + "/help"
	}
	return Path + "/help?" + q.Encode()
}

// region is the phone region of the realm rlID, for showing numbers.
func (h *Handler) region(rlID string) string {
	if rl := h.d.Realms.ByID(rlID); rl != nil {
		return rl.PhoneRegion
	}
	return ""
}

// age is how long ago t was, in whole days, hours or minutes: the
// catalogue key "console.help.age.<unit>" and its {n}.
func age(now, t time.Time) (string, int) {
	d := max(now.Sub(t), 0)
	switch {
	case d >= 48*time.Hour:
		return "console.help.age.days", int(d / (24 * time.Hour))
	case d >= time.Hour:
		return "console.help.age.hours", int(d / time.Hour)
	}
	return "console.help.age.minutes", int(d / time.Minute)
}

func (h *Handler) helpQueue(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := c.who.Require(staff.PermHelpRequests); err != nil {
		return err
	}
	now := h.now()
	query := r.URL.Query()
	page := queuePage(r)
	v := helpQueueView{Q: strings.TrimSpace(query.Get("q")), Linked: query.Get("linked") == "1"}
	v.Filtered = v.Q != "" || v.Linked
	list, total, err := h.d.Help.QueuePage(r.Context(), v.Q, v.Linked, page, QueueLimit)
	if err != nil {
		return err
	}
	v.Total = total
	if len(list) > 0 {
		v.From = (page-1)*QueueLimit + 1
		v.To = v.From + len(list) - 1
	}
	if page > 1 {
		v.Prev = queueLink(&v, min(page-1, max((total+QueueLimit-1)/QueueLimit, 1)))
	}
	if page*QueueLimit < total {
		v.Next = queueLink(&v, page+1)
	}
	for _, x := range list {
		row := helpRow{
			Ref: x.Ref, Realm: x.Realm, Step: string(x.Step), AccountID: x.AccountID,
			Contact:   identifier.Mask(identifier.Normalized(x.Contact), h.region(x.Realm)),
			CreatedAt: x.CreatedAt, DueAt: x.DueAt, Overdue: x.DueAt.Before(now),
		}
		row.AgeKey, row.AgeN = age(now, x.CreatedAt)
		v.Rows = append(v.Rows, row)
	}
	p := h.newPage(r, c, "console.help.title")
	p.Data = v
	h.render(w, http.StatusOK, "help", p)
	return nil
}

// helpView is a request page's data.
type helpView struct {
	Req *help.Request
	// Contact is the proved contact as people write it.
	Contact string
	// Failed names the fields of a refused form (aria-invalid).
	Failed map[string]bool
	// QuotedSearch is the search address of the quoted reference, or ""
	// when it is no reference a search reads.
	QuotedSearch string
	Overdue      bool
	Open         bool
	MaxAnswer    int
	MaxReason    int
}

func (h *Handler) helpRequest(w http.ResponseWriter, r *http.Request, c *call) error {
	return h.showHelp(w, r, c, http.StatusOK, nil)
}

func (h *Handler) showHelp(w http.ResponseWriter, r *http.Request, c *call, status int, refusal error) error {
	if err := c.who.Require(staff.PermHelpRequests); err != nil {
		return err
	}
	x, err := h.d.Help.Request(r.Context(), r.PathValue("ref"))
	if err != nil {
		return err
	}
	v := helpView{Req: x, Overdue: x.Status == help.StatusOpen && x.DueAt.Before(h.now()), Open: x.Status == help.StatusOpen,
		MaxAnswer: help.MaxAnswer, MaxReason: help.MaxReason}
	if x.Channel == "sms" {
		v.MaxAnswer = help.MaxSMSAnswer
	}
	if x.Contact != "" {
		v.Contact = identifier.Display(identifier.Normalized(x.Contact), h.region(x.Realm))
	}
	if q := x.QuotedRef; q != "" {
		if _, _, ok := caseref.Parse(q); ok || ninsho.ValidID(q) {
			v.QuotedSearch = Path + "/accounts?q=" + url.QueryEscape(q)
		}
	}
	p := h.newPage(r, c, "console.help.request.title")
	if done := r.URL.Query().Get("done"); refusal == nil && (done == "answer" || done == "close") {
		p.Notice = "console.help.done." + done
	}
	if refusal != nil {
		status = p.withError(r, refusal)
		p.Form = r.PostForm
		v.Failed = map[string]bool{}
		for _, it := range p.Error.Items {
			v.Failed[it.Field] = true
		}
	}
	p.Data = v
	h.render(w, status, "helprequest", p)
	return nil
}

func (h *Handler) helpAct(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := c.who.Require(staff.PermHelpRequests); err != nil {
		return err
	}
	if err := form(w, r); err != nil {
		return err
	}
	ctx, ref, action := r.Context(), r.PathValue("ref"), r.PathValue("action")
	var err error
	switch action {
	case "answer":
		_, err = h.d.Help.Answer(ctx, c.who.Staff.Actor(), c.req, ref, r.PostForm.Get("text"), r.PostForm.Get("close") != "")
	case "close":
		err = h.d.Help.Close(ctx, c.who.Staff.Actor(), c.req, ref, r.PostForm.Get("reason"))
	default:
		return ninsho.E(ninsho.CodeNotFound)
	}
	switch {
	case err == nil:
		x, rErr := h.d.Help.Request(ctx, ref)
		if rErr != nil {
			return rErr
		}
		http.Redirect(w, r, Path+"/help/"+url.PathEscape(x.Ref)+"?done="+action, http.StatusSeeOther)
		return nil
	case ninsho.IsCode(err, ninsho.CodeNotFound):
		return err
	}
	return h.showHelp(w, r, c, 0, err)
}
