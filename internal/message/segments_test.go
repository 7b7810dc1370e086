package message_test

import (
	"strings"
	"testing"

	"github.com/ninsho/ninsho/internal/message"
)

func TestCountSMS(t *testing.T) {
	rep := strings.Repeat
	cases := []struct {
		name     string
		text     string
		encoding string
		units    int
		segments int
	}{
		{"empty", "", message.EncodingGSM7, 0, 1},
		{"ascii", "Your code is 123456", message.EncodingGSM7, 19, 1},
		{"159 GSM", rep("a", 159), message.EncodingGSM7, 159, 1},
		{"160 GSM", rep("a", 160), message.EncodingGSM7, 160, 1},
		{"161 GSM", rep("a", 161), message.EncodingGSM7, 161, 2},
		{"306 GSM", rep("a", 306), message.EncodingGSM7, 306, 2},
		{"307 GSM", rep("a", 307), message.EncodingGSM7, 307, 3},
		{"GSM accents and Greek", "éàÄΩ¿£¥", message.EncodingGSM7, 7, 1},
		{"euro is two septets", "€", message.EncodingGSM7, 2, 1},
		{"80 euros fill one", rep("€", 80), message.EncodingGSM7, 160, 1},
		{"158 + euro overflows", rep("a", 159) + "€", message.EncodingGSM7, 161, 2},
		{"extension table", "^{}\\[~]|", message.EncodingGSM7, 16, 1},
		// 152 septets, then an extension character that may not be split
		// across the parts' boundary: it opens the second part.
		{"escape not split", rep("a", 152) + "€" + rep("a", 10), message.EncodingGSM7, 164, 2},
		{"escape not split at the end", rep("a", 152) + "€" + rep("a", 152), message.EncodingGSM7, 306, 3},
		{"newline is GSM", "a\nb", message.EncodingGSM7, 3, 1},
		{"ç lowercase is not GSM", "ç", message.EncodingUCS2, 1, 1},
		{"backtick is not GSM", "`", message.EncodingUCS2, 1, 1},
		{"69 Japanese", rep("あ", 69), message.EncodingUCS2, 69, 1},
		{"70 Japanese", rep("あ", 70), message.EncodingUCS2, 70, 1},
		{"71 Japanese", rep("あ", 71), message.EncodingUCS2, 71, 2},
		{"134 Japanese", rep("あ", 134), message.EncodingUCS2, 134, 2},
		{"135 Japanese", rep("あ", 135), message.EncodingUCS2, 135, 3},
		{"one Japanese character turns GSM into UCS-2", rep("a", 70) + "字", message.EncodingUCS2, 71, 2},
		{"emoji is two units", "😀", message.EncodingUCS2, 2, 1},
		{"35 emoji fill one", rep("😀", 35), message.EncodingUCS2, 70, 1},
		{"36 emoji", rep("😀", 36), message.EncodingUCS2, 72, 2},
		// 66 units, then a surrogate pair that stays whole in part two.
		{"pair not split", rep("あ", 66) + "😀" + "あ", message.EncodingUCS2, 69, 1},
		{"pair not split over a part", rep("あ", 66) + "😀" + rep("あ", 5), message.EncodingUCS2, 73, 2},
		{"pair not split, three parts", rep("あ", 66) + "😀" + rep("あ", 66), message.EncodingUCS2, 134, 3},
		{"Japanese code", "【さくら商店】ログインコード123456\n@id.example.jp #123456", message.EncodingUCS2, 43, 1},
	}
	for _, tc := range cases {
		got := message.CountSMS(tc.text)
		want := message.SMSCount{Encoding: tc.encoding, Units: tc.units, Segments: tc.segments}
		if got != want {
			t.Errorf("%s: CountSMS = %+v, want %+v", tc.name, got, want)
		}
	}
}
