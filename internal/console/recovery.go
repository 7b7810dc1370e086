package console

import (
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/ninsho/ninsho/internal/identifier"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/recovery"
	"github.com/ninsho/ninsho/internal/staff"
)

// DocumentCSP is the Content-Security-Policy of every document response: a
// document runs nothing, loads nothing and is its own opaque origin.
const DocumentCSP = "sandbox; default-src 'none'"

// recoveryRoutes adds the reviewers' pages (Deps.Review); without it there
// are none.
func (h *Handler) recoveryRoutes(m *http.ServeMux) {
	if h.d.Review == nil {
		return
	}
	m.HandleFunc("GET "+Path+"/recovery", h.open(h.recoveryQueue))
	m.HandleFunc("GET "+Path+"/recovery/{ref}", h.open(h.recoveryCase))
	m.HandleFunc("GET "+Path+"/recovery/{ref}/documents/{doc}", h.open(h.recoveryDocument))
	m.HandleFunc("POST "+Path+"/recovery/{ref}/{decision}", h.open(h.recoveryDecide))
}

// queueView is the recovery queue's data.
type queueView struct {
	Cases []queueRow
}

type queueRow struct {
	Reference, Realm, AccountID, DocumentType string
	Submitted, Due                            time.Time
	Overdue                                   bool
}

func (h *Handler) recoveryQueue(w http.ResponseWriter, r *http.Request, c *call) error {
	items, err := h.d.Review.Queue(r.Context(), c.who, h.now())
	if err != nil {
		return err
	}
	v := queueView{}
	for _, it := range items {
		v.Cases = append(v.Cases, queueRow{Reference: it.Reference, Realm: it.Realm, AccountID: it.AccountID,
			DocumentType: string(it.DocumentType), Submitted: it.SubmittedAt, Due: it.DueAt, Overdue: it.Overdue})
	}
	p := h.newPage(r, c, "console.recovery.title")
	p.Data = v
	h.render(w, http.StatusOK, "recovery_queue", p)
	return nil
}

// caseView is a case page's data. Nothing a customer typed or uploaded is
// ever rendered as HTML: the templates escape every value and documents
// are only linked (images through <img>).
type caseView struct {
	Reference, Realm, Status, DocumentType string
	Submitted, Due, Decided                time.Time
	Overdue                                bool
	DecidedBy, Reason, Instead             string
	Account                                *result
	TwoStepOn                              bool
	Methods                                []string
	SignIns                                []signInRow
	Documents                              []documentRow
	CanOpen, CanDecide                     bool
	// Failed is the decision just refused ("approve", "reject"): its
	// fields take the plain ids the error summary links to.
	Failed string
}

type signInRow struct {
	At                   time.Time
	Type, Reason, IP, UA string
}

type documentRow struct {
	ID, Slot, Mime, Href string
	KB                   int64
	Image                bool
}

// decisions are the decision forms, by the last segment of their address.
var decisions = []string{"approve", "reject"}

func (h *Handler) recoveryCase(w http.ResponseWriter, r *http.Request, c *call) error {
	return h.showCase(w, r, c, http.StatusOK, nil)
}

func (h *Handler) showCase(w http.ResponseWriter, r *http.Request, c *call, status int, refusal error) error {
	rc, err := h.d.Review.Case(r.Context(), c.who, r.PathValue("ref"))
	if err != nil {
		return err
	}
	cs := rc.Case
	v := caseView{Reference: cs.Reference, Realm: cs.Realm, Status: string(cs.Status), DocumentType: string(cs.DocumentType),
		Overdue: cs.Overdue(h.now()), DecidedBy: cs.DecidedBy, Reason: cs.Reason, Instead: cs.Instead, TwoStepOn: rc.TwoStepOn,
		CanOpen: c.who.Can(staff.PermRecoveryDocuments), CanDecide: c.who.Can(staff.PermRecoveryDecisions) && cs.Status == recovery.StatusOpen}
	for _, t := range []struct {
		dst *time.Time
		src *time.Time
	}{{&v.Submitted, cs.SubmittedAt}, {&v.Due, cs.DueAt}, {&v.Decided, cs.DecidedAt}} {
		if t.src != nil {
			*t.dst = *t.src
		}
	}
	if a := rc.Account; a != nil {
		region := ""
		if rl := h.d.Realms.ByID(a.Realm); rl != nil {
			region = rl.PhoneRegion
		}
		res := result{ID: a.ID, Realm: a.Realm, Status: string(a.Status)}
		if a.Email != "" {
			res.Email = identifier.Mask(identifier.Normalized(a.Email), region)
		}
		if a.Phone != "" {
			res.Phone = identifier.Mask(identifier.Normalized(a.Phone), region)
		}
		v.Account = &res
	}
	for _, m := range rc.Methods {
		v.Methods = append(v.Methods, string(m.Kind))
	}
	for _, e := range rc.SignIns {
		row := signInRow{At: e.At, Type: e.Type, IP: e.IP, UA: e.UserAgent}
		if s, ok := e.Data["reason"].(string); ok {
			row.Reason = s
		}
		v.SignIns = append(v.SignIns, row)
	}
	for _, d := range rc.Documents {
		_, _, inline := documentHeaders(d.Mime)
		v.Documents = append(v.Documents, documentRow{ID: d.ID, Slot: string(d.Slot), Mime: d.Mime, KB: (d.Size + 1023) / 1024,
			Image: inline, Href: Path + "/recovery/" + url.PathEscape(cs.Reference) + "/documents/" + url.PathEscape(d.ID)})
	}
	p := h.newPage(r, c, "console.recovery.case.title")
	status, v.Failed = p.decided(r, status, refusal, decisions, "console.recovery.done.")
	p.Data = v
	h.render(w, status, "recovery_case", p)
	return nil
}

// documentHeaders gives the Content-Type of a document of the detected
// type mimeType, and whether it is shown inline: PNG and JPEG images are;
// everything else (PDF, DOC, DOCX, and anything unexpected, as bytes) is
// a download. Never text/html.
func documentHeaders(mimeType string) (contentType, disposition string, inline bool) {
	switch mimeType {
	case "image/png", "image/jpeg":
		return mimeType, "inline", true
	case "application/pdf", "application/msword",
		"application/vnd.openxmlformats-officedocument.wordprocessingml.document":
		return mimeType, "attachment", false
	}
	return "application/octet-stream", "attachment", false
}

func (h *Handler) recoveryDocument(w http.ResponseWriter, r *http.Request, c *call) error {
	o, err := h.d.Review.OpenDocument(r.Context(), c.who, c.req, r.PathValue("ref"), r.PathValue("doc"))
	if err != nil {
		return err
	}
	ct, disp, _ := documentHeaders(o.Mime)
	hd := w.Header()
	hd.Set("Content-Security-Policy", DocumentCSP)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	hd.Set("Content-Type", ct)
	hd.Set("Content-Disposition", mime.FormatMediaType(disp, map[string]string{"filename": o.Filename}))
	hd.Set("Content-Length", strconv.Itoa(len(o.Data)))
	w.WriteHeader(http.StatusOK)
	w.Write(o.Data)
	return nil
}

func (h *Handler) recoveryDecide(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := form(w, r); err != nil {
		return err
	}
	ctx, ref, why := r.Context(), r.PathValue("ref"), r.PostForm.Get("reason")
	var (
		cs  *recovery.Case
		err error
	)
	switch decision := r.PathValue("decision"); decision {
	case "approve":
		cs, err = h.d.Review.Approve(ctx, c.who, c.req, ref, why)
	case "reject":
		cs, err = h.d.Review.Reject(ctx, c.who, c.req, ref, why, r.PostForm.Get("instead"), r.PostForm.Get("note"))
	default:
		return ninsho.E(ninsho.CodeNotFound)
	}
	switch {
	case err == nil:
		http.Redirect(w, r, Path+"/recovery/"+url.PathEscape(cs.Reference)+"?done="+url.QueryEscape(r.PathValue("decision")), http.StatusSeeOther)
		return nil
	case ninsho.IsCode(err, ninsho.CodeForbidden), ninsho.IsCode(err, ninsho.CodeNotFound):
		return err
	}
	return h.showCase(w, r, c, 0, err)
}
