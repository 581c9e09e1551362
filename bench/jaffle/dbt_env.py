"""dbt in a virtual environment of its own, inside the benchmark's work folder (made once, then reused).

Not the project's environment: dbt-core pins versions of packages Dagster needs too. dbt-core stays below 1.12,
whose build step downloads from GitHub; dbt-duckdb brings the DuckDB adapter; DuckDB itself is pinned to the
version the project's environment has, so that both sides of the benchmark run the same engine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb

REQUIREMENTS = ("dbt-core<1.12", "dbt-duckdb", f"duckdb=={duckdb.__version__}")


class DbtUnavailable(RuntimeError):
    """dbt's environment could not be made here (offline, no index…): the reason, with pip's last lines."""


def dbt_executable(folder: Path) -> Path:
    """The `dbt` of the environment at `folder`, made there first if it is missing or was made for other requirements."""
    marker = folder / "requirements.done"
    dbt = folder / "bin" / "dbt"
    wanted = "\n".join(REQUIREMENTS)
    if dbt.exists() and marker.exists() and marker.read_text() == wanted:
        return dbt
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(folder)], check=True, capture_output=True)
    installed = subprocess.run(
        [str(folder / "bin" / "python"), "-m", "pip", "install", "--quiet", *REQUIREMENTS],
        capture_output=True,
        text=True,
    )
    if installed.returncode != 0:
        tail = "\n".join((installed.stdout + installed.stderr).strip().splitlines()[-5:])
        raise DbtUnavailable(f"pip could not install {', '.join(REQUIREMENTS)} into {folder}:\n{tail}")
    marker.write_text(wanted)
    return dbt


def dbt_env(project: Path, raw: Path, database: Path) -> dict[str, str]:
    """The environment dbt runs in: the project's profile (DuckDB file `database`), the raw Parquet files of `raw`,
    no usage statistics sent (dbt would try to reach its collector on every command)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("VIRTUAL_ENV", "DBT_"))}
    return {
        **env,
        "DBT_PROFILES_DIR": str(project),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "JAFFLE_RAW": str(raw),
        "JAFFLE_DUCKDB": str(database),
    }
