package recovery_test

import (
	"archive/zip"
	"bytes"
	"io"
	"strconv"
	"testing"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/recovery"
	"github.com/ninsho/ninsho/internal/recovery/recoverytest"
)

func TestReadDocumentAccepts(t *testing.T) {
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"png", recoverytest.MustPNG(t), recovery.MimePNG},
		{"jpeg", recoverytest.MustJPEG(t), recovery.MimeJPEG},
		{"pdf", recoverytest.MinimalPDF(), recovery.MimePDF},
		{"docx", recoverytest.MustDOCX(t, nil), recovery.MimeDOCX},
		{"doc", recoverytest.MinimalDOC(), recovery.MimeDOC},
	} {
		got, err := recovery.ReadDocument(bytes.NewReader(c.data))
		if err != nil {
			t.Errorf("%s: %v, want accepted", c.name, err)
			continue
		}
		if got.Mime != c.want || !bytes.Equal(got.Data, c.data) {
			t.Errorf("%s: mime %q, want %q", c.name, got.Mime, c.want)
		}
	}
}

// countingReader counts the bytes read from it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// endless is an endless stream of one byte.
type endless byte

func (e endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(e)
	}
	return len(p), nil
}

func TestReadDocumentRefuses(t *testing.T) {
	elf := append([]byte{0x7F, 'E', 'L', 'F', 2, 1, 1, 0}, make([]byte, 200)...)
	mz := append([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"), make([]byte, 200)...)
	html := []byte("<!DOCTYPE html><html><head><title>x</title></head><body><script>alert(1)</script></body></html>")
	many := map[string][]byte{}
	for i := range recovery.MaxZipEntries {
		many["word/p"+strconv.Itoa(i)+".xml"] = []byte("x")
	}
	notWord := func() []byte {
		var b bytes.Buffer
		zw := zip.NewWriter(&b)
		w, _ := zw.Create("[Content_Types].xml")
		io.WriteString(w, "<Types/>")
		w, _ = zw.Create("word/styles.xml")
		io.WriteString(w, "<w/>")
		zw.Close()
		return b.Bytes()
	}()
	for _, c := range []struct {
		name string // as it was named by whoever uploaded it
		data []byte
		want ninsho.Code
	}{
		{"setup.png (ELF)", elf, ninsho.CodeDocumentTypeNotAllowed},
		{"setup.png (MZ)", mz, ninsho.CodeDocumentTypeNotAllowed},
		{"licence.pdf (HTML)", html, ninsho.CodeDocumentTypeNotAllowed},
		{"licence.docx (zip bomb)", recoverytest.ZipBomb(t), ninsho.CodeDocumentUnreadable},
		{"licence.docx (zip bomb, sizes patched)", recoverytest.PatchedZipBomb(t, 60<<20), ninsho.CodeDocumentUnreadable},
		{"licence.docx (small bomb, sizes patched)", recoverytest.PatchedZipBomb(t, 5<<20), ninsho.CodeDocumentUnreadable},
		{"licence.docx (too many entries)", recoverytest.MustDOCX(t, many), ninsho.CodeDocumentUnreadable},
		{"licence.docx (no document)", notWord, ninsho.CodeDocumentUnreadable},
		{"empty.png", nil, ninsho.CodeDocumentUnreadable},
		{"big.png", append(recoverytest.MustPNG(t), make([]byte, recovery.MaxDocumentSize)...), ninsho.CodeDocumentTooLarge},
	} {
		_, err := recovery.ReadDocument(bytes.NewReader(c.data))
		if got := ninsho.CodeOf(err); got != c.want || ninsho.ErrorOf(err).Field != "file" {
			t.Errorf("%s: %v, want %s (field file)", c.name, err, c.want)
		}
	}
	// Polyglots and truncated files: the signature is not enough.
	for name, data := range recoverytest.Polyglots(t) {
		_, err := recovery.ReadDocument(bytes.NewReader(data))
		if got := ninsho.CodeOf(err); got != ninsho.CodeDocumentUnreadable && got != ninsho.CodeDocumentTypeNotAllowed {
			t.Errorf("%s: %v, want refused", name, err)
		}
	}
	// Padding after an image's end (some cameras write zeros) is not a
	// page behind it.
	for name, data := range map[string][]byte{"png": recoverytest.MustPNG(t), "jpeg": recoverytest.MustJPEG(t)} {
		if _, err := recovery.ReadDocument(bytes.NewReader(append(data, make([]byte, 64)...))); err != nil {
			t.Errorf("%s with trailing zeros: %v", name, err)
		}
	}
	// A PDF whose %%EOF is gone (cut short) is refused.
	pdf := recoverytest.MinimalPDF()
	if _, err := recovery.ReadDocument(bytes.NewReader(pdf[:len(pdf)-8])); ninsho.CodeOf(err) != ninsho.CodeDocumentUnreadable {
		t.Errorf("truncated pdf: %v", err)
	}
	// An endless upload is refused after one byte past the limit.
	cr := &countingReader{r: endless('A')}
	if _, err := recovery.ReadDocument(cr); ninsho.CodeOf(err) != ninsho.CodeDocumentTooLarge {
		t.Fatalf("endless: %v", err)
	}
	if cr.n > recovery.MaxDocumentSize+1+32<<10 {
		t.Errorf("read %d bytes of an endless upload, want at most the limit + 1 (and one buffer)", cr.n)
	}
}

func TestDocumentTypes(t *testing.T) {
	for _, dt := range recovery.DocumentTypes {
		got, err := recovery.ParseDocumentType(string(dt))
		if err != nil || got != dt {
			t.Errorf("ParseDocumentType(%q) = %q, %v", dt, got, err)
		}
		want := dt == recovery.Passport || dt == recovery.PensionBook
		if dt.NeedsAddress() != want {
			t.Errorf("%s.NeedsAddress() = %v, want %v", dt, !want, want)
		}
	}
	if _, err := recovery.ParseDocumentType("student_card"); ninsho.CodeOf(err) != ninsho.CodeDocumentTypeNotAllowed {
		t.Errorf("student_card: %v", err)
	}
}

// FuzzCheckDocument: whatever the bytes, the checker answers an accepted
// format or one of its catalogue refusals, never panics, and never accepts
// what mimetype would not call one of the five formats.
func FuzzCheckDocument(f *testing.F) {
	f.Add(recoverytest.MustPNG(f))
	f.Add(recoverytest.MustJPEG(f))
	f.Add(recoverytest.MinimalPDF())
	f.Add(recoverytest.MustDOCX(f, nil))
	f.Add(recoverytest.MinimalDOC())
	f.Add([]byte("<html></html>"))
	f.Add([]byte("PK\x03\x04"))
	f.Add(recoverytest.PatchedZipBomb(f, 5<<20))
	for _, data := range recoverytest.Polyglots(f) {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := recovery.CheckDocument(data)
		if err != nil {
			switch ninsho.CodeOf(err) {
			case ninsho.CodeDocumentTypeNotAllowed, ninsho.CodeDocumentUnreadable, ninsho.CodeDocumentTooLarge:
			default:
				t.Fatalf("refusal %v", err)
			}
			return
		}
		if recovery.Extension(got.Mime) == "bin" {
			t.Fatalf("accepted %q", got.Mime)
		}
	})
}
