package message

import "unicode/utf16"

// SMS encodings (3GPP TS 23.038).
const (
	// EncodingGSM7 is the GSM 03.38 default alphabet: 7-bit septets, the
	// basic set plus the extension table (whose characters take two
	// septets: the escape and the character).
	EncodingGSM7 = "gsm7"
	// EncodingUCS2 is UCS-2 (in practice UTF-16): 16-bit units; a character
	// outside the Basic Multilingual Plane (most emoji) takes two.
	EncodingUCS2 = "ucs2"
)

// SMS segment sizes: a single message holds 160 septets or 70 UTF-16 units;
// each part of a concatenated message loses room to its header and holds
// 153 septets or 67 units.
const (
	GSM7Single = 160
	GSM7Part   = 153
	UCS2Single = 70
	UCS2Part   = 67
)

// SMSCount is how a text travels as SMS.
type SMSCount struct {
	Encoding string // EncodingGSM7 or EncodingUCS2
	Units    int    // septets (GSM-7) or UTF-16 units (UCS-2)
	Segments int    // messages the phone network bills; at least 1
}

// gsm7Basic is the GSM 03.38 basic character set (without the escape, which
// is not a character a text can hold).
const gsm7Basic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

// gsm7Extension is the GSM 03.38 extension table: each takes two septets.
const gsm7Extension = "\f^{}\\[~]|€"

var gsm7Septets = func() map[rune]int {
	m := map[rune]int{}
	for _, r := range gsm7Basic {
		m[r] = 1
	}
	for _, r := range gsm7Extension {
		m[r] = 2
	}
	return m
}()

// CountSMS returns the encoding, size and segment count of text as SMS:
// GSM-7 when every character is in the GSM 03.38 basic set or extension
// table, UCS-2 otherwise (one character outside GSM-7 turns the whole text
// into UCS-2). Parts of a concatenated message are filled greedily and a
// character is never split between two parts (an extension character's
// escape stays with it, a surrogate pair stays whole), as senders do; this
// can need one more part than units/part-size. An empty text is one
// segment.
func CountSMS(text string) SMSCount {
	sizes := make([]int, 0, len(text))
	gsm := true
	for _, r := range text {
		n, ok := gsm7Septets[r]
		if !ok {
			gsm = false
			break
		}
		sizes = append(sizes, n)
	}
	c := SMSCount{Encoding: EncodingGSM7}
	single, part := GSM7Single, GSM7Part
	if !gsm {
		c.Encoding = EncodingUCS2
		single, part = UCS2Single, UCS2Part
		sizes = sizes[:0]
		for _, r := range text {
			sizes = append(sizes, utf16.RuneLen(r))
		}
	}
	for _, n := range sizes {
		c.Units += n
	}
	if c.Units <= single {
		c.Segments = 1
		return c
	}
	used := 0
	c.Segments = 1
	for _, n := range sizes {
		if used+n > part {
			c.Segments++
			used = 0
		}
		used += n
	}
	return c
}
