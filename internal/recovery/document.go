package recovery

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"image"
	_ "image/jpeg" // image.DecodeConfig of JPEG
	_ "image/png"  // image.DecodeConfig of PNG
	"io"
	"time"

	"github.com/gabriel-vasile/mimetype"

	"github.com/ninsho/ninsho/internal/ninsho"
)

// DocumentType is the identity document a person chose (stable ids).
type DocumentType string

// Document types.
const (
	DriversLicense  DocumentType = "drivers_license"
	Passport        DocumentType = "passport"
	HealthInsurance DocumentType = "health_insurance"
	PensionBook     DocumentType = "pension_book"
	ResidenceCard   DocumentType = "residence_card" // residence card or My Number card, front
)

// DocumentTypes lists every accepted type, in the order pages offer them.
var DocumentTypes = []DocumentType{DriversLicense, Passport, HealthInsurance, PensionBook, ResidenceCard}

// ParseDocumentType returns the type with the id s, or
// document_type_not_allowed (field document_type).
func ParseDocumentType(s string) (DocumentType, error) {
	for _, t := range DocumentTypes {
		if string(t) == s {
			return t, nil
		}
	}
	return "", ninsho.FieldError(ninsho.CodeDocumentTypeNotAllowed, "document_type")
}

// NeedsAddress reports whether a document of type t shows no address, so
// that a utility bill from the last 6 months must come with it (slot
// address): a Japanese passport (since 2020 it has no address field) and a
// pension book do not show one; a driver's licence, a health insurance card
// (its back) and a residence or My Number card do.
func (t DocumentType) NeedsAddress() bool { return t == Passport || t == PensionBook }

// Slot is which file of a case an upload fills.
type Slot string

// Slots.
const (
	SlotFront   Slot = "front"   // the document's front (required)
	SlotBack    Slot = "back"    // its back (optional)
	SlotAddress Slot = "address" // a utility bill from the last 6 months (NeedsAddress)
)

// ParseSlot returns the slot named s, or not_found (field slot).
func ParseSlot(s string) (Slot, error) {
	switch Slot(s) {
	case SlotFront, SlotBack, SlotAddress:
		return Slot(s), nil
	}
	return "", ninsho.FieldError(ninsho.CodeNotFound, "slot")
}

// MaxDocumentSize is the largest file accepted (10 MB).
const MaxDocumentSize = 10 << 20

// UploadTime is how long an adapter lets the body of one file take (its
// read deadline), instead of the server's 30 s read timeout: a file of
// MaxDocumentSize at about 90 kB/s, a slow mobile connection. A body
// slower than that is cut off, so an upload holds its memory and its place
// in the UploadGate for at most this long. The hosted form renews it for
// each of its (at most three) files.
const UploadTime = 2 * time.Minute

// Limits of a DOCX archive: a zip bomb is refused as document_unreadable.
// The declared sizes are checked from its directory first, then every entry
// is inflated through a counting reader that stops at the limits, so the
// actual bytes are bounded too (a patched directory proves nothing).
const (
	MaxZipEntries      = 1000
	MaxZipUncompressed = 50 << 20 // total size of the entries, declared and actual
	MaxZipRatio        = 100      // size / compressed size of one entry over 1 MiB, declared and actual
)

// MaxImageSide is the most pixels a PNG or JPEG may have on each side.
const MaxImageSide = 20000

// pdfEOFWindow is how near the end of a PDF its %%EOF marker must be.
const pdfEOFWindow = 1024

// Formats accepted, by the MIME type detected in the content.
const (
	MimePDF  = "application/pdf"
	MimePNG  = "image/png"
	MimeJPEG = "image/jpeg"
	MimeDOC  = "application/msword"
	MimeDOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
)

var extensions = map[string]string{MimePDF: "pdf", MimePNG: "png", MimeJPEG: "jpg", MimeDOC: "doc", MimeDOCX: "docx"}

// Extension is the file extension of an accepted MIME type ("bin" for
// others).
func Extension(mime string) string {
	if e, ok := extensions[mime]; ok {
		return e
	}
	return "bin"
}

// Checked is an accepted file: its content, the format found in it, and the
// SHA-256 of the content.
type Checked struct {
	Data   []byte
	Mime   string
	SHA256 [32]byte
}

// ReadDocument reads one uploaded file from r and checks it by its content
// alone (a name or a Content-Type proves nothing): at most MaxDocumentSize
// bytes (it reads no more than one byte past the limit before it refuses
// with document_too_large), a DOC, DOCX, JPEG, PDF or PNG by the bytes
// (github.com/gabriel-vasile/mimetype) or document_type_not_allowed; a PNG
// or JPEG must decode its header (image.DecodeConfig) with sides of at most
// MaxImageSide, a PDF must end with a %%EOF marker (within its last 1024
// bytes), and a DOCX must open as a Word archive within the zip limits
// (all document_unreadable: a polyglot, a truncated file). An empty file is document_unreadable. Errors carry
// the field "file".
func ReadDocument(r io.Reader) (*Checked, error) {
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(r, MaxDocumentSize+1))
	if err != nil {
		return nil, ninsho.FieldError(ninsho.CodeDocumentUnreadable, "file").Wrap(err)
	}
	if n > MaxDocumentSize {
		return nil, ninsho.FieldError(ninsho.CodeDocumentTooLarge, "file")
	}
	return CheckDocument(buf.Bytes())
}

// CheckDocument checks data as ReadDocument does.
func CheckDocument(data []byte) (*Checked, error) {
	if len(data) > MaxDocumentSize {
		return nil, ninsho.FieldError(ninsho.CodeDocumentTooLarge, "file")
	}
	if len(data) == 0 {
		return nil, ninsho.FieldError(ninsho.CodeDocumentUnreadable, "file")
	}
	m := mimetype.Detect(data).String()
	if _, ok := extensions[m]; !ok {
		return nil, ninsho.FieldError(ninsho.CodeDocumentTypeNotAllowed, "file")
	}
	var err error
	switch m {
	case MimeDOCX:
		err = checkDOCX(data)
	case MimePNG:
		err = checkImage(data, pngEnd)
	case MimeJPEG:
		err = checkImage(data, jpegEnd)
	case MimePDF:
		err = checkPDF(data)
	}
	if err != nil {
		return nil, err
	}
	return &Checked{Data: data, Mime: m, SHA256: sha256.Sum256(data)}, nil
}

func unreadable(err error) error {
	e := ninsho.FieldError(ninsho.CodeDocumentUnreadable, "file")
	if err != nil {
		e = e.Wrap(err)
	}
	return e
}

// pngEnd is the IEND chunk every PNG ends with; jpegEnd the JPEG's end of
// image marker.
var (
	pngEnd  = []byte{0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82}
	jpegEnd = []byte{0xFF, 0xD9}
)

// checkImage requires a PNG or JPEG header that decodes, with sane
// dimensions, and nothing after the image's end marker (end): a page or
// script appended behind a valid image is not an image of a document.
// Trailing zero bytes (padding some cameras write) are allowed.
func checkImage(data []byte, end []byte) error {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return unreadable(err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > MaxImageSide || cfg.Height > MaxImageSide {
		return unreadable(nil)
	}
	if !bytes.HasSuffix(bytes.TrimRight(data, "\x00"), end) {
		return unreadable(nil)
	}
	return nil
}

// htmlMarkers are what an HTML page carries and a PDF's text never needs:
// a PDF holding one in the clear is a page behind a PDF signature.
var htmlMarkers = [][]byte{[]byte("<html"), []byte("<script"), []byte("<body"), []byte("<iframe"), []byte("<!doctype html"), []byte("javascript:")}

// checkPDF requires the %%EOF marker near the end of a PDF and no HTML in
// the clear anywhere in it.
func checkPDF(data []byte) error {
	tail := data[max(0, len(data)-pdfEOFWindow):]
	if !bytes.Contains(tail, []byte("%%EOF")) {
		return unreadable(nil)
	}
	if containsFold(data, htmlMarkers) {
		return unreadable(nil)
	}
	return nil
}

// containsFold reports whether data holds one of markers (lower case
// ASCII), ignoring ASCII case, without copying data.
func containsFold(data []byte, markers [][]byte) bool {
	for i := 0; i < len(data); i++ {
		if data[i] != '<' && data[i] != 'j' && data[i] != 'J' {
			continue
		}
		for _, m := range markers {
			if len(data)-i >= len(m) && bytes.EqualFold(data[i:i+len(m)], m) {
				return true
			}
		}
	}
	return false
}

// checkDOCX opens data as a zip archive and requires [Content_Types].xml and
// word/document.xml, refusing archives past the entry count, the total
// size or the compression ratio of MaxZipRatio — first as declared, then
// as actually inflated: every entry is read through a counting reader that
// stops one byte past what it may still hold (archive/zip also refuses an
// entry longer than declared), so the work stays bounded by
// MaxZipUncompressed whatever the directory says.
func checkDOCX(data []byte) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return unreadable(err)
	}
	if len(zr.File) > MaxZipEntries {
		return unreadable(nil)
	}
	var total uint64
	need := map[string]*zip.File{"[Content_Types].xml": nil, "word/document.xml": nil}
	for _, f := range zr.File {
		total += f.UncompressedSize64
		if total > MaxZipUncompressed {
			return unreadable(nil)
		}
		if f.UncompressedSize64 > 1<<20 && f.UncompressedSize64 > MaxZipRatio*max(f.CompressedSize64, 1) {
			return unreadable(nil)
		}
		if _, ok := need[f.Name]; ok {
			need[f.Name] = f
		}
	}
	for _, f := range need {
		if f == nil {
			return unreadable(nil)
		}
	}
	var actual int64
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		// This entry may inflate to at most the ratio's bound (1 MiB at
		// least) and what the total leaves.
		limit := min(max(int64(1<<20), MaxZipRatio*max(int64(f.CompressedSize64), 1)), MaxZipUncompressed-actual)
		rc, err := f.Open()
		if err != nil {
			return unreadable(err)
		}
		n, err := io.Copy(io.Discard, io.LimitReader(rc, limit+1))
		rc.Close()
		if err != nil {
			return unreadable(err)
		}
		if n > limit {
			return unreadable(nil)
		}
		actual += n
	}
	return nil
}
