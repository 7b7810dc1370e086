package ninsho

// Catalogue codes of the realms' settings changed at run time (issue 15,
// internal/realmset: `ninsho realms`, the console's realms page).
const (
	// CodeRealmSettingsInvalid: a realm's new settings fail the checks the
	// configuration file gets; param problems lists each problem, one a
	// line, naming the setting (400).
	CodeRealmSettingsInvalid Code = "realm_settings_invalid"
	// CodeRealmSettingFixed: a change to a setting read only at start
	// (id, providers, theme, branding.logo); param key names it. It is
	// changed in the configuration file, and applies at the next start
	// (409).
	CodeRealmSettingFixed Code = "realm_setting_fixed"
	// CodeRealmExists: a realm is created with the id of a stored realm
	// (409).
	CodeRealmExists Code = "realm_exists"
)
