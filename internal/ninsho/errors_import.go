package ninsho

// Catalogue codes of `ninsho import` (issue 16, internal/importer): why a
// line of an import file was refused. Kept apart from errors.go so that
// parallel work does not write into one list.
const (
	// CodeImportLineInvalid: the line is not one JSON object of the
	// documented fields (bad JSON, an unknown field, a value of the wrong
	// type, or longer than importer.MaxLineBytes).
	CodeImportLineInvalid Code = "import_line_invalid"
	// CodeImportIdentifierMissing: the line has neither an e-mail address
	// nor a phone number.
	CodeImportIdentifierMissing Code = "import_identifier_missing"
	// CodeImportIdentifierRepeated: the identifier (normalised) is on an
	// earlier line of the same file; param line is that line.
	CodeImportIdentifierRepeated Code = "import_identifier_repeated"
	// CodeImportHashUnsupported: the password hash is of no supported
	// format.
	CodeImportHashUnsupported Code = "import_hash_unsupported"
	// CodeImportHashMalformed: the password hash names a supported format
	// but does not parse.
	CodeImportHashMalformed Code = "import_hash_malformed"
	// CodeImportHashCost: the password hash's cost parameters are beyond
	// the import bounds (docs/operations.md).
	CodeImportHashCost Code = "import_hash_cost"
	// CodeImportFirebaseParams: a Firebase scrypt hash, but the command
	// line gave no Firebase hash parameters.
	CodeImportFirebaseParams Code = "import_firebase_params"
	// CodeImportTOTPInvalid: the TOTP secret is not base32 of 10 to 64
	// bytes.
	CodeImportTOTPInvalid Code = "import_totp_invalid"
	// CodeImportCreatedAtInvalid: created_at is not an RFC 3339 time, or is
	// in the future.
	CodeImportCreatedAtInvalid Code = "import_created_at_invalid"
)
