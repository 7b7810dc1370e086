package ninsho

// Catalogue codes of the realms' own settings of languages, passwords and
// codes (issue 15), kept apart from errors.go so that parallel work does
// not write into one list.
const (
	// CodeLocaleNotOffered: the person set, as the account's language, a
	// supported language that the realm does not offer (field locale,
	// param offered: the realm's languages, comma-separated) (400).
	CodeLocaleNotOffered Code = "locale_not_offered"
)
