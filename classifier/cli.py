"""Command-line interface: a thin layer over the library (the library itself never prints or exits)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from .errors import TukipyyntoError
from .version import __version__

__all__ = ["main"]


def _say(msg: str) -> None:
    """Progress to stderr, so stdout stays machine-readable."""
    click.echo(f"[{time.strftime('%H:%M:%S')}] {msg}", err=True)


class UserError(click.ClickException):
    """An error the user can act on: printed as ``error: ...`` (redacted: it may quote an input value), exit 1."""

    def __init__(self, message: str) -> None:
        from .redact import redact

        super().__init__(redact(message))

    def show(self, file=None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def _fail(e: Exception) -> None:
    """Turn a library error into the one CLI error type."""
    raise UserError(str(e)) from None


class _Group(click.Group):
    """The command group: any library error a command lets through becomes a :class:`UserError`."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except TukipyyntoError as e:
            raise UserError(str(e)) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tukipyynto")
def main() -> None:
    """Classify Finnish support requests, match guidelines and measure avoidable contacts."""


def _semantic_option(f):
    """``--semantic`` (cascade) or ``--semantic all``: predict with the model's semantic head as well."""
    return click.option(
        "--semantic", "semantic", type=click.Choice(["cascade", "all"]), is_flag=False, flag_value="cascade",
        default=None, help="Also use the model's semantic head (needs the 'semantic' extra): alone or 'cascade' embeds "
                           "only the requests the lexical model is not confident about, 'all' every request.")(f)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=False))
@click.option("--taxonomy", type=click.Path(exists=True, dir_okay=False), help="Taxonomy file (default: taxonomy.json found beside the files).")
@click.option("--guidelines", type=click.Path(exists=True, dir_okay=False), help="Guideline catalogue (default: guidelines.jsonl found beside the files).")
def validate(paths, taxonomy, guidelines):
    """Check corpus, catalogue, taxonomy and mailbox files; exit non-zero on any error.

    PATHS are files or directories (searched recursively).
    """
    from .validate import validate_paths

    rep = validate_paths(paths, taxonomy, guidelines)
    for issue in rep.issues:
        click.echo(str(issue))
    kinds = {}
    for k in rep.files.values():
        kinds[k] = kinds.get(k, 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    click.echo(f"{len(rep.files)} files ({summary}), {rep.records} records checked, {len(rep.issues)} problems", err=True)
    click.get_current_context().exit(0 if rep.ok and rep.files else 1)


@main.command()
@click.argument("corpus", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--taxonomy", type=click.Path(exists=True, dir_okay=False), help="Taxonomy file; without it the label set is taken from the labels.")
@click.option("--guidelines", type=click.Path(exists=True, dir_okay=False), help="Catalogue to learn guideline matching on (needs guideline_id labels).")
@click.option("--dev", "dev_files", multiple=True, type=click.Path(exists=True), help="Dev file(s) for threshold and matcher (default: *dev* files of a corpus folder, else a 15 % hold-out).")
@click.option("--text-field", default="text", show_default=True, help="Field (column) holding the request text.")
@click.option("--label-field", default="topic", show_default=True, help="Field (column) holding the topic label.")
@click.option("--out", "out_dir", default="model", show_default=True, type=click.Path(file_okay=False), help="Model directory to write.")
@click.option("--file-weight", multiple=True, metavar="NAME=W", help="Sample weight for a training file, e.g. generated.jsonl=0.3.")
@click.option("--char-ngrams/--no-char-ngrams", default=None, help="Add character n-gram features.")
@click.option("--lemmatizer", type=click.Choice(["simplemma", "prefix", "none"]), default=None, help="How words are reduced to their base form (default simplemma).")
@click.option("--C", "C", type=float, default=None, help="SVM regularisation (default 0.5).")
@click.option("--cv", "kfold", type=int, default=0, help="Also report k-fold cross-validation on the training data.")
@click.option("--search", is_flag=True, help="Small hyper-parameter search (C, char n-grams) scored on the dev split.")
@click.option("--target-accuracy", type=float, default=0.95, show_default=True, help="Dev accuracy the abstention threshold aims for.")
@click.option("--transfer", "transfer_dir", type=click.Path(exists=True, file_okay=False), help="Also score (never train on) a transfer set: a folder with requests.jsonl and its own guidelines.jsonl; the figures go into the model card.")
@click.option("--reviewed", "reviewed_files", multiple=True, type=click.Path(exists=True, dir_okay=False), help="Reviewed file(s) from `review` to train on as well (last decision per request).")
@click.option("--reviewed-weight", type=float, default=1.0, show_default=True, help="Sample weight of reviewed requests (at 1.0 or more they also teach the guideline matcher).")
@click.option("--semantic", is_flag=True, help="Also learn a semantic head (sentence embeddings; needs the 'semantic' extra), blended with the lexical model on out-of-fold predictions.")
def train(corpus, taxonomy, guidelines, dev_files, text_field, label_field, out_dir, file_weight, char_ngrams, lemmatizer, C, kfold, search, target_accuracy, transfer_dir, reviewed_files, reviewed_weight, semantic):
    """Train a topic model from a labelled corpus (JSONL / CSV / Parquet files or a corpus folder).

    With --reviewed, the organisation's reviewed requests are added to the training data;
    the model card records which files, how many requests and their weight. With --semantic
    the model also gets a semantic head; the card gives the figures with and without it.
    """
    from .model import save_model
    from .training import TrainingConfig, train_from_corpus

    params = {k: v for k, v in (("char_ngrams", char_ngrams), ("lemmatizer", lemmatizer), ("C", C)) if v is not None}
    weights = {}
    for fw in file_weight:
        name, _, w = fw.partition("=")
        try:
            weights[name] = float(w)
        except ValueError:
            raise click.BadParameter(f"expected NAME=WEIGHT such as generated.jsonl=0.3, found {fw!r}",
                                     param_hint="--file-weight") from None
    config = TrainingConfig(params=params, file_weights=weights, target_accuracy=target_accuracy, search=search,
                            cv_folds=kfold, text_field=text_field, label_field=label_field, semantic=semantic)
    try:
        model = train_from_corpus(corpus, config, dev_files=dev_files, taxonomy=taxonomy, guidelines=guidelines,
                                  transfer_dir=transfer_dir, reviewed=reviewed_files,
                                  reviewed_weight=reviewed_weight, progress=_say)
        save_model(model, out_dir)
    except TukipyyntoError as e:
        _fail(e)
    m = model.meta["dev_metrics"]
    if "test_metrics" in model.meta:
        t = model.meta["test_metrics"]["topic"]
        click.echo(f"held-out test split: accuracy {t['accuracy']:.4f}, macro-F1 {t['macro_f1']:.4f}, ECE {t['ece']:.4f}")
        if "avoidable" in model.meta["test_metrics"]:
            g, a = model.meta["test_metrics"]["guidelines"], model.meta["test_metrics"]["avoidable"]
            click.echo(f"  guideline top-1 {g['top1_accuracy']}, top-3 {g['top3_accuracy']}; avoidable accuracy {a['accuracy']}, F1 {a['f1']}")
    for split, modes in (model.meta.get("semantic_metrics") or {}).items():
        for mode, res in modes.items():
            t = res.get("topic", res)
            click.echo(f"{split} with the semantic view ({mode}, {t.get('embedded_share', 0):.0%} embedded): "
                       f"accuracy {t['accuracy']:.4f}, macro-F1 {t['macro_f1']:.4f}, ECE {t['ece']:.4f}")
    click.echo(f"model written to {out_dir}: dev accuracy {m['accuracy']:.4f}, macro-F1 {m['macro_f1']:.4f}, "
               f"ECE {m['ece']:.4f}, threshold {m['threshold']:.3f} (abstains on {m['abstention_rate']:.1%})")
    if "matcher" in model.meta:
        fr = model.meta["matcher"]["fit_report"]
        click.echo(f"guideline matcher: coverage threshold {model.meta['matcher']['coverage_threshold']:.3f}, "
                   f"out-of-fold top-1 {fr['oof_top1']:.3f}")


@main.command()
@click.argument("corpus", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--model", "model_dir", type=click.Path(exists=True, file_okay=False), help="Model directory (default: the shipped model).")
@click.option("--guidelines", type=click.Path(exists=True, dir_okay=False), help="Catalogue for guideline/avoidable figures (default: the shipped one).")
@click.option("--no-guidelines", is_flag=True, help="Topic figures only.")
@click.option("--text-field", default="text", show_default=True, help="Field (column) holding the request text.")
@click.option("--label-field", default="topic", show_default=True, help="Field (column) holding the gold topic.")
@click.option("--json", "as_json", is_flag=True, help="Print all figures as JSON.")
@_semantic_option
def evaluate(corpus, model_dir, guidelines, no_guidelines, text_field, label_field, as_json, semantic):
    """Score a model on labelled files: topics, calibration, abstention, guidelines, avoidable."""
    from .model import load
    from .training import evaluate_model

    try:
        model = load(model_dir, semantic=semantic)
        res = evaluate_model(model, corpus, False if no_guidelines else guidelines, text_field=text_field,
                             label_field=label_field)
    except TukipyyntoError as e:
        _fail(e)
    if as_json:
        click.echo(json.dumps(res, ensure_ascii=False, indent=2))
        return
    t = res["topic"]
    click.echo(f"records {t['n']}  accuracy {t['accuracy']:.4f}  macro-F1 {t['macro_f1']:.4f}  ECE {t['ece']:.4f}")
    if semantic:
        click.echo(f"semantic view ({semantic}): {t['embedded_share']:.1%} of the requests embedded")
    click.echo(f"abstains below {t['threshold']:.3f} on {t['abstention_rate']:.1%}; accuracy on the rest {t['accuracy_on_kept']}")
    click.echo(f"{'topic':32s} {'prec':>6s} {'rec':>6s} {'f1':>6s} {'n':>5s}")
    for lab, v in t["per_class"].items():
        click.echo(f"{lab[:32]:32s} {v['precision']:6.3f} {v['recall']:6.3f} {v['f1']:6.3f} {v['support']:5d}")
    if "guidelines" in res:
        g, a = res["guidelines"], res["avoidable"]
        click.echo(f"guideline top-1 {g['top1_accuracy']}  top-3 {g['top3_accuracy']}  coverage P {g['coverage']['precision']} R {g['coverage']['recall']}")
        click.echo(f"avoidable accuracy {a['accuracy']}  P {a['precision']}  R {a['recall']}  F1 {a['f1']}")


@main.command("upgrade-model")
@click.argument("model_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Directory for the model in the safe format.")
@click.option("--trust-pickle", is_flag=True, help="Required: confirm you trust where the old pickle-format model came from.")
def upgrade_model(model_dir, out_dir, trust_pickle):
    """Rewrite an old pickle-format model (classifier.joblib) as arrays and JSON that load without pickle.

    Unpickling can run code hidden in a changed file, so the old format is read only with
    --trust-pickle (and then only classes from an allow-list). The result predicts the same.
    """
    import warnings

    from .model import load, save_model

    if not trust_pickle:
        _fail(TukipyyntoError(f"{model_dir}: reading a pickle-format model needs --trust-pickle; use it only for "
                              "a model whose origin you trust, or retrain with `tukipyynto train`"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            model = load(model_dir, trust_pickle=True)
        if model.meta.get("format_version") != 1:
            raise TukipyyntoError(f"{model_dir}: already in the safe format; nothing to upgrade")
        if model.meta.get("matcher"):
            from .io import read_guidelines

            cat = Path(model_dir) / "guidelines.jsonl"
            model.catalogue = read_guidelines(cat) if cat.exists() else None
        save_model(model, out_dir)
    except TukipyyntoError as e:
        _fail(e)
    click.echo(f"model written to {out_dir} (weights.npz + vocab.json; loads without pickle)")


def _column_map(pairs) -> dict[str, str]:
    """Parse repeated ``--map SOURCE=FIELD`` options."""
    out = {}
    for p in pairs:
        src, sep, dst = p.partition("=")
        if not sep:
            raise click.BadParameter(f"expected SOURCE=FIELD, found {p!r}", param_hint="--map")
        out[src] = dst
    return out


def _progress_bar(total_hint: int | None = None):
    """A tqdm bar on a terminal; nothing in pipes and CI."""
    import os

    if not sys.stderr.isatty() or os.environ.get("CI"):
        return None, (lambda n: None)
    from tqdm import tqdm

    bar = tqdm(total=total_hint, unit=" contacts", file=sys.stderr, dynamic_ncols=True)

    def update(n: int) -> None:
        bar.update(n - bar.n)

    return bar, update


_SERVICE_OPTIONS = [
    click.option("--back-office", "back_office", multiple=True, metavar="ADDRESS|@DOMAIN",
                 help="Whose messages in a thread are the back office's replies, besides the address the request was "
                      "sent to (repeatable), e.g. @sahkoyhtio.example."),
    click.option("--pseudonym-key", envvar="TUKIPYYNTO_PSEUDONYM_KEY", show_envvar=True,
                 help="Key of the hashes that link repeat contacts (default: derived from the id key); never stored."),
    click.option("--repeat-days", type=click.FloatRange(min=0), default=14, show_default=True,
                 help="The same customer or contract reference within this many days is a repeat contact."),
    click.option("--reference-pattern", "reference_patterns", multiple=True, metavar="REGEX",
                 help="Another customer/contract reference pattern for repeat contacts (group 1 is the reference)."),
]


def _with_service_options(f):
    for opt in reversed(_SERVICE_OPTIONS):
        f = opt(f)
    return f


def _service_settings(back_office, opening_hours, repeat_days, pseudonym_key, reference_patterns):
    """ServiceSettings from the CLI options (BadParameter on a malformed one)."""
    from .service import ServiceError, ServiceSettings

    try:
        return ServiceSettings(back_office=tuple(b.strip().lower() for b in back_office),
                               opening_hours=_opening(opening_hours), repeat_days=repeat_days,
                               pseudonym_key=pseudonym_key.encode("utf-8") if pseudonym_key else None,
                               reference_patterns=tuple(reference_patterns))
    except ServiceError as e:
        raise click.BadParameter(str(e)) from None


@main.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="Output file (.jsonl, .csv or .parquet).")
@click.option("--model", "model_dir", type=click.Path(exists=True, file_okay=False), help="Model directory (default: the shipped model).")
@click.option("--guidelines", type=click.Path(exists=True, dir_okay=False), help="Guideline catalogue (default: the shipped one).")
@click.option("--no-guidelines", is_flag=True, help="Topics only, no guideline matching.")
@click.option("--with-text", is_flag=True, help="Add the cleaned, redacted request text and subject to each row.")
@click.option("--jobs", type=int, default=1, show_default=True, help="Worker processes on this machine.")
@click.option("--engine", type=click.Choice(["local", "dask"]), default="local", show_default=True, help="Where batches are labelled: local processes (--jobs) or a Dask cluster (--scheduler).")
@click.option("--scheduler", help="Dask scheduler address for --engine dask, e.g. tcp://10.0.0.5:8786.")
@click.option("--resume", is_flag=True, help="Continue an interrupted run with the same inputs and --out.")
@click.option("--overwrite", is_flag=True, help="Replace an existing --out (without it or --resume an existing output is refused).")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "parquet"]), help="Output format (default: from the suffix).")
@click.option("--map", "mapping", multiple=True, metavar="SOURCE=FIELD", help="Column mapping for table inputs, e.g. viesti=text.")
@click.option("--mode", type=click.Choice(["auto-label", "pre-select", "suggest-only"]), default="pre-select", show_default=True, help="pre-select: every Finnish request gets its best topic (status auto when confident, else review); auto-label: below the threshold the topic is 'uncertain'; suggest-only: no topic, only candidates for a person.")
@click.option("--opening-hours", default="8:30-16:00", show_default=True, help="Back-office opening hours, weekdays (Helsinki time): first replies are timed in them.")
@_semantic_option
@_with_service_options
def label(inputs, out, model_dir, guidelines, no_guidelines, with_text, jobs, engine, scheduler, resume, overwrite, fmt, mapping, mode,
          opening_hours, semantic, back_office, pseudonym_key, repeat_days, reference_patterns):
    """Label historical requests: mbox, .eml/.msg folders, JSONL/CSV/Parquet exports or globs.

    Writes one redacted row per contact (an email thread, a phone note or a record):
    topic, confidence, guideline, avoidable and reason, or the error that stopped it.
    """
    from .label import label_inputs

    service = _service_settings(back_office, opening_hours, repeat_days, pseudonym_key, reference_patterns)
    bar, update = _progress_bar()
    try:
        summary = label_inputs(inputs, out, model_dir, False if no_guidelines else guidelines, with_text, jobs, engine,
                               scheduler, resume, fmt, _column_map(mapping), mode, progress=update, overwrite=overwrite,
                               service=service, semantic=semantic)
    except TukipyyntoError as e:
        _fail(e)
    finally:
        if bar is not None:
            bar.close()
    for n in summary.notes:
        click.echo(f"note: {n}", err=True)
    for w in summary.warnings:
        click.echo(f"warning: {w}", err=True)
    click.echo(f"{summary.contacts} contacts from {summary.messages} messages/records: {summary.labelled} labelled, "
               f"{summary.errors} errors, {summary.merged_messages} replies merged into threads"
               + (f", {summary.no_text} without text (not labelled)" if summary.no_text else "")
               + (f", {summary.skipped_resumed} already done (resumed)" if summary.skipped_resumed else "")
               + f" -> {out}")
    if summary.all_failed:
        raise UserError(f"every one of the {summary.errors} contacts failed; see the 'error' column of {out}")


def _date(ctx, param, value):
    """Click callback: an ISO date or None."""
    import datetime as dt

    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"expected a date such as 2016-09-01, found {value!r}") from None


def _opening(value: str):
    """Parse '8:30-16:00'."""
    import datetime as dt

    try:
        a, b = value.split("-")
        return dt.time.fromisoformat(a.strip().zfill(5)), dt.time.fromisoformat(b.strip().zfill(5))
    except ValueError:
        raise click.BadParameter(f"expected opening hours such as 8:30-16:00, found {value!r}") from None


_REPORT_OPTIONS = [
    click.option("--from", "period_from", callback=_date, help="First day of the period (YYYY-MM-DD)."),
    click.option("--to", "period_to", callback=_date, help="Last day of the period (YYYY-MM-DD)."),
    click.option("--granularity", type=click.Choice(["month", "week"]), default="month", show_default=True, help="Periods of the volume table and the trend comparison."),
    click.option("--lang", type=click.Choice(["fi", "en"]), default="fi", show_default=True, help="Report language."),
    click.option("--opening-hours", default="8:30-16:00", show_default=True, help="Back-office opening hours, weekdays (Helsinki time)."),
    click.option("--taxonomy", type=click.Path(exists=True, dir_okay=False), help="Taxonomy (default: the model's / the shipped one)."),
]


def _with_report_options(f):
    for opt in reversed(_REPORT_OPTIONS):
        f = opt(f)
    return f


def _write_report(rows, out_dir, guidelines, taxonomy, period_from, period_to, granularity, lang, opening_hours,
                  model_dir=None, reviewed=None):
    """Build and write the report; return it and the written paths."""
    from .io import read_guidelines, read_taxonomy
    from .model import CATALOGUE, TAXONOMY, verify
    from .report import build_report, write_report

    d, meta = verify(model_dir)
    tax = read_taxonomy(taxonomy) if taxonomy else read_taxonomy(d / TAXONOMY if (d / TAXONOMY).exists() else None)
    if guidelines is False:
        gl = None
    elif guidelines:
        gl = read_guidelines(guidelines)
    else:
        gl = read_guidelines(d / CATALOGUE) if (d / CATALOGUE).exists() else None
    calibration = (meta.get("matcher") or {}).get("avoidable_calibration")
    rep = build_report(rows, tax, gl, period_from, period_to, granularity, _opening(opening_hours), lang,
                       calibration=calibration, reviewed=reviewed)
    return rep, write_report(rep, Path(out_dir))


def _report_count(rep) -> str:
    """What a report covers, in words: the contacts analysed in its period, of the rows read."""
    left = rep.n_rows - rep.n_analysed - rep.n_errors  # out of the period (or undated, when a period is given)
    return (f"{rep.n_analysed} contacts {rep.period_from or '–'} – {rep.period_to or '–'} ({rep.n_rows} rows read: "
            f"{left} outside the period, {rep.n_errors} with errors)")


@main.command()
@click.argument("labelled", nargs=-1, required=True)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Report folder to write.")
@click.option("--guidelines", type=click.Path(exists=True, dir_okay=False), help="Catalogue for guideline use (default: the model's).")
@click.option("--model", "model_dir", type=click.Path(exists=True, file_okay=False), help="Model that labelled the rows: its taxonomy, catalogue and calibration data (default: the shipped model).")
@click.option("--reviewed", "reviewed_files", multiple=True, type=click.Path(exists=True, dir_okay=False), help="Reviewed file(s) from `review`: the random sample corrects the estimates (PPI).")
@_with_report_options
def report(labelled, out_dir, guidelines, model_dir, reviewed_files, period_from, period_to, granularity, lang, opening_hours, taxonomy):
    """Write the avoidable-contacts report from labelled rows (JSONL / CSV / Parquet from `label`).

    Markdown, a self-contained HTML page with plots, and a CSV of every table. With
    --reviewed, the reviewed random sample and the predictions on every row give corrected
    shares with 95 % intervals (prediction-powered inference) and the model's measured accuracy.
    """
    from .report import read_labelled

    try:
        rows = read_labelled(labelled)
        reviewed = None
        if reviewed_files:
            from .estimate import read_reviewed

            reviewed = read_reviewed(list(reviewed_files))
        rep, paths = _write_report(rows, out_dir, guidelines, taxonomy, period_from, period_to, granularity, lang,
                                   opening_hours, model_dir, reviewed)
    except TukipyyntoError as e:
        _fail(e)
    click.echo(f"report of {_report_count(rep)} written to {out_dir}: {paths.get('html')}")


@main.command()
@click.argument("labelled", nargs=-1, required=True)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="Reviewed JSONL file (appended to; a restart resumes from it).")
@click.option("--guidelines", type=click.Path(exists=True, dir_okay=False), help="Guideline catalogue (default: the shipped one).")
@click.option("--taxonomy", type=click.Path(exists=True, dir_okay=False), help="Taxonomy (default: the model's).")
@click.option("--model", "model_dir", type=click.Path(exists=True, file_okay=False), help="Model for the words behind a topic and runner-up guidelines (default: the shipped one).")
@click.option("--no-model", is_flag=True, help="Show only what the labelled file holds (no explanation, no runner-ups).")
@click.option("--sample", type=click.IntRange(min=0), default=100, show_default=True, help="Size of the random sample (the queue the estimates use).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random sample; keep it for the whole review.")
@click.option("--reviewer", default=None, help="Name written into every decision (default: the login name).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on; any other than loopback requires the printed access token.")
@click.option("--port", type=click.IntRange(min=0, max=65535), default=8765, show_default=True, help="Port (0: any free port).")
@click.option("--no-browser", is_flag=True, help="Do not open a browser.")
@click.option("--lang", type=click.Choice(["fi", "en"]), default="fi", show_default=True, help="Page language.")
def review(labelled, out, guidelines, taxonomy, model_dir, no_model, sample, seed, reviewer, host, port, no_browser, lang):
    """Review labelled requests in a local web page: confirm or correct topic and guideline.

    Two queues: a seeded random sample (the only one `report --reviewed` uses for estimates)
    and an uncertainty-first queue (for retraining). Every decision is appended to OUT at once.
    Stop with Ctrl+C; run the same command again to resume.
    """
    import getpass

    from .review import load_session, make_server

    try:
        reviewer = reviewer or getpass.getuser()
    except Exception:  # no login name in some containers
        reviewer = "reviewer"
    try:
        session = load_session(labelled, out, guidelines, taxonomy, model_dir, sample, seed, reviewer, lang,
                               use_model=not no_model)
        srv = make_server(session, host, port)
    except TukipyyntoError as e:
        _fail(e)
    except OSError as e:
        _fail(f"cannot listen on {host}:{port}: {e.strerror or e}")
    st = session.state()["progress"]
    _say(f"{len(session.by_id)} requests: random sample {st['random']['done']}/{st['random']['total']} reviewed, "
         f"uncertainty queue {st['uncertain']['done']}/{st['uncertain']['total']}; decisions -> {out}")
    if srv.require_token:
        click.echo(f"access token: {srv.token}", err=True)
    click.echo(f"review page: {srv.url}  (Ctrl+C stops; every decision is already saved)", err=True)
    if not no_browser:
        import webbrowser

        webbrowser.open(srv.url)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()
        session.close()


@main.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder for labelled.jsonl and the report (new or empty).")
@click.option("--model", "model_dir", type=click.Path(exists=True, file_okay=False), help="Model directory (default: the shipped model).")
@click.option("--guidelines", type=click.Path(exists=True, dir_okay=False), help="Guideline catalogue (default: the shipped one).")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True, help="Worker processes on this machine for labelling.")
@click.option("--overwrite", is_flag=True, help="Write into an --out folder that is not empty, replacing the files of an earlier run.")
@_semantic_option
@_with_report_options
@_with_service_options
def analyse(inputs, out_dir, model_dir, guidelines, jobs, overwrite, semantic, period_from, period_to, granularity, lang,
            opening_hours, taxonomy, back_office, pseudonym_key, repeat_days, reference_patterns):
    """Label INPUTs and write the report in one go (the main job), with the shipped defaults.

    INPUTs are mbox files, .eml/.msg folders, JSONL/CSV/Parquet exports or folders of them;
    a folder is read as `label` reads it (recursively; answer-key sidecars *.labels.* are
    skipped). Writes OUT/labelled.jsonl (redacted, with text) and the report in OUT/, and
    prints the report's headline. An OUT folder that is not empty is refused without --overwrite.
    """
    from .ingest import plan_inputs
    from .label import label_inputs
    from .report import read_labelled

    service = _service_settings(back_office, opening_hours, repeat_days, pseudonym_key, reference_patterns)
    out = Path(out_dir)
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise UserError(f"{out}: the folder is not empty; name a new or empty folder, or give --overwrite to "
                        "replace the files of an earlier run in it")
    try:
        files = plan_inputs(inputs)
    except TukipyyntoError as e:
        _fail(e)
    out.mkdir(parents=True, exist_ok=True)
    bar, update = _progress_bar()
    try:
        _say(f"labelling {len(files)} input file(s): {', '.join(f.name for f in files)}")
        s = label_inputs(inputs, out / "labelled.jsonl", model_dir, guidelines, with_text=True, jobs=jobs, progress=update,
                         overwrite=True, service=service, semantic=semantic)  # OUT is analyse's own folder, checked above
        if bar is not None:
            bar.close()
        for n in s.notes:
            click.echo(f"note: {n}", err=True)
        for w in s.warnings:
            click.echo(f"warning: {w}", err=True)
        _say(f"{s.contacts} contacts ({s.labelled} labelled, {s.errors} errors, {s.merged_messages} replies merged)")
        rows = read_labelled([out / "labelled.jsonl"])
        rep, paths = _write_report(rows, out, guidelines, taxonomy, period_from, period_to, granularity, lang,
                                   opening_hours, model_dir)
    except TukipyyntoError as e:
        _fail(e)
    click.echo(f"labelled {s.contacts} contacts -> {out / 'labelled.jsonl'}; report of {rep.n_analysed} -> {paths.get('html')}")


if __name__ == "__main__":  # pragma: no cover
    main()
