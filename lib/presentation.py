"""How instances are shown: labels, phone format, token mask, the CSV export (no streamlit here); the
instances table is built in lib.table_rows."""

from __future__ import annotations

import functools
import io
import re
import string
from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd
from PIL import Image

from lib.fleet import dropped_at, state
from lib.models import FAILURES_BEFORE_NO_ANSWER, CheckResult, Instance
from lib.reasons import reason_text

STATUS_LABELS = {"connected": "Conectado", "connecting": "Conectando", "disconnected": "Desconectado"}
ROLE_LABELS = {"admin": "Administrador", "supervisor": "Supervisor", "analyst": "Analista"}
PHONE_COLUMNS = ("Telefone", "Último número", "Número")  # in any table: exported readable (see table_csv)
STATUS_COLORS = {"connected": "green", "connecting": "yellow", "disconnected": "red"}
DISPLAY_TIMEZONE = ZoneInfo("America/Sao_Paulo")  # the collections team's clock
_CSV_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_MARKDOWN_SPECIALS = re.compile("([" + re.escape(string.punctuation) + "])")
WORD_JOINER = "\u2060"
_AUTOLINKS = re.compile(r":/|www\.|@", re.IGNORECASE)


def escape_markdown(text: str) -> str:
    """User or provider text made literal inside Markdown (st.markdown, st.toast, st.error…):
    every ASCII punctuation mark is backslash-escaped, so nothing becomes a link, emphasis, HTML,
    a heading, a colour directive or math; and a word joiner (U+2060, invisible) breaks what GitHub's
    Markdown would turn into a link by itself, escaped or not: "https://", "www." and an e-mail's "@"."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", _AUTOLINKS.sub(lambda m: m.group(0)[:-1] + WORD_JOINER + m.group(0)[-1], text))


def format_phone(phone: str | None) -> str:
    """+5511999999999 → +55 11 99999-9999 (8-digit landlines too); anything else as given; "" for none."""
    if not phone:
        return ""
    match = re.fullmatch(r"\+?55(\d{2})(\d{4,5})(\d{4})", re.sub(r"[^\d+]", "", phone))
    if not match:
        return phone
    area, first, last = match.groups()
    return f"+55 {area} {first}-{last}"


def format_pairing_code(code: str) -> str:
    """ABCDEFGH → ABCD-EFGH, as WhatsApp shows it; anything else as given."""
    return f"{code[:4]}-{code[4:]}" if len(code) == 8 else code


def format_datetime(value: datetime) -> str:
    return value.astimezone(DISPLAY_TIMEZONE).strftime("%d/%m/%Y %H:%M")


def format_time(value: datetime, now: datetime) -> str:
    """"14:02" today, "28/11 14:02" on another day (São Paulo time)."""
    local, today = value.astimezone(DISPLAY_TIMEZONE), now.astimezone(DISPLAY_TIMEZONE)
    return local.strftime("%H:%M" if local.date() == today.date() else "%d/%m %H:%M")


def format_since(value: datetime, now: datetime) -> str:
    """"14:02" today, "03/12" another day (São Paulo time): what "desde …" says."""
    local, today = value.astimezone(DISPLAY_TIMEZONE), now.astimezone(DISPLAY_TIMEZONE)
    return local.strftime("%H:%M" if local.date() == today.date() else "%d/%m")


def format_age(value: datetime, now: datetime) -> str:
    """"há 40 s", "há 3 min", "há 2 h", "há 3 dias"."""
    seconds = max(0, int((now - value).total_seconds()))
    if seconds < 60:
        return f"há {seconds} s"
    if seconds < 3600:
        return f"há {seconds // 60} min"
    if seconds < 86400:
        return f"há {seconds // 3600} h"
    days = seconds // 86400
    return f"há {days} dia{'s' if days > 1 else ''}"


def status_lines(instance: Instance, now: datetime) -> list[str]:
    """What a card says under the name and the state: since when (and why it dropped), the number
    (the last one when disconnected), when the provider last answered, and the last failed check."""
    kind = state(instance)
    since = format_time(instance.status_changed_at or instance.created_at, now)
    if instance.status == "connected":
        lines = [f"Conectada desde {since}  ·  {format_phone(instance.phone_number) or 'número desconhecido'}"]
    elif instance.dropped:  # still down since the drop, whatever was tried since
        reason = reason_text(instance.disconnect_reason)
        lines = [f"Caiu às {format_time(dropped_at(instance), now)}" + (f"  ·  {reason}" if reason else "")]
        if instance.status == "connecting":
            lines.append(f"Reconectando: aguardando a leitura do QR Code desde {since}")
    elif instance.status == "connecting":
        lines = [f"Aguardando a leitura do QR Code desde {since}"]
    elif instance.first_connected_at is None:
        lines = [f"Nunca conectada  ·  criada em {format_time(instance.created_at, now)}"]
    else:
        lines = [f"Desconectada por um usuário desde {since}"]
    if instance.status != "connected" and instance.last_phone_number:
        lines.append(f"Último número: {format_phone(instance.last_phone_number)}")
    if kind == "gone":
        return lines + ["Não existe mais no provedor: remova do painel ou importe de novo."]
    if instance.check_failures >= FAILURES_BEFORE_NO_ANSWER:
        last_answer = instance.last_checked_at or instance.created_at
        lines.append(f"Sem resposta do provedor desde {format_time(last_answer, now)}")
    elif instance.last_checked_at:
        lines.append(f"Verificado {format_age(instance.last_checked_at, now)}")
    if instance.last_error:
        lines.append(f"Última verificação falhou: {instance.last_error}")
    return lines


def owner_email(instance: Instance, owners: dict[str, str]) -> str:
    """Who is responsible for it ("Responsável"): their e-mail, "usuário removido", or "" for nobody."""
    return owners.get(instance.owner_id, "usuário removido") if instance.owner_id else ""


def owner_line(instance: Instance, owners: dict[str, str]) -> str | None:
    """"Responsável: ana@… · Etiquetas: carteira-A, régua-2", or None when it has neither."""
    parts = []
    if instance.owner_id:
        parts.append(f"Responsável: {owner_email(instance, owners)}")
    if instance.tags:
        parts.append("Etiquetas: " + ", ".join(instance.tags))
    return "  ·  ".join(parts) or None


def mask_token(token: str) -> str:
    if len(token) <= 8:
        return "•" * len(token)
    return f"{token[:4]}{'•' * 8}{token[-4:]}"


def filter_instances(instances: list[Instance], query: str = "", statuses: list[str] | None = None) -> list[Instance]:
    """The instances with one of `statuses` whose name contains `query` (case and accents as typed,
    case ignored) or whose number (current or last) contains its digits."""
    query = (query or "").strip().casefold()
    digits = re.sub(r"\D", "", query)
    return [
        i for i in instances
        if (statuses is None or i.status in statuses)
        and (not query or query in i.name.casefold()
             or (len(digits) >= 3 and any(digits in re.sub(r"\D", "", p or "") for p in (i.phone_number, i.last_phone_number))))
    ]


def table_csv(table: pd.DataFrame) -> bytes:
    """CSV as Brazilian Excel opens it: `;` between cells, UTF-8 with a BOM, dates as shown
    (dd/mm/aaaa hh:mm), empty cells empty. A cell a spreadsheet would run as a formula (=, +, -, @,
    tab, CR first) starts with ' instead; grouped phone numbers lose their + (55 11 99999-8888 reads
    as text, with no visible apostrophe), a foreign one as given keeps it behind the '."""

    def safe(column: str, value):
        if not isinstance(value, str):
            return value
        if column in PHONE_COLUMNS and re.fullmatch(r"\+[\d ()-]+", value) and re.search(r"[ ()-]", value):
            return value[1:]  # still grouped, so text; bare digits would become a number (4,47912E+11)
        return f"'{value}" if value.startswith(_CSV_FORMULA_PREFIXES) else value

    cleaned = pd.DataFrame({column: [safe(column, v) for v in table[column]] for column in table.columns})
    return cleaned.to_csv(index=False, sep=";").encode("utf-8-sig")


@functools.lru_cache(maxsize=64)
def qr_for_display(png: bytes, width: int) -> bytes:
    """The QR as a PNG at most `width` pixels wide, keyed by the provider's image. Handed to st.image
    as is, it is shown without work: a wider image would be scaled down (bilinear, which blurs the
    modules) and re-encoded as JPEG by streamlit on every run, i.e. on every polling tick. Scaled
    once here with nearest-neighbour, the modules stay sharp. Holds only images, no session."""
    with Image.open(io.BytesIO(png)) as image:
        if image.width <= width:
            return png
        height = round(image.height * width / image.width)
        buffer = io.BytesIO()
        image.resize((width, height), Image.Resampling.NEAREST).save(buffer, format="PNG")
        return buffer.getvalue()


def refresh_summary(results: list[CheckResult]) -> tuple[str, list[str], pd.DataFrame]:
    """A one-line summary of a bulk status check, the names whose status changed, and the table of
    instances that failed."""
    changed = [r.before.name for r in results if r.changed]
    failures = [{"Instância": r.before.name, "Erro": r.error} for r in results if r.error]
    text = f"{len(results)} instâncias verificadas · {len(changed)} com status alterado · {len(failures)} com erro"
    return text, changed, pd.DataFrame(failures, columns=["Instância", "Erro"])
