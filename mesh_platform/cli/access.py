"""`mesh access`: the access log (who read which product, which version, when), and usage agreements —
`request`, `requests`, `approve`, `deny`, `revoke` (`governance.agreements`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer

from mesh_platform.catalog.agreements import AgreementOn
from mesh_platform.cli.context import mesh_context
from mesh_platform.cli.options import AsOption, JsonOption, note_option, since_option, until_option
from mesh_platform.cli.output import fail, print_json, print_table
from mesh_platform.core.address import Address
from mesh_platform.governance.access_log import AccessLog, AccessRecord
from mesh_platform.runtime.instance import check_reachable

access = typer.Typer(help="Access to products across domains.", no_args_is_help=True)


@dataclass(frozen=True)
class AccessLogReads:
    """What `mesh access log --json` prints: where the log is kept, and the reads it holds."""

    file: Path | None
    database: str | None  # "PostgreSQL" when the log is kept there
    reads: list[AccessRecord]


@dataclass(frozen=True)
class Requested:
    """What `mesh access request --json` prints: the request filed, and whom a notice told."""

    agreement: AgreementOn = field(metadata={"json_inline": True})
    notified: str | None


@dataclass(frozen=True)
class Decided:
    """What `mesh access approve|deny|revoke --json` prints: the agreement decided, where the store policies were
    rendered again (None: the store enforces no grants), and whom a notice told."""

    agreement: AgreementOn = field(metadata={"json_inline": True})
    store_policies: str | None
    notified: str | None


@dataclass(frozen=True)
class AgreementList:
    """What `mesh access requests --json` prints: the agreements, and the files that could not be read."""

    agreements: list[AgreementOn]
    problems: list[str]


@access.command("log")
def access_log(
    ctx: typer.Context,
    as_json: JsonOption = False,
    consumer: Annotated[str | None, typer.Option("--consumer", "-c", help="Only reads by this domain.")] = None,
    product: Annotated[
        str | None, typer.Option("--product", "-p", help="Only reads of this product (mesh://domain/product).")
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", "-n", help="Only the last N reads.")] = None,
) -> None:
    """Print every read of a product, granted or denied, its owner's builds included, oldest first:
    when, the reading principal, the product and port version, what was masked, and what read it."""
    settings = mesh_context(ctx).settings
    check_reachable(settings)  # a deployment keeps the log in its PostgreSQL database
    log = AccessLog(settings.access_log_target)
    entries = log.entries(consumer=consumer, product=product, limit=limit)
    if as_json:
        print_json(AccessLogReads(log.file, "PostgreSQL" if log.url else None, entries))
        return
    if not entries:
        typer.echo(f"no cross-domain reads recorded yet ({log.file})")
        return

    def masking(entry) -> str:
        parts = [
            f"{label} {', '.join(cols)}"
            for label, cols in (("hashed", entry.hashed), ("dropped", entry.dropped), ("clear", entry.clear))
            if cols
        ]
        return "; ".join(parts) or "-"

    print_table(
        ["at", "consumer", "product", "version", "outcome", "personal columns", "via"],
        [
            [
                e.at[:19].replace("T", " "),
                e.consumer,
                e.product,
                "-" if e.version is None else e.version,
                e.outcome,
                masking(e),
                e.via,
            ]
            for e in entries
        ],
    )


# Usage agreements: a consumer asks, the owner approves or denies (and later may revoke), the grant follows.


@access.command("request")
def request_command(
    ctx: typer.Context,
    product: Annotated[str, typer.Argument(help="The product, mesh://<domain>/<product>.")],
    purpose: Annotated[
        str, typer.Option("--purpose", help="What the data is for: the agreement records it, and the owner decides on it.")
    ],
    as_principal: AsOption = None,
    columns: Annotated[
        list[str] | None, typer.Option("--columns", help="The columns asked for (repeat; default: every column).")
    ] = None,
    clear: Annotated[list[str] | None, typer.Option("--clear", help="A personal column asked for in clear (repeat).")] = None,
    until: Annotated[str | None, until_option("The last day of the agreement, YYYY-MM-DD (default: open-ended).")] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print the request's id only (for scripts: id=$(mesh access request … -q)).")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Ask a product's owner for access: a request file in your own folder (commit it, as a pull request), which
    the owning domain approves (mesh access approve) or denies."""
    from mesh_platform.governance.agreements import AccessRequest, request_access

    context = mesh_context(ctx)
    consumer = _acting(context, as_principal)
    asked = AccessRequest(Address.parse(product), consumer, purpose, _split(columns), _split(clear), _day(until, "--until"))
    agreement = request_access(context.catalog, context.view.readers, asked, _person(), context.settings.clock.now())
    from mesh_platform.notify.notices import access_requested

    told = _tell(context, access_requested(agreement, context.catalog.product(agreement.product), context.view))
    if as_json:
        print_json(Requested(AgreementOn.of(agreement, context.settings.clock.today()), told))
        return
    if quiet:
        typer.echo(agreement.id)
        return
    if told:
        typer.echo(f"told: {told}", err=True)
    owners = ", ".join(context.catalog.product(agreement.product).contract.owners)
    typer.echo(f"requested {agreement.id}: {consumer} reads {agreement.product} ({agreement.scope}) — {agreement.file}")
    typer.echo(f"its owner ({owners}) approves it with: mesh access approve {agreement.id}")


@access.command("requests")
def requests_command(
    ctx: typer.Context,
    owner: Annotated[str | None, typer.Option("--owner", help="Only requests for this domain's products.")] = None,
    mine: Annotated[
        bool, typer.Option("--mine", help="Only the requests of the principal acting (--as, or the credentials').")
    ] = False,
    as_principal: AsOption = None,
    every: Annotated[
        bool, typer.Option("--all", help="Every agreement, decided ones too (default: the requests that wait).")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """List the requests that wait for their owner (--all: every agreement), oldest first."""
    context = mesh_context(ctx)
    today = context.settings.clock.today()
    if owner is not None and owner not in context.catalog.domains:
        raise fail(f"--owner {owner}: no domain '{owner}' — one of: {', '.join(context.catalog.domains)}")
    consumer = _acting(context, as_principal) if mine else None
    found = [
        a
        for a in sorted(context.catalog.agreements, key=lambda a: a.requested_at)
        if (every or a.status == "requested")
        and (owner is None or a.product.domain == owner)
        and (consumer is None or a.consumer == consumer)
    ]
    if as_json:
        problems = [str(p) for p in context.catalog.agreements.problems]
        print_json(AgreementList([AgreementOn.of(a, today) for a in found], problems))
        return
    for problem in context.catalog.agreements.problems:
        typer.echo(f"warning: {problem}", err=True)
    if not found:
        typer.echo("no request waits" if not every else "no agreement yet")
        return
    print_table(
        ["id", "state", "consumer", "product", "purpose", "columns", "until", "requested by", "age"],
        [
            [
                a.id,
                a.state(today),
                a.consumer,
                str(a.product),
                a.purpose,
                a.scope,
                a.end or "-",
                a.requested_by,
                f"{(today - a.requested_at.date()).days}d",
            ]
            for a in found
        ],
    )


@access.command("approve")
def approve_command(
    ctx: typer.Context,
    agreement_id: Annotated[str, typer.Argument(metavar="ID", help="The request's id (mesh access requests lists them).")],
    as_principal: AsOption = None,
    until: Annotated[str | None, until_option("The agreement's last day, YYYY-MM-DD (default: the one asked for).")] = None,
    note: Annotated[str | None, note_option("A note for the requester.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Approve a request, as the owning domain: the grant is written into the product's contract (consumers,
    unmaskedFor, and the agreement's id), comments and layout kept."""
    from mesh_platform.governance.agreements import approve

    context = mesh_context(ctx)
    owner = _acting(context, as_principal)
    agreement = approve(
        context.catalog, agreement_id, owner, _person(), context.settings.clock.now(), _day(until, "--until"), note
    )
    _decided(
        context,
        agreement,
        as_json,
        f"approved {agreement.id}: {agreement.consumer} reads {agreement.product} ({agreement.scope}) "
        f"from {agreement.start} {'until ' + str(agreement.end) if agreement.end else 'with no end'}; the grant is in "
        f"{context.catalog.product(agreement.product).contract.file}",
    )


@access.command("deny")
def deny_command(
    ctx: typer.Context,
    agreement_id: Annotated[str, typer.Argument(metavar="ID", help="The request's id.")],
    note: Annotated[str, note_option("Why: the requester reads it.")],
    as_principal: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Deny a request, as the owning domain, saying why."""
    from mesh_platform.governance.agreements import deny

    context = mesh_context(ctx)
    agreement = deny(context.catalog, agreement_id, _acting(context, as_principal), _person(), context.settings.clock.now(), note)
    _decided(context, agreement, as_json, f"denied {agreement.id}: {agreement.note}")


@access.command("revoke")
def revoke_command(
    ctx: typer.Context,
    agreement_id: Annotated[str, typer.Argument(metavar="ID", help="The agreement's id.")],
    as_principal: AsOption = None,
    note: Annotated[str | None, note_option("Why (the consumer reads it).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Revoke an approved agreement, as the owning domain: its grant is taken out of the product's contract."""
    from mesh_platform.governance.agreements import revoke

    context = mesh_context(ctx)
    agreement = revoke(
        context.catalog, agreement_id, _acting(context, as_principal), _person(), context.settings.clock.now(), note
    )
    _decided(
        context, agreement, as_json, f"revoked {agreement.id}: {agreement.consumer} no longer reads {agreement.product} under it"
    )


def _decided(context, agreement, as_json: bool, said: str) -> None:
    from mesh_platform.notify.notices import access_decided

    told = _tell(context, access_decided(agreement, context.view)) if agreement.status in ("active", "denied") else None
    if as_json:
        rendered = _render_store_policies(context.settings)
        print_json(Decided(AgreementOn.of(agreement, context.settings.clock.today()), rendered, told))
        return
    typer.echo(said)
    if told:
        typer.echo(f"told: {told}")
    if rendered := _render_store_policies(context.settings):
        typer.echo(
            f"re-rendered the store policies ({rendered}); the store enforces them once applied: "
            f"mesh --env {context.settings.deployment.name} deploy access --apply"
        )


def _tell(context, notice) -> str | None:
    """Send `notice` where the deployment's `notifications` say (off: nothing); what became of it, in a line."""
    from mesh_platform.notify.notifier import Notifier

    notifier = Notifier.of(context.settings.deployment.notifications)
    return notifier.send(notice).describe() if notifier.enabled else None


def _acting(context, as_principal: str | None) -> str:
    """The principal the command acts as (`--as`, or the store credentials'); its notice said once."""
    identity = context.identity(as_principal, "--as")
    if identity.notice:
        typer.echo(identity.notice, err=True)
    if identity.principal is None:
        raise fail("give --as NAME: the principal acting (a domain, or a consumer declared in the principals file)")
    return identity.principal


def _person() -> str:
    """Who is at the keyboard, for the record: git's user.email, else the operating-system user."""
    import getpass
    import subprocess

    try:
        email = subprocess.run(["git", "config", "user.email"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        email = ""
    return email or getpass.getuser()


def _split(values: list[str] | None) -> tuple[str, ...]:
    """Repeated options, each possibly a comma-separated list."""
    return tuple(dict.fromkeys(v.strip() for value in values or [] for v in value.split(",") if v.strip()))


def _day(text: str | None, option: str):
    import datetime as dt

    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"'{text}' is not a date: write YYYY-MM-DD", param_hint=option) from None


@access.command("audit")
def audit_command(
    ctx: typer.Context,
    since: Annotated[str, since_option("The window: a duration back from now (30d, 12w…).")] = "30d",
    as_json: JsonOption = False,
) -> None:
    """Reads made without an agreement, agreements no read used, and grants whose agreement has ended, from the
    access log over the window."""
    from mesh_platform.core.durations import parse_duration
    from mesh_platform.governance.agreements import audit

    window = parse_duration(since)
    if window is None:
        raise typer.BadParameter(f"'{since}' is not a duration: write a count and a unit, e.g. 30d or 12w", param_hint="--since")
    context = mesh_context(ctx)
    settings = context.settings
    check_reachable(settings)
    now = settings.clock.now()
    report = audit(context.catalog, AccessLog(settings.access_log_target).entries(), now - window, now.date())
    if as_json:
        print_json(report)
        return
    typer.echo(f"since {report.since:%Y-%m-%d %H:%M} (--since {since})")
    typer.echo(f"\nreads without an agreement ({len(report.without_agreement)})")
    if report.without_agreement:
        print_table(
            ["  consumer", "product", "access", "reads", "last", "in clear"],
            [
                [
                    f"  {r.consumer}",
                    r.product,
                    r.access or "-",
                    r.reads,
                    r.last_at[:19].replace("T", " "),
                    ", ".join(r.clear) or "-",
                ]
                for r in report.without_agreement
            ],
        )
    typer.echo(f"\nagreements no read used ({len(report.unused)})")
    for a in report.unused:
        typer.echo(f"  {a.id}: {a.consumer} → {a.product} ({a.state}{f', until {a.end}' if a.end else ''})")
    typer.echo(f"\ngrants whose agreement has ended ({len(report.ended_grants)})")
    for g in report.ended_grants:
        typer.echo(
            f"  {g.id}: {g.consumer} → {g.product} "
            f"({g.state}{f' on {g.end}' if g.end and g.state == 'ended' else ''}) "
            f"in {g.contract} — mesh access revoke {g.id}, or renew it"
        )


def _render_store_policies(settings) -> str | None:
    """Where the deployment's store enforces grants (its ports on an object store), the store policies rendered again
    from the contracts as they are now (the decision just written): the folder they are in; None elsewhere."""
    from mesh_platform.context import MeshContext
    from mesh_platform.governance.store_policies import store_policies
    from mesh_platform.runtime.store_access import access_folder, write_policies

    store = settings.deployment.port_store
    if store is None or not store.on_object_store:
        return None
    fresh = MeshContext(settings)  # the contracts as the decision left them
    folder = access_folder(settings)
    write_policies(store_policies(fresh.view, settings), folder)
    return str(folder)
