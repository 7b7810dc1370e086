// Package glossary is the vocabulary customers read, in Japanese and
// English: for each thing the word to use and the words not to use.
// docs/glossary.md is its reading copy; the package's test checks every page
// template (internal/web/templates), every catalogue entry
// (internal/i18n/catalog) and every message template
// (internal/message/templates/{ja,en}) against it, so a word changed here is
// changed everywhere or the build fails.
//
// Check is the rule: a text in a language breaks the glossary when it
// contains a word to avoid, when a Japanese text contains an English word
// that is not a proper noun of ProperNouns, or when an English text contains
// Japanese. Template actions, HTML tags with their attributes, {param}
// placeholders, URLs, paths and e-mail addresses are not words and are
// removed first.
package glossary

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// Term is one thing customers read about and how each language names it.
type Term struct {
	Lang  string   // "ja" or "en"
	Use   string   // the word to use
	Avoid []string // RE2 patterns of the words not to use; English ones match case-insensitively, whole words
	Why   string   // a note for docs/glossary.md
}

// Terms is the glossary.
var Terms = []Term{
	// Japanese: the marketplace's words, the ones customers already know.
	{Lang: "ja", Use: "ログイン", Avoid: []string{"サインイン", "ログオン", "サインオン"}},
	{Lang: "ja", Use: "ログアウト", Avoid: []string{"サインアウト", "ログオフ", "サインオフ"}},
	{Lang: "ja", Use: "デバイス", Avoid: []string{"端末"}, Why: "パソコンやスマートフォンとブラウザーの組み合わせ"},
	{Lang: "ja", Use: "確認コード", Avoid: []string{"認証コード", "ワンタイムパスワード", "ワンタイムコード", "セキュリティコード", "ワンタイムパスコード", "パスコード"}},
	{Lang: "ja", Use: "パスワードアシスタント", Avoid: []string{"パスワードアシスタンス", "パスワードリセット"}, Why: "操作は「パスワードの再設定」"},
	{Lang: "ja", Use: "2段階認証", Avoid: []string{"二段階認証", "２段階認証", "2ステップ認証", "二要素認証", "2要素認証", "多要素認証"}},
	{Lang: "ja", Use: "メールアドレス", Avoid: []string{"[EeＥｅ]メール", "電子メール", "メアド"}, Why: "送る手段は「メール」"},
	{Lang: "ja", Use: "携帯電話番号", Avoid: []string{"携帯番号", "ケータイ"}},
	{Lang: "ja", Use: "画像認証", Avoid: []string{"キャプチャ", "CAPTCHA"}, Why: "画像の数字を入力する確認"},
	{Lang: "ja", Use: "アカウントを作成", Avoid: []string{"サインアップ"}, Why: "「新規登録」も可"},
	{Lang: "ja", Use: "ブラウザー", Avoid: []string{"ブラウザ(?:[^ー]|$)"}},
	{Lang: "ja", Use: "スマートフォン", Avoid: []string{"スマホ"}},
	{Lang: "ja", Use: "カスタマーサービス", Avoid: []string{"サポートセンター", "ヘルプデスク"}},
	{Lang: "ja", Use: "ほかの", Avoid: []string{"他の"}, Why: "「他人」はそのまま"},
	{Lang: "ja", Use: "日本の字体", Avoid: []string{"[话电请码认证]"}, Why: "簡体字（电话 → 電話）が紛れ込まないように"},

	// English.
	{Lang: "en", Use: "sign in", Avoid: []string{`log(?:ged|ging|s)? ?in`, `log-in`, `logins?`, `signin`, `sign(?:ed|ing|s)? on`}, Why: `verb "sign in", noun and adjective "sign-in"; also the account page heading`},
	{Lang: "en", Use: "sign out", Avoid: []string{`log(?:ged|ging|s)? ?out`, `log-out`, `logouts?`, `sign(?:ed|ing|s)? off`}},
	{Lang: "en", Use: "device", Avoid: []string{`terminals?`}},
	{Lang: "en", Use: "verification code", Avoid: []string{`OTPs?`, `one-time (?:code|password|passcode|PIN)s?`, `security codes?`, `authentication codes?`, `confirmation codes?`, `passcodes?`}, Why: `"code" alone once it is clear`},
	{Lang: "en", Use: "password assistant", Avoid: []string{`password assistance`}, Why: `the action is "reset your password"`},
	{Lang: "en", Use: "two-step verification", Avoid: []string{`2-step`, `two-factor`, `2FA`, `MFA`, `multi-factor`, `two-step authentication`}},
	{Lang: "en", Use: "email", Avoid: []string{`e-mails?`}, Why: `"email address"; one spelling`},
	{Lang: "en", Use: "mobile phone number", Avoid: []string{`cell ?phone`, `cellular`}},
	{Lang: "en", Use: "text message", Avoid: []string{`SMS`}, Why: "Japanese says SMS"},
	{Lang: "en", Use: "image check", Avoid: []string{`CAPTCHAs?`}, Why: "the CAPTCHA that asks for digits"},
	{Lang: "en", Use: "customer service", Avoid: []string{`contact support`, `help ?desk`, `support team`}},
	{Lang: "en", Use: "recognize", Avoid: []string{`recognis(?:e|ed|es|ing)`}, Why: "American spelling"},
}

// ProperNouns are the English words and acronyms a Japanese text may
// contain: names of things that have no Japanese name. Anything else of two
// or more ASCII letters in a Japanese text is an English word that needs a
// Japanese one.
var ProperNouns = []string{
	"Caps Lock", "SMS", "IP", "URL", "ID", "JST", "UTC",
	"DOC", "DOCX", "JPG", "JPEG", "PDF", "PNG", "QR",
	"Chrome", "Safari", "Firefox", "Edge", "Opera", "Windows", "macOS", "ChromeOS",
	"iPhone", "iPad", "Android", "Linux",
	// Formats and a system named in `ninsho import`'s refusals (operators).
	"JSON", "Firebase", "RFC", "base32",
	// The product's name, in the optional "powered by" line only: the
	// branded page and message tests (web, message) assert that nothing
	// else a customer reads says it.
	"Ninsho",
}

// Captcha is what the image check asks for: digits, never characters or
// letters, in every text that asks for the answer.
var Captcha = map[string]struct {
	Word  string   // the word
	Must  string   // RE2 pattern every asking text contains
	Avoid []string // RE2 patterns no asking text contains
}{
	"ja": {Word: "数字", Must: "数字", Avoid: []string{"文字", "英字", "数値", "番号"}},
	"en": {Word: "digits", Must: `(?i)\bdigits?\b`, Avoid: []string{`(?i)\b(?:numbers?|numerals?|characters?|letters?)\b`}},
}

// CaptchaAsking are the catalogue keys that ask for the image check's
// answer; CaptchaOther the keys about the check that do not. Every key with
// "captcha" in its name must be in one of them, so a new one is decided.
var (
	CaptchaAsking = []string{
		"error.captcha_required", "error.captcha_incorrect", "field.captcha_answer",
		"captcha.image_alt", "link.captcha_audio", "hint.captcha", "hint.captcha_signup",
	}
	CaptchaOther = []string{"button.new_captcha", "hint.captcha_passed", "recovery.captcha_passed", "history.refusal.captcha_required"}
)

// OwnLanguageKeys are catalogue keys whose text is in the language it names
// in every catalogue (the language switcher): "English" in ja.json, 日本語 in
// en.json.
var OwnLanguageKeys = []string{"lang.ja", "lang.en"}

// Violation is one break of the glossary.
type Violation struct {
	Text string // the offending words
	Rule string // what to write instead, or why
}

func (v Violation) String() string { return fmt.Sprintf("%q: %s", v.Text, v.Rule) }

type compiled struct {
	re   *regexp.Regexp
	rule string
}

var (
	avoid       = map[string][]compiled{} // lang -> patterns of Terms' Avoid
	properNouns []*regexp.Regexp          // ProperNouns, longest first
)

func init() {
	for _, t := range Terms {
		p := `(?:` + strings.Join(t.Avoid, "|") + `)`
		if t.Lang == "en" {
			p = `(?i)\b` + p + `\b`
		}
		rule := fmt.Sprintf("use %q", t.Use)
		if t.Why != "" {
			rule += " (" + t.Why + ")"
		}
		avoid[t.Lang] = append(avoid[t.Lang], compiled{regexp.MustCompile(p), rule})
	}
	nouns := slices.Clone(ProperNouns)
	slices.SortFunc(nouns, func(a, b string) int { return len(b) - len(a) })
	for _, n := range nouns {
		properNouns = append(properNouns, regexp.MustCompile(`\b`+regexp.QuoteMeta(n)+`\b`))
	}
}

var (
	actionRE      = regexp.MustCompile(`(?s)\{\{.*?\}\}`)
	commentRE     = regexp.MustCompile(`(?s)<!--.*?-->`)
	tagRE         = regexp.MustCompile(`(?s)<[!/]?[A-Za-z][^>]*>`)
	placeholderRE = regexp.MustCompile(`\{[A-Za-z0-9_]+\}`)
	urlRE         = regexp.MustCompile(`\b[a-z][a-z0-9+.-]*://\S+`)
	emailRE       = regexp.MustCompile(`[^\s@（）()「」、。:：]+@[^\s@（）()「」、。]+`)
	pathRE        = regexp.MustCompile(`(?:^|[^\w])/[A-Za-z0-9_\-/.?=&#%]+`)
	entityRE      = regexp.MustCompile(`&#?[A-Za-z0-9]+;`)
	asciiWordRE   = regexp.MustCompile(`[A-Za-z]{2,}`)
)

// Words returns what a reader reads of a text: the text without template
// actions, HTML comments, tags and their attributes, {param} placeholders,
// URLs, paths, e-mail addresses and HTML entities (each replaced by a
// space).
func Words(text string) string {
	for _, re := range []*regexp.Regexp{actionRE, commentRE, tagRE, placeholderRE, urlRE, emailRE, pathRE, entityRE} {
		text = re.ReplaceAllString(text, " ")
	}
	return text
}

// Check returns the glossary's violations in text, a text in lang ("ja" or
// "en") as written in a template or catalogue.
func Check(lang, text string) []Violation {
	words := Words(text)
	var vs []Violation
	for _, c := range avoid[lang] {
		for _, m := range c.re.FindAllString(words, -1) {
			vs = append(vs, Violation{strings.TrimSpace(m), c.rule})
		}
	}
	switch lang {
	case "ja":
		rest := words
		for _, re := range properNouns {
			rest = re.ReplaceAllString(rest, " ")
		}
		for _, m := range asciiWordRE.FindAllString(rest, -1) {
			vs = append(vs, Violation{m, "an English word in Japanese text: write it in Japanese (or add a proper noun to glossary.ProperNouns)"})
		}
	case "en":
		for _, r := range words {
			if unicode.In(r, unicode.Hiragana, unicode.Katakana, unicode.Han) {
				vs = append(vs, Violation{Excerpt(words, string(r)), "Japanese in English text"})
				break
			}
		}
	}
	return vs
}

// Units are the Japanese units written straight after their number, with
// no space: 「10分」「7日間」「25秒」「残り4回」.
var Units = []string{"分", "秒", "日", "時間", "回", "件", "文字", "桁", "か月", "年"}

// LatinCompounds are the Japanese words that begin with Latin letters and
// are written as one word, with no space between the letters and the kana:
// 「IPアドレス」. Every other Latin word stands apart from kana and kanji
// with a half-width space: 「Caps Lock がオン」「Windows の Chrome」.
var LatinCompounds = []string{"IPアドレス", "QRコード"}

var (
	// unitSpaceRE: a number (a digit, a {param} or a {{template action}})
	// then a space then a unit.
	unitSpaceRE = regexp.MustCompile(`(?:[0-9０-９]|\})[ \t　]+(?:` + strings.Join(Units, "|") + `)`)
	// latinJapaneseRE: a Latin letter touching kana or kanji, either way.
	latinJapaneseRE = regexp.MustCompile(`[A-Za-z][\p{Hiragana}\p{Katakana}\p{Han}ー]|[\p{Hiragana}\p{Katakana}\p{Han}ー][A-Za-z]`)
)

// CheckSpacing returns the breaks of the Japanese spacing rule in a
// Japanese text as written in a template or catalogue: no space between a
// number and its unit, a half-width space between a Latin word and kana or
// kanji (except LatinCompounds). Template actions, tags, placeholders,
// URLs, paths and e-mail addresses are not words (Words), so 「{{.brand_name}}の」
// and 「{system} の」 are the template's business, not this rule's.
func CheckSpacing(lang, text string) []Violation {
	if lang != "ja" {
		return nil
	}
	var vs []Violation
	for _, m := range unitSpaceRE.FindAllString(text, -1) {
		vs = append(vs, Violation{m, "no space between a number and its unit (「10分」「7日間」)"})
	}
	words := Words(text)
	for _, c := range LatinCompounds {
		words = strings.ReplaceAll(words, c, " ")
	}
	for _, m := range latinJapaneseRE.FindAllString(words, -1) {
		vs = append(vs, Violation{m, "a half-width space between a Latin word and kana or kanji (「Caps Lock がオン」「Windows の Chrome」)"})
	}
	return vs
}

// CheckCaptcha returns the violations of a text that asks for the image
// check's answer in lang.
func CheckCaptcha(lang, text string) []Violation {
	rule, ok := Captcha[lang]
	if !ok {
		return nil
	}
	words := Words(text)
	var vs []Violation
	if !regexp.MustCompile(rule.Must).MatchString(words) {
		vs = append(vs, Violation{strings.TrimSpace(words), fmt.Sprintf("the image check asks for digits: say %q", rule.Word)})
	}
	for _, a := range rule.Avoid {
		if m := regexp.MustCompile(a).FindString(words); m != "" {
			vs = append(vs, Violation{m, fmt.Sprintf("the image check asks for digits: say %q", rule.Word)})
		}
	}
	return vs
}

// Excerpt returns up to 20 characters either side of the first sub in s,
// for messages.
func Excerpt(s, sub string) string {
	i := strings.Index(s, sub)
	if i < 0 {
		return sub
	}
	r := []rune(s[:i])
	start := max(0, len(r)-20)
	after := []rune(s[i:])
	end := min(len(after), len([]rune(sub))+20)
	return strings.TrimSpace(string(r[start:]) + string(after[:end]))
}
