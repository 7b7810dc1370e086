package message

import (
	"strings"
	"testing"
)

// TestPasswordChangedOthersKept: a password changed in the settings without
// "sign out everywhere else" says the other devices stay signed in, and only
// then; without the variable (the password assistant, unlock) the message
// says every other device was signed out, as before.
func TestPasswordChangedOthersKept(t *testing.T) {
	tm := MustTemplates(t)
	kept := map[string]string{LocaleEN: "Your other devices stay signed in.", LocaleJA: "ほかのデバイスはログインしたままです。"}
	out := map[string]string{LocaleEN: "Every other device has been signed out.", LocaleJA: "ほかのデバイスはすべてログアウトされています。"}
	for _, loc := range []string{LocaleJA, LocaleEN} {
		vars := varsFor(TemplatePasswordChanged, loc)
		r, err := tm.Render(ChannelEmail, TemplatePasswordChanged, loc, goldenBrand(loc), vars)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(r.Text, out[loc]) || strings.Contains(r.Text, kept[loc]) || !strings.Contains(r.HTML, out[loc]) {
			t.Errorf("%s without others_kept:\n%s", loc, r.Text)
		}
		vars["others_kept"] = "1"
		r, err = tm.Render(ChannelEmail, TemplatePasswordChanged, loc, goldenBrand(loc), vars)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(r.Text, out[loc]) || !strings.Contains(r.Text, kept[loc]) || !strings.Contains(r.HTML, kept[loc]) {
			t.Errorf("%s with others_kept:\n%s", loc, r.Text)
		}
	}
}

// TestIdentifierRemovedNamesTheKind: the alert names what was removed, an
// email address or a mobile phone number, in both languages and channels.
func TestIdentifierRemovedNamesTheKind(t *testing.T) {
	tm := MustTemplates(t)
	words := map[string]map[string]string{
		LocaleEN: {"email": "mail address", "phone": "hone number"},
		LocaleJA: {"email": "メールアドレス", "phone": "電話番号"},
	}
	for _, loc := range []string{LocaleJA, LocaleEN} {
		for _, kind := range []string{"email", "phone"} {
			vars := varsFor(TemplateIdentifierRemoved, loc)
			vars["kind"] = kind
			for _, ch := range []Channel{ChannelEmail, ChannelSMS} {
				r, err := tm.Render(ch, TemplateIdentifierRemoved, loc, goldenBrand(loc), vars)
				if err != nil {
					t.Fatal(err)
				}
				other := words[loc]["phone"]
				if kind == "phone" {
					other = words[loc]["email"]
				}
				if !strings.Contains(r.Subject+r.Text, words[loc][kind]) || strings.Contains(r.Subject+r.Text, other) || !strings.Contains(r.Text, vars["link"]) {
					t.Errorf("%s %s %s:\n%s\n%s", loc, kind, ch, r.Subject, r.Text)
				}
			}
		}
	}
}

func init() {
	// The removal alert carries a "this wasn't me" link (segments_fit_test).
	linkTemplates[TemplateIdentifierRemoved] = true
}

// TestIdentifierRemovedUndoVariant: the removed address's alert (undo "1")
// says the link puts the address back; the others do not.
func TestIdentifierRemovedUndoVariant(t *testing.T) {
	tm := MustTemplates(t)
	words := map[string]string{LocaleEN: "puts it back", LocaleJA: "削除を取り消して"}
	for _, loc := range []string{LocaleJA, LocaleEN} {
		for _, undo := range []bool{false, true} {
			vars := varsFor(TemplateIdentifierRemoved, loc)
			if undo {
				vars["undo"] = "1"
			}
			r, err := tm.Render(ChannelEmail, TemplateIdentifierRemoved, loc, goldenBrand(loc), vars)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(r.Text, words[loc]) != undo {
				t.Errorf("%s undo %v:\n%s", loc, undo, r.Text)
			}
		}
	}
}
