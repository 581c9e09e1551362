"""SQL macros: DuckDB's own `CREATE MACRO`, written once and used by every SQL recipe and rule of a domain.

Two files hold them: the mesh's (`MeshSettings.macros_file`, at the repository root) and each
domain's (`macros.sql` beside its `domain.yaml`), read in that order, so a domain's macros may use
the mesh's (and replace one with `CREATE OR REPLACE MACRO`). A file holds `CREATE [OR REPLACE] MACRO`
statements only (scalar macros and `AS TABLE` ones; `FUNCTION` is DuckDB's other word for it).

They are installed as TEMP macros on each connection that runs the domain's SQL, never stored
in its DuckDB file, so an edit takes effect on the next build. DuckDB binds a macro when it is
created: one whose body reads a table (a product's input) is installed only where that table is.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mesh_platform.core.errors import MacroError, Problem
from mesh_platform.core.user_files import UnreadableFileError, read_user_text

if TYPE_CHECKING:
    import duckdb

MACROS_FILE = "macros.sql"  # a domain's, beside domain.yaml (the mesh's location is MeshSettings.macros_file)
_HEADER = re.compile(r"CREATE\s+(?P<replace>OR\s+REPLACE\s+)?(?:(?:TEMP|TEMPORARY)\s+)?(?:MACRO|FUNCTION)\s+", re.IGNORECASE)
_NAME = re.compile(r'"(?P<quoted>(?:[^"]|"")+)"|(?P<plain>[A-Za-z_][A-Za-z0-9_$]*)')
_MISSING = re.compile(  # DuckDB's words for a table, or a function or macro, the connection does not have
    r"(?P<kind>Table|Table Function|Scalar Function|Macro Function) with name \"?(?P<name>[^\s\"!]+)\"? does not exist",
    re.IGNORECASE,
)
_LINE = re.compile(r"^LINE (\d+):", re.MULTILINE)
FIX = "a macros file holds CREATE [OR REPLACE] MACRO name(parameters) AS expression (or AS TABLE SELECT …) statements only"


@dataclass(frozen=True)
class Macro:
    """One `CREATE MACRO` statement of a macros file."""

    name: str
    statement: str  # as written, from CREATE to before its `;`
    file: Path
    line: int  # where the statement's CREATE is
    replaces: bool  # written CREATE OR REPLACE: it may replace a macro of the same name read before it

    @property
    def temporary(self) -> str:
        """The statement as the platform runs it: a TEMP macro of the connection, never stored in a database file."""
        header = _HEADER.match(self.statement)
        assert header is not None
        return f"CREATE {'OR REPLACE ' if self.replaces else ''}TEMP MACRO {self.statement[header.end() :]}"

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class MacroFile:
    """A macros file as read: its macros, and what is wrong in it (each with its line)."""

    path: Path
    macros: tuple[Macro, ...] = ()
    problems: tuple[Problem, ...] = ()

    @classmethod
    def read(cls, path: Path) -> MacroFile:
        """The file at `path`, parsed (again only when it changed); no file, no macros."""
        try:
            stat = Path(path).stat()
        except OSError:
            return cls(Path(path))
        return _read(Path(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=256)
def _read(path: Path, modified: int, size: int) -> MacroFile:
    import duckdb

    try:
        text = read_user_text(path, "SQL")  # a regular file within the limit: never a FIFO or a device
    except UnreadableFileError as error:
        return MacroFile(path, problems=(Problem(path, "", None, error.message, error.fix or "save it as UTF-8 text"),))
    try:
        statements = duckdb.extract_statements(text)
    except duckdb.Error as error:
        return MacroFile(path, problems=(Problem(path, "", _error_line(error, 1), f"not valid SQL: {_first_line(error)}", FIX),))
    macros: list[Macro] = []
    problems: list[Problem] = []
    offset = 0
    for statement in statements:
        query, lead = statement.query, _leading_blank(statement.query)
        line = text.count("\n", 0, offset + lead) + 1
        offset += len(query)
        written = query[lead:].rstrip().removesuffix(";").rstrip()
        header = _HEADER.match(written)
        name = _NAME.match(written, header.end()) if header else None
        if header is None or name is None:
            kind = statement.type.name if statement.type.name != "CREATE" else " ".join(written.split()[:2]).upper()
            problems.append(
                Problem(path, "statement", line, f"only CREATE MACRO statements belong in a macros file, not {kind}", FIX)
            )
            continue
        named = name["quoted"].replace('""', '"') if name["quoted"] else name["plain"].lower()  # DuckDB folds plain names
        macro = Macro(named, written, path, line, bool(header["replace"]))
        if (earlier := next((m for m in macros if m.name == macro.name), None)) is not None and not macro.replaces:
            message = f"macro {macro.name} is defined twice in the file (first at line {earlier.line})"
            problems.append(Problem(path, f"macro {macro.name}", line, message, "keep one, or write CREATE OR REPLACE MACRO"))
            continue
        macros.append(macro)
    return MacroFile(path, tuple(macros), tuple(problems))


@dataclass(frozen=True)
class Unavailable:
    """A macro not installed on a connection: its body reads a table (or a macro) the connection does not have."""

    macro: Macro
    missing: str

    def __str__(self) -> str:
        return f"{self.macro.name} ({self.macro.where}) reads {self.missing}, which this SQL does not have"


@dataclass(frozen=True)
class SqlMacros:
    """The macros one domain's SQL sees: the mesh's file, then the domain's (files that do not exist are skipped)."""

    files: tuple[MacroFile, ...] = ()

    @classmethod
    def of(cls, paths: Iterable[Path | None]) -> SqlMacros:
        return cls(tuple(MacroFile.read(p) for p in paths if p is not None))

    @classmethod
    def of_domain(cls, mesh_file: Path | None, domain_folder: Path) -> SqlMacros:
        """The mesh's macros (`MeshSettings.macros_file`), then those of the domain in `domain_folder`."""
        return cls.of([mesh_file, Path(domain_folder) / MACROS_FILE])

    @property
    def macros(self) -> tuple[Macro, ...]:
        return tuple(m for f in self.files for m in f.macros)

    @property
    def paths(self) -> list[Path]:
        """The macros files that exist (what the SQL's code version depends on)."""
        return [f.path for f in self.files if f.path.is_file()]

    def problems(self) -> list[Problem]:
        """What is wrong in the files, read without a connection: statements that are no macro, names defined twice."""
        found = [p for f in self.files for p in f.problems]
        for index, file in enumerate(self.files):
            earlier = {m.name: m for f in self.files[:index] for m in f.macros}
            for macro in file.macros:
                if macro.name in earlier and not macro.replaces:
                    message = f"macro {macro.name} is already defined in {earlier[macro.name].where}"
                    fix = "write CREATE OR REPLACE MACRO to replace it for this domain, or rename it"
                    found.append(Problem(macro.file, f"macro {macro.name}", macro.line, message, fix))
        return found

    def install(self, connection: duckdb.DuckDBPyConnection) -> list[Unavailable]:
        """Create every macro as a TEMP macro of `connection` (after its tables: DuckDB binds a macro when it is made).

        A macro reading a table the connection lacks is left out (returned); anything else wrong raises `MacroError`."""
        unavailable, problems = self.try_install(connection)
        if problems:
            raise MacroError(problems)
        return unavailable

    def try_install(self, connection: duckdb.DuckDBPyConnection) -> tuple[list[Unavailable], list[Problem]]:
        """`install`, returning the problems instead of raising them (what `mesh check` reports)."""
        import duckdb

        problems = self.problems()
        refused = {(p.file, p.line) for p in problems}
        unavailable: list[Unavailable] = []
        for macro in self.macros:
            if (macro.file, macro.line) in refused:
                continue
            try:
                connection.execute(macro.temporary)
            except duckdb.Error as error:
                missing = _MISSING.search(str(error))
                table = missing is not None and missing["kind"].lower() == "table"
                if missing and (table or missing["name"].lower() in {u.macro.name for u in unavailable}):
                    unavailable.append(Unavailable(macro, f"{'table' if table else 'macro'} {missing['name']}"))
                    continue
                line = macro.line + _error_line(error, 1) - 1
                fix = "correct the macro; until then the domain's SQL products do not build"
                problems.append(Problem(macro.file, f"macro {macro.name}", line, f"DuckDB refuses it: {_first_line(error)}", fix))
        return unavailable, problems

    def explain(self, error: BaseException, unavailable: Iterable[Unavailable]) -> str | None:
        """Why a DuckDB error names a macro that exists but was left out of this connection, or None."""
        text = str(error)
        for left_out in unavailable:
            if re.search(rf"with name \"?{re.escape(left_out.macro.name)}\"? does not exist", text, re.IGNORECASE):
                return f"the macro {left_out}"
        return None


def _leading_blank(text: str) -> int:
    """How many characters of `text` are blanks and comments before its first word."""
    position = 0
    while position < len(text):
        if text[position].isspace():
            position += 1
        elif text.startswith("--", position):
            end = text.find("\n", position)
            position = len(text) if end < 0 else end + 1
        elif text.startswith("/*", position):
            end = text.find("*/", position + 2)
            position = len(text) if end < 0 else end + 2
        else:
            break
    return position


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _error_line(error: BaseException, default: int) -> int:
    found = _LINE.search(str(error))
    return int(found.group(1)) if found else default
