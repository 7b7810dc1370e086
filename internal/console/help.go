package console

import (
	"net/http"
	"net/url"
	"time"

	"github.com/ninsho/ninsho/internal/caseref"
	"github.com/ninsho/ninsho/internal/help"
	"github.com/ninsho/ninsho/internal/identifier"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/staff"
)

// QueueLimit is how many open help requests the queue page lists.
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
	Rows []helpRow
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
	list, err := h.d.Help.Queue(r.Context(), now, QueueLimit)
	if err != nil {
		return err
	}
	v := helpQueueView{}
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
