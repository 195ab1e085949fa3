"""Every problem code kpitrack prints, defined once: its severity and a one-line summary.

The readers, the rules, the CSV importer and the sources name a code by its constant
(`codes.KT016`), so a code that is not defined here does not type-check, and a problem's
severity comes from here. `rules.RULES` is this registry (and `docs/rules.md` and the
README's rule table list it; tests keep them in sync).
"""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


ERROR, WARNING = Severity.ERROR, Severity.WARNING


class Rule(str):
    """A problem code: the text itself (`KT016 == "KT016"`, so it goes wherever a code
    goes and prints as one), with its severity and summary."""

    severity: Severity
    summary: str

    def __new__(cls, code: str, severity: Severity, summary: str) -> Rule:
        rule = super().__new__(cls, code)
        rule.severity = severity
        rule.summary = summary
        return rule

    @property
    def code(self) -> str:
        return str.__str__(self)

    def __repr__(self) -> str:
        return f"Rule({str.__repr__(self)}, {self.severity!s}, {self.summary!r})"


KT001 = Rule("KT001", ERROR, "YAML syntax error")
KT002 = Rule("KT002", ERROR, "file too large, binary, not UTF-8, or nested too deep")
KT003 = Rule("KT003", ERROR, "anchors, aliases, explicit tags and merge keys are refused")
KT004 = Rule("KT004", ERROR, "a second YAML document, or a mapping key that is not text")
KT005 = Rule("KT005", ERROR, "duplicate mapping key")
KT010 = Rule("KT010", ERROR, "the top level of a file is not a mapping")
KT011 = Rule("KT011", ERROR, "unknown top-level key")
KT012 = Rule("KT012", ERROR, "a section, entry or field has the wrong shape (list or mapping)")
KT013 = Rule("KT013", ERROR, "a required key is missing")
KT014 = Rule("KT014", ERROR, "a required key is empty")
KT015 = Rule("KT015", ERROR, "unknown key")
KT016 = Rule("KT016", ERROR, "not a number where a number belongs")
KT017 = Rule("KT017", ERROR, "not a finite number (NaN, infinity, out of range)")
KT018 = Rule("KT018", ERROR, "not text where text belongs")
KT019 = Rule("KT019", ERROR, "not a real date (YYYY-MM-DD)")
KT020 = Rule("KT020", ERROR, "an id that is not a slug [a-z0-9][a-z0-9_-]*")
KT021 = Rule("KT021", ERROR, "duplicate objective id")
KT022 = Rule("KT022", ERROR, "duplicate KPI id")
KT023 = Rule("KT023", ERROR, "reference to an unknown objective")
KT024 = Rule("KT024", ERROR, "reference to an unknown KPI")
KT025 = Rule("KT025", ERROR, "bad frequency, kind, direction, indicator or review")
KT030 = Rule("KT030", ERROR, "qualitative KPI without a scale")
KT031 = Rule("KT031", ERROR, "label not on the KPI's scale")
KT032 = Rule("KT032", ERROR, "progress value outside 0-100")
KT033 = Rule("KT033", ERROR, "milestones out of date order")
KT034 = Rule("KT034", ERROR, "milestone after the KPI's due date")
KT035 = Rule("KT035", ERROR, "grace_days is not a non-negative whole number")
KT036 = Rule("KT036", ERROR, "tags is not a list of text")
KT037 = Rule("KT037", ERROR, "bad scale: not a list of at least two distinct labels")
KT038 = Rule("KT038", ERROR, "start is after due")
KT039 = Rule("KT039", ERROR, "weight is not a positive number")
KT040 = Rule("KT040", ERROR, "objectives whose parents form a cycle")
KT041 = Rule("KT041", ERROR, "a KPI listed among its own drivers")
KT042 = Rule("KT042", ERROR, "KPIs whose drivers form a cycle")
KT065 = Rule("KT065", ERROR, "action is not text or a mapping {plan, owner, due, status}")
KT066 = Rule("KT066", ERROR, "action status is not open or done")
KT067 = Rule("KT067", ERROR, "archived is not true or false")
KT050 = Rule("KT050", ERROR, "a source that is not one well-formed sql, csv or command source")
KT051 = Rule("KT051", ERROR, "source SQL that does not start with SELECT or WITH")
KT052 = Rule("KT052", ERROR, "a connection URL or password in a KPI file")
KT053 = Rule("KT053", ERROR, "source database not named in the local config's [databases]")
KT054 = Rule("KT054", ERROR, "source command that is not a list of program and arguments")
KT055 = Rule(
    "KT055", ERROR, "source CSV file outside the workspace, unreadable or without the named column"
)
KT056 = Rule("KT056", ERROR, "qualitative KPI's source without a valid scale_map")
KT057 = Rule("KT057", ERROR, "source timeout that is not a number of seconds (0-3600]")
KT045 = Rule("KT045", ERROR, "more problems in one file than are shown (the first 1,000)")
KT101 = Rule("KT101", WARNING, "KPI without an owner")
KT102 = Rule("KT102", WARNING, "KPI without an objective")
KT103 = Rule("KT103", WARNING, "owner with more KPIs than the focus limit")
KT104 = Rule("KT104", WARNING, "objective with more KPIs than the focus limit")
KT105 = Rule("KT105", WARNING, "two measurements of one KPI in the same period")
KT106 = Rule("KT106", WARNING, "measurement dated after the as-of date")
KT107 = Rule("KT107", WARNING, "measure too vague to reproduce (fewer than three words)")
KT108 = Rule("KT108", WARNING, "milestone that moves away from the target")
KT109 = Rule("KT109", WARNING, "scale given for a KPI that is not qualitative (ignored)")
KT110 = Rule("KT110", WARNING, "objective with lagging KPIs but no leading one")
KT111 = Rule("KT111", WARNING, "objective with leading KPIs but no lagging one")
KT112 = Rule("KT112", WARNING, "objective with no quantitative KPI")
KT113 = Rule("KT113", WARNING, "KPI off track or at risk for stuck_periods periods, no action")
KT114 = Rule("KT114", WARNING, "KPI value unchanged for flat_periods periods")
KT115 = Rule("KT115", WARNING, "KPI past its due date and still active (archive it)")
KT116 = Rule("KT116", WARNING, "active KPI driven by an archived KPI")
KT120 = Rule("KT120", WARNING, "source CSV file does not exist (yet)")
KT121 = Rule("KT121", WARNING, "command source while the local config does not allow commands")
KT201 = Rule("KT201", ERROR, "CSV header: unreadable, missing, unknown or duplicate column")
KT202 = Rule("KT202", ERROR, "CSV row: unreadable, too many fields, or a bad kpi/date/value")
KT210 = Rule("KT210", ERROR, "CSV input over the 32 MiB limit")
KT211 = Rule("KT211", ERROR, "CSV input that is a device, pipe or folder (other than -)")
KT212 = Rule("KT212", ERROR, "CSV input with more than 1,000,000 rows")
KT213 = Rule("KT213", ERROR, "CSV input with more than 1,000 row problems; reading stopped")

# Codes about KPI files (check's rules).
RULES: dict[str, Rule] = {
    r.code: r
    for r in (
        KT001,
        KT002,
        KT003,
        KT004,
        KT005,
        KT010,
        KT011,
        KT012,
        KT013,
        KT014,
        KT015,
        KT016,
        KT017,
        KT018,
        KT019,
        KT020,
        KT021,
        KT022,
        KT023,
        KT024,
        KT025,
        KT030,
        KT031,
        KT032,
        KT033,
        KT034,
        KT035,
        KT036,
        KT037,
        KT038,
        KT039,
        KT040,
        KT041,
        KT042,
        KT065,
        KT066,
        KT067,
        KT050,
        KT051,
        KT052,
        KT053,
        KT054,
        KT055,
        KT056,
        KT057,
        KT045,
        KT101,
        KT102,
        KT103,
        KT104,
        KT105,
        KT106,
        KT107,
        KT108,
        KT109,
        KT110,
        KT111,
        KT112,
        KT113,
        KT114,
        KT115,
        KT116,
        KT120,
        KT121,
    )
}

# Codes `kpitrack import` prints about the CSV file itself (not about KPI files).
CSV_RULES: dict[str, Rule] = {
    r.code: r
    for r in (
        KT201,
        KT202,
        KT210,
        KT211,
        KT212,
        KT213,
    )
}
