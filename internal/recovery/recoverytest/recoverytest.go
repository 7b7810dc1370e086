// Package recoverytest makes real files of every format document recovery
// accepts (and a zip bomb), for tests of internal/recovery and its
// adapters.
package recoverytest

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"
)

// MustPNG returns a small PNG image made by image/png.
func MustPNG(tb testing.TB) []byte {
	tb.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 32, 20))
	for x := range 32 {
		img.Set(x, x%20, color.RGBA{R: 200, G: 30, B: byte(x * 7), A: 255})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// MustJPEG returns a small JPEG image made by image/jpeg.
func MustJPEG(tb testing.TB) []byte {
	tb.Helper()
	img := image.NewGray(image.Rect(0, 0, 24, 24))
	for i := range img.Pix {
		img.Pix[i] = byte(i)
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 80}); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// MinimalPDF is a minimal valid one-page PDF with its cross-reference table.
func MinimalPDF() []byte {
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		b.WriteString(strings.Join([]string{itoa(i + 1), " 0 obj\n", o, "\nendobj\n"}, ""))
	}
	xref := b.Len()
	b.WriteString("xref\n0 " + itoa(len(objs)+1) + "\n0000000000 65535 f \n")
	for _, off := range offsets {
		s := itoa(off)
		b.WriteString(strings.Repeat("0", 10-len(s)) + s + " 00000 n \n")
	}
	b.WriteString("trailer\n<< /Size " + itoa(len(objs)+1) + " /Root 1 0 R >>\nstartxref\n" + itoa(xref) + "\n%%EOF\n")
	return b.Bytes()
}

func itoa(n int) string { return strconv.Itoa(n) }

// MustDOCX returns a minimal Word document: a zip with [Content_Types].xml,
// _rels/.rels and word/document.xml, plus the extra entries given.
func MustDOCX(tb testing.TB, extra map[string][]byte) []byte {
	tb.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	files := []struct{ name, body string }{
		{"[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`},
		{"_rels/.rels", `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>`},
		{"word/document.xml", `<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Hanako Yamada</w:t></w:r></w:p></w:body></w:document>`},
	}
	for _, f := range files {
		w, err := zw.Create(f.name)
		if err != nil {
			tb.Fatal(err)
		}
		io.WriteString(w, f.body)
	}
	for name, body := range extra {
		w, err := zw.Create(name)
		if err != nil {
			tb.Fatal(err)
		}
		w.Write(body)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// MinimalDOC returns an OLE compound file (CFB version 3, 512-byte
// sectors): the header, one FAT sector and one directory sector holding the
// root storage, whose CLSID is Word.Document.8, and an empty WordDocument
// stream — what Word 97-2003 files are.
func MinimalDOC() []byte {
	const sector = 512
	b := make([]byte, 3*sector)
	h := b[:sector]
	copy(h, []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1})
	le := binary.LittleEndian
	le.PutUint16(h[24:], 0x003E)     // minor version
	le.PutUint16(h[26:], 0x0003)     // major version 3
	le.PutUint16(h[28:], 0xFFFE)     // byte order
	le.PutUint16(h[30:], 9)          // sector shift: 512
	le.PutUint16(h[32:], 6)          // mini sector shift: 64
	le.PutUint32(h[44:], 1)          // FAT sectors
	le.PutUint32(h[48:], 1)          // first directory sector
	le.PutUint32(h[56:], 4096)       // mini stream cutoff
	le.PutUint32(h[60:], 0xFFFFFFFE) // no mini FAT
	le.PutUint32(h[68:], 0xFFFFFFFE) // no DIFAT sectors
	le.PutUint32(h[76:], 0)          // DIFAT[0]: the FAT is sector 0
	for i := 80; i < sector; i += 4 {
		le.PutUint32(h[i:], 0xFFFFFFFF)
	}
	fat := b[sector : 2*sector]
	for i := 0; i < sector; i += 4 {
		le.PutUint32(fat[i:], 0xFFFFFFFF)
	}
	le.PutUint32(fat[0:], 0xFFFFFFFD) // sector 0 is the FAT
	le.PutUint32(fat[4:], 0xFFFFFFFE) // sector 1 (directory) ends its chain
	dir := b[2*sector:]
	entry := func(i int, name string, typ byte, child uint32, clsid []byte) {
		e := dir[i*128 : (i+1)*128]
		u := utf16.Encode([]rune(name))
		for j, c := range u {
			le.PutUint16(e[2*j:], c)
		}
		le.PutUint16(e[64:], uint16(2*len(u)+2))
		e[66], e[67] = typ, 1
		le.PutUint32(e[68:], 0xFFFFFFFF)
		le.PutUint32(e[72:], 0xFFFFFFFF)
		le.PutUint32(e[76:], child)
		copy(e[80:], clsid)
		le.PutUint32(e[116:], 0xFFFFFFFE)
	}
	for i := range 4 {
		e := dir[i*128 : (i+1)*128]
		le.PutUint32(e[68:], 0xFFFFFFFF)
		le.PutUint32(e[72:], 0xFFFFFFFF)
		le.PutUint32(e[76:], 0xFFFFFFFF)
	}
	word8 := []byte{0x06, 0x09, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46}
	entry(0, "Root Entry", 5, 1, word8)
	entry(1, "WordDocument", 2, 0xFFFFFFFF, nil)
	return b
}

// ZipBomb returns a DOCX-looking archive with the required entries and one
// entry of 20 MiB of zeros that deflates to a few kilobytes.
func ZipBomb(tb testing.TB) []byte {
	return MustDOCX(tb, map[string][]byte{"word/media/zeros.bin": make([]byte, 20<<20)})
}

// PatchedZipBomb returns a DOCX-looking archive with the required entries
// and one entry of n bytes of zeros whose declared uncompressed size is
// patched to 1,000,000 in both the central directory and the local header:
// the directory looks harmless, only inflating it shows the bomb.
func PatchedZipBomb(tb testing.TB, n int) []byte {
	tb.Helper()
	const declared = 1_000_000
	var comp bytes.Buffer
	fw, err := flate.NewWriter(&comp, flate.BestCompression)
	if err != nil {
		tb.Fatal(err)
	}
	zeros := make([]byte, 1<<20)
	for left := n; left > 0; left -= len(zeros) {
		fw.Write(zeros[:min(left, len(zeros))])
	}
	fw.Close()
	base := MustDOCX(tb, nil)
	zr, err := zip.NewReader(bytes.NewReader(base), int64(len(base)))
	if err != nil {
		tb.Fatal(err)
	}
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, f := range zr.File {
		if err := zw.Copy(f); err != nil {
			tb.Fatal(err)
		}
	}
	// CreateRaw writes the sizes given into the local header and the
	// central directory (no data descriptor).
	w, err := zw.CreateRaw(&zip.FileHeader{
		Name: "word/media/zeros.bin", Method: zip.Deflate,
		CompressedSize64: uint64(comp.Len()), UncompressedSize64: declared,
		CRC32: crc32.ChecksumIEEE(make([]byte, declared)),
	})
	if err != nil {
		tb.Fatal(err)
	}
	w.Write(comp.Bytes())
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// Polyglots returns files that start as an accepted format but are not one
// (an HTML page behind a PDF, PNG or JPEG signature) and a truncated PNG,
// by name.
func Polyglots(tb testing.TB) map[string][]byte {
	tb.Helper()
	html := "<html><body><script>alert(1)</script></body></html>"
	return map[string][]byte{
		"pdf+html":       []byte("%PDF-1.4\n" + html),
		"png+html":       append([]byte("\x89PNG\r\n\x1a\n"), html...),
		"jpeg+html":      append([]byte("\xff\xd8\xff\xe0"), html...),
		"truncated png":  MustPNG(tb)[:20],
		"truncated jpeg": MustJPEG(tb)[:40],
		// Whole, valid documents with a page behind them (found from
		// outside): the format's end is not the file's.
		"pdf+html+eof":     []byte("%PDF-1.4\n" + html + "\n%%EOF\n"),
		"valid pdf+script": append(append([]byte{}, MinimalPDF()[:len(MinimalPDF())-6]...), []byte("<SCRIPT>alert(1)</SCRIPT>\n%%EOF\n")...),
		"valid png+html":   append(MustPNG(tb), html...),
		"valid jpeg+html":  append(MustJPEG(tb), html...),
	}
}
