package web

import (
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"time"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/recovery"
)

// Document recovery of two-step verification (internal/recovery):
// /recovery asks for the identifier and password (no second factor) and
// starts the flow; /recovery?flow= shows its upload form (a multipart
// form, the only one the pages take: document type, front, back, utility
// bill) or, once submitted, the reference number, due time and state of
// the case; /recovery/cancel?token= is the cancel link of the
// confirmation. The flow never signs anyone in.

// recoveryMaxBody bounds the multipart body of /recovery/documents: three
// files of at most recovery.MaxDocumentSize, one byte past each, and the
// form's small fields. Only this route takes more than maxFormBytes.
const recoveryMaxBody = 3*(recovery.MaxDocumentSize+1) + maxFormBytes

// recoveryMaxFiles is the most file parts the form may carry (its three
// slots).
const recoveryMaxFiles = 3

// recoveryFieldBytes bounds one small field of the multipart form.
const recoveryFieldBytes = 1024

func (h *Handler) routesRecovery() {
	if h.d.Recovery == nil {
		return
	}
	h.mux.Handle("GET /recovery", h.handleFlow(h.recoveryForm))
	h.mux.Handle("POST /recovery", h.handleFlow(h.recoveryStart))
	h.mux.Handle("POST /recovery/documents", h.handleFlow(h.recoveryDocuments))
	h.mux.Handle("GET /recovery/cancel", h.handle(h.recoveryCancelForm))
	h.mux.Handle("POST /recovery/cancel", h.handle(h.recoveryCancel))
}

// recoveryView is what the recovery pages show.
type recoveryView struct {
	Types []recoveryType
	Case  *flow.Recovery
	// Due is the case's due time as people read it in the realm's zone.
	Due      string
	Uploaded []recoveryUploaded
	// Reference is the cancelled case's, on the cancel page.
	Reference string
	// Pending is the open case the cancel link would cancel, on the
	// confirmation.
	Pending string
}

type recoveryType struct {
	ID       string
	Selected bool
}

type recoveryUploaded struct {
	Slot string
	KB   int64
}

func (h *Handler) recoveryPage(r *http.Request, c *call, title string, ans *flow.Answer) *page {
	p := h.newPage(r, c.realm, c.locale, title)
	p.RenderedAt = h.d.Now().UnixMilli()
	v := &recoveryView{}
	if ans != nil {
		p.FlowID = ans.Flow.ID
		v.Case = ans.Recovery
		if ans.Recovery != nil {
			if ans.Recovery.DueAt != nil {
				v.Due = dueText(p, *ans.Recovery.DueAt)
			}
			for _, d := range ans.Recovery.Documents {
				v.Uploaded = append(v.Uploaded, recoveryUploaded{Slot: d.Slot, KB: (d.Size + 1023) / 1024})
			}
		}
	}
	for _, t := range recovery.DocumentTypes {
		sel := v.Case != nil && v.Case.DocumentType == string(t)
		if f := p.Form["document_type"]; f != "" {
			sel = f == string(t)
		}
		v.Types = append(v.Types, recoveryType{ID: string(t), Selected: sel})
	}
	p.Recovery = v
	return p
}

// dueText writes t in the realm's zone with the zone's name.
func dueText(p *page, t time.Time) string {
	zone := p.zone
	if zone == nil {
		zone = time.UTC
	}
	return t.In(zone).Format("2006-01-02 15:04 MST")
}

// recoveryForm shows the start form, or with ?flow= the flow's upload form
// or its case.
func (h *Handler) recoveryForm(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.URL.Query().Get("flow")
	if id == "" {
		h.render(w, r, http.StatusOK, "recovery", h.recoveryPage(r, c, "page.recovery.title", nil))
		return nil
	}
	ans, err := h.view(r, c, id)
	if ans == nil || ans.Flow == nil || ans.Flow.Kind != flow.KindRecovery {
		if err == nil {
			err = ninsho.E(ninsho.CodeFlowNotFound)
		}
		return err
	}
	if err != nil {
		return err
	}
	if p := h.recoveryStartStep(r, c, ans); p != nil {
		h.render(w, r, http.StatusOK, "recovery", p)
		return nil
	}
	h.showRecovery(w, r, c, http.StatusOK, ans, nil)
	return nil
}

// recoveryStartStep is the start page of a flow that sign-in's protection
// held back: its CAPTCHA, or once solved the password asked again (the
// flow's identifier shown, its id posted with the password); nil for a
// flow past the start.
func (h *Handler) recoveryStartStep(r *http.Request, c *call, ans *flow.Answer) *page {
	if ans == nil || ans.Flow == nil || ans.Flow.Kind != flow.KindRecovery || ans.Next == nil {
		return nil
	}
	p := h.recoveryPage(r, c, "page.recovery.title", nil)
	switch {
	case heldAtCaptcha(ans):
		showCaptcha(p, startPages[flow.KindRecovery], ans)
	case ans.Flow.Status == flow.StatusOpen && ans.Next.Step == flow.StepPassword:
		p.FlowID, p.Form["identifier"] = ans.Flow.ID, p.Shown(ans.Flow.Identifier)
		p.Notice = "recovery.captcha_passed"
		p.relink("/recovery", url.Values{"flow": {ans.Flow.ID}})
	default:
		return nil
	}
	return p
}

// showRecovery renders the upload form of ans (at step upload) or its case,
// with err when not nil.
func (h *Handler) showRecovery(w http.ResponseWriter, r *http.Request, c *call, status int, ans *flow.Answer, err error) {
	name, title := "recovery_status", "page.recovery_status.title"
	if ans.Flow.Status == flow.StatusOpen && ans.Flow.Step == flow.StepUpload {
		name, title = "recovery_upload", "page.recovery_upload.title"
	}
	p := h.recoveryPage(r, c, title, ans)
	p.relink("/recovery", url.Values{"flow": {ans.Flow.ID}})
	if err != nil {
		h.renderError(w, r, name, p, err)
		return
	}
	h.render(w, r, status, name, p)
}

// recoveryStart handles the start form (POST /recovery).
func (h *Handler) recoveryStart(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	p := h.recoveryPage(r, c, "page.recovery.title", nil)
	var (
		ans *flow.Answer
		err error
	)
	id, action := r.PostForm.Get("flow"), r.PostForm.Get("action")
	switch {
	case id != "" && (action == flow.ActionSubmitCaptcha || action == flow.ActionNewCaptcha):
		// The CAPTCHA that sign-in's protection asked.
		ans, err = h.solve(r, c, p, id, action)
	case id != "":
		// The password again, after the CAPTCHA.
		if !ninsho.ValidID(id) {
			return ninsho.E(ninsho.CodeFlowNotFound)
		}
		var pw string
		if pw, err = formValue(r, "password"); err == nil {
			ans, err = h.act(r, c, id, flow.Action{Name: flow.ActionSubmitPassword, Password: pw})
		} else {
			ans, _ = h.view(r, c, id)
		}
	default:
		identifier, ferr := formValue(r, "identifier")
		p.Form["identifier"] = identifier
		pw, perr := formValue(r, "password")
		if err = ninsho.Fields(ferr, perr); err == nil {
			ans, err = h.d.Recovery.Start(r.Context(), c.realm, h.request(r, c), recovery.Input{Identifier: identifier, Password: pw})
		}
	}
	if held := h.recoveryStartStep(r, c, ans); held != nil {
		h.remember(w, r, ans)
		if err != nil && !ninsho.IsCode(err, ninsho.CodeCaptchaRequired) {
			held.Notice = ""
			h.recoveryRefused(w, r, c, held, err)
			return nil
		}
		h.render(w, r, http.StatusOK, "recovery", held)
		return nil
	}
	if err != nil {
		if ans == nil && id != "" && !ninsho.IsCode(err, ninsho.CodeFieldRequired) && !ninsho.IsCode(err, ninsho.CodeFieldTooLong) {
			if ninsho.IsCode(err, ninsho.CodeFlowNotFound) || ninsho.IsCode(err, ninsho.CodeFlowExpired) {
				return err // the flow is gone: the error page says so
			}
		}
		h.recoveryRefused(w, r, c, p, err)
		return nil
	}
	h.remember(w, r, ans)
	http.Redirect(w, r, "/recovery?"+url.Values{"flow": {ans.Flow.ID}}.Encode(), http.StatusSeeOther)
	return nil
}

// recoveryRefused shows the start page with a refusal, worded as sign-in
// words it (explainRefusal): a lock and a wait explained, a suspension made
// by staff quoted by its own reference, with the link to a help request.
func (h *Handler) recoveryRefused(w http.ResponseWriter, r *http.Request, c *call, p *page, err error) {
	status := prepareError(w, r, p, err)
	h.explainRefusal(c, p, err)
	h.render(w, r, status, "recovery", p)
}

// recoveryDocuments handles the upload form (POST /recovery/documents,
// multipart/form-data): the parts are read as they arrive, in the form's
// order — flow, document_type, then each file (at most three) checked by
// recovery.Service.Check, which stops one byte past the size limit — and
// the button last. The form enters the upload gate once before its first
// file (one upload per flow, a bounded number in the process: conflict,
// overloaded), each file has recovery.UploadTime to arrive, and the files
// are kept only when every one passed (recovery.Service.Keep): a refused
// file keeps none. Action submit_documents then submits the case.
func (h *Handler) recoveryDocuments(w http.ResponseWriter, r *http.Request, c *call) error {
	// Only this route takes more than maxFormBytes, and may take longer
	// than the server's read timeout.
	// The read deadline is renewed for each file (at most three: each
	// UploadTime), so the whole form takes at most 4 × UploadTime.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(recovery.UploadTime))
	_ = rc.SetWriteDeadline(time.Now().Add(4*recovery.UploadTime + time.Minute))
	r.Body = http.MaxBytesReader(w, r.Body, recoveryMaxBody)
	files := 0
	mr, err := r.MultipartReader()
	if err != nil {
		return ninsho.E(ninsho.CodeRequestInvalid).Wrap(err)
	}
	var (
		id, docType, action string
		last                *flow.Answer
		loaded              *flow.Flow
		pending             []*recovery.Pending
	)
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
				return ninsho.E(ninsho.CodeBodyTooLarge)
			}
			return ninsho.E(ninsho.CodeRequestInvalid).Wrap(err)
		}
		name := part.FormName()
		if part.FileName() == "" {
			// A field, or a file input left empty (no file name): read
			// as a small field and, for a file input, ignored.
			v, err := smallField(part)
			part.Close()
			if err != nil {
				return err
			}
			switch name {
			case "flow":
				id = v
			case "document_type":
				docType = v
			case "action":
				action = v
			}
			continue
		}
		// Each file is an action on the flow: the engine checks its binding
		// and expiry as for any other. The form enters the upload gate
		// once, before its first file is read.
		if !ninsho.ValidID(id) {
			part.Close()
			return ninsho.E(ninsho.CodeFlowNotFound)
		}
		if loaded == nil {
			if loaded, err = h.d.Flows.Load(r.Context(), c.realm.ID, id, h.flowRequest(r, c, id)); err != nil {
				part.Close()
				return err
			}
			leave, err := h.d.Recovery.EnterUpload(loaded)
			if err != nil {
				part.Close()
				return err
			}
			defer leave()
		} else if loaded.ID != id {
			part.Close()
			return ninsho.E(ninsho.CodeRequestInvalid)
		}
		if files++; files > recoveryMaxFiles {
			part.Close()
			return ninsho.E(ninsho.CodeRequestInvalid)
		}
		_ = rc.SetReadDeadline(time.Now().Add(recovery.UploadTime))
		p, ans, err := h.d.Recovery.Check(r.Context(), loaded, recovery.Upload{Slot: name, DocumentType: docType, Body: part})
		part.Close()
		if err != nil {
			if ans == nil {
				return err
			}
			// Nothing of the form is kept. Read the rest of the form
			// (bounded by recoveryMaxBody) so that the browser, still
			// sending, gets the page instead of a reset connection.
			_, _ = io.Copy(io.Discard, r.Body)
			h.recoveryAgain(w, r, c, ans, docType, err)
			return nil
		}
		pending = append(pending, p)
	}
	if len(pending) > 0 {
		ans, err := h.d.Recovery.Keep(r.Context(), loaded, h.flowRequest(r, c, id), pending)
		if err != nil {
			return err
		}
		last = ans
	}
	if !ninsho.ValidID(id) {
		return ninsho.E(ninsho.CodeFlowNotFound)
	}
	if len(pending) == 0 && docType != "" {
		// The type changed with no file chosen: the type alone is kept,
		// never silently dropped.
		f, err := h.d.Flows.Load(r.Context(), c.realm.ID, id, h.flowRequest(r, c, id))
		if err != nil {
			return err
		}
		ans, err := h.d.Recovery.ChooseType(r.Context(), f, docType)
		if err != nil {
			if ans == nil {
				return err
			}
			h.recoveryAgain(w, r, c, ans, docType, err)
			return nil
		}
		last = ans
	}
	if last == nil {
		ans, err := h.view(r, c, id)
		if err != nil {
			return err
		}
		if ans.Flow.Kind != flow.KindRecovery {
			return ninsho.E(ninsho.CodeFlowNotFound)
		}
		last = ans
	}
	if action == flow.ActionSubmitDocuments || action == flow.ActionCancel {
		ans, err := h.act(r, c, id, flow.Action{Name: action})
		if err != nil {
			if ans == nil || ans.Flow == nil {
				return err
			}
			h.recoveryAgain(w, r, c, ans, docType, err)
			return nil
		}
		last = ans
		// The flow's cookie stays after completion: the owner's page of
		// the case (/recovery?flow=) shows its state later.
		h.cookies.SetDevice(w, r, ans.DeviceToken)
	}
	http.Redirect(w, r, "/recovery?"+url.Values{"flow": {last.Flow.ID}}.Encode(), http.StatusSeeOther)
	return nil
}

// recoveryAgain shows the upload form of ans again with err, keeping the
// document type chosen.
func (h *Handler) recoveryAgain(w http.ResponseWriter, r *http.Request, c *call, ans *flow.Answer, docType string, err error) {
	p := h.recoveryPage(r, c, "page.recovery_upload.title", ans)
	if docType != "" {
		for i := range p.Recovery.Types {
			p.Recovery.Types[i].Selected = p.Recovery.Types[i].ID == docType
		}
	}
	p.relink("/recovery", url.Values{"flow": {ans.Flow.ID}})
	name := "recovery_upload"
	if ans.Flow.Status != flow.StatusOpen {
		name = "recovery_status"
	}
	h.renderError(w, r, name, p, err)
}

// smallField reads a non-file part of at most recoveryFieldBytes.
func smallField(part *multipart.Part) (string, error) {
	b, err := io.ReadAll(io.LimitReader(part, recoveryFieldBytes+1))
	if err != nil {
		return "", ninsho.E(ninsho.CodeRequestInvalid).Wrap(err)
	}
	if len(b) > recoveryFieldBytes {
		return "", ninsho.FieldError(ninsho.CodeFieldTooLong, part.FormName()).WithParam("max", recoveryFieldBytes)
	}
	return string(b), nil
}

// recoveryCancelForm shows the cancel link's confirmation.
func (h *Handler) recoveryCancelForm(w http.ResponseWriter, r *http.Request, c *call) error {
	token := r.URL.Query().Get("token")
	// A link that can no longer cancel anything (empty, used, expired, or
	// its case decided) says so now, not after the owner confirms.
	cs, err := h.d.Recovery.CancelPreview(r.Context(), c.realm, token)
	if err != nil {
		return err
	}
	p := h.recoveryPage(r, c, "page.recovery_cancel.title", nil)
	p.Token = token
	p.Recovery.Pending = cs.Reference
	h.render(w, r, http.StatusOK, "recovery_cancel", p)
	return nil
}

// recoveryCancel cancels the case of the link (POST /recovery/cancel).
func (h *Handler) recoveryCancel(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	token, err := formValue(r, "token")
	if err != nil {
		return err
	}
	cs, err := h.d.Recovery.Cancel(r.Context(), c.realm, h.request(r, c), token)
	if err != nil {
		return err
	}
	p := h.recoveryPage(r, c, "page.recovery_cancel.title", nil)
	p.Recovery.Reference = cs.Reference
	h.render(w, r, http.StatusOK, "recovery_cancel", p)
	return nil
}
