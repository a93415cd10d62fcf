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


def _command_line(ctx: click.Context) -> str:
    """The command as a canonical line: the arguments, then every option that differs from its default."""
    import shlex

    parts = [f"tukipyynto {ctx.info_name}"]
    args, opts = [], []
    for p in ctx.command.params:
        v = ctx.params.get(p.name)
        if isinstance(p, click.Argument):
            args += [shlex.quote(str(x)) for x in (v if isinstance(v, (list, tuple)) else [v])]
        elif v is None or v == p.get_default(ctx) or (p.multiple and not v):
            continue
        elif p.is_flag and p.secondary_opts:
            opts.append(p.opts[0] if v else p.secondary_opts[0])
        elif p.is_flag:
            opts.append(p.opts[0])
        else:
            for x in (v if p.multiple else [v]):
                opts += [p.opts[0], shlex.quote(str(x))]
    return " ".join(parts + args + opts)


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
@click.option("--dev", "dev_files", multiple=True, type=click.Path(exists=True), help="Dev file(s) (default: *dev* files of a corpus folder). Trained on by default; held out for the threshold and matcher with --calibration-data dev (else a 15 % hold-out).")
@click.option("--text-field", default="text", show_default=True, help="Field (column) holding the request text.")
@click.option("--label-field", default="topic", show_default=True, help="Field (column) holding the topic label.")
@click.option("--out", "out_dir", default="model", show_default=True, type=click.Path(file_okay=False), help="Model directory to write.")
@click.option("--file-weight", multiple=True, metavar="NAME=W", help="Sample weight for a training file, e.g. generated.jsonl=0.3 (generated files train only when given a weight; 0 leaves a file out).")
@click.option("--calibration-data", type=click.Choice(["oof", "dev"]), default="oof", show_default=True, help="Where the probability temperature, review threshold and guideline matcher are fitted: out-of-fold predictions of all labelled records (leave-one-writer-out when records name a writer; dev files are trained on), or the dev files held out of the model (the older way).")
@click.option("--group-field", default="writer", show_default=True, help="Field naming each record's writer, for leave-one-writer-out folds (records without it: stratified folds).")
@click.option("--class-weight", type=click.Choice(["balanced", "none"]), default=None, help="SVM class weights (default balanced).")
@click.option("--char-ngrams/--no-char-ngrams", default=None, help="Add character n-gram features.")
@click.option("--lemmatizer", type=click.Choice(["simplemma", "prefix", "none"]), default=None, help="How words are reduced to their base form (default simplemma).")
@click.option("--C", "C", type=float, default=None, help="SVM regularisation (default 0.5).")
@click.option("--cv", "kfold", type=int, default=0, help="Also report k-fold cross-validation on the training data.")
@click.option("--search", is_flag=True, help="Select C and class weights, then the generated data's weight, by leave-one-writer-out macro-F1 (with --calibration-data dev: C and char n-grams by dev macro-F1). Slow: one model per writer per setting.")
@click.option("--target-accuracy", type=float, default=0.95, show_default=True, help="Held-out accuracy (out-of-fold, or dev with --calibration-data dev) the review threshold aims for.")
@click.option("--transfer", "transfer_dir", type=click.Path(exists=True, file_okay=False), help="Also score (never train on) a transfer set: a folder with requests.jsonl and its own guidelines.jsonl; the figures go into the model card.")
@click.option("--reviewed", "reviewed_files", multiple=True, type=click.Path(exists=True, dir_okay=False), help="Reviewed file(s) from `review` to train on as well (last decision per request).")
@click.option("--reviewed-weight", type=float, default=1.0, show_default=True, help="Sample weight of reviewed requests (at 1.0 or more they also teach the guideline matcher).")
@click.option("--skip-invalid", is_flag=True, help="Leave out reviewed rows with an unknown topic or guideline (each named with its line) instead of stopping.")
@click.option("--semantic", is_flag=True, help="Also learn a semantic head (sentence embeddings; needs the 'semantic' extra), blended with the lexical model on out-of-fold predictions.")
def train(corpus, taxonomy, guidelines, dev_files, text_field, label_field, out_dir, file_weight, calibration_data, group_field, class_weight, char_ngrams, lemmatizer, C, kfold, search, target_accuracy, transfer_dir, reviewed_files, reviewed_weight, skip_invalid, semantic):
    """Train a topic model from a labelled corpus (JSONL / CSV / Parquet files or a corpus folder).

    With --reviewed, the organisation's reviewed requests are added to the training data;
    the model card records which files, how many requests and their weight. With --semantic
    the model also gets a semantic head; the card gives the figures with and without it.
    """
    from .model import save_model
    from .training import TrainingConfig, train_from_corpus

    params = {k: v for k, v in (("char_ngrams", char_ngrams), ("lemmatizer", lemmatizer), ("C", C)) if v is not None}
    if class_weight is not None:
        params["class_weight"] = None if class_weight == "none" else class_weight
    weights = {}
    for fw in file_weight:
        name, _, w = fw.partition("=")
        try:
            weights[name] = float(w)
        except ValueError:
            raise click.BadParameter(f"expected NAME=WEIGHT such as generated.jsonl=0.3, found {fw!r}",
                                     param_hint="--file-weight") from None
    config = TrainingConfig(params=params, file_weights=weights, target_accuracy=target_accuracy, search=search,
                            cv_folds=kfold, text_field=text_field, label_field=label_field,
                            calibration_data=calibration_data, group_field=group_field or None, semantic=semantic)
    try:
        model = train_from_corpus(corpus, config, dev_files=dev_files, taxonomy=taxonomy, guidelines=guidelines,
                                  transfer_dir=transfer_dir, reviewed=reviewed_files,
                                  reviewed_weight=reviewed_weight, skip_invalid=skip_invalid, progress=_say)
        model.meta["command"] = _command_line(click.get_current_context())
        save_model(model, out_dir)
    except TukipyyntoError as e:
        _fail(e)
    if "test_metrics" in model.meta:
        t = model.meta["test_metrics"]["topic"]
        click.echo(f"held-out test split: accuracy {t['accuracy']:.4f}, macro-F1 {t['macro_f1']:.4f}, ECE {t['ece']:.4f}")
        if "avoidable" in model.meta["test_metrics"]:
            g, a = model.meta["test_metrics"]["guidelines"], model.meta["test_metrics"]["avoidable"]
            click.echo(f"  guideline top-1 {g['top1_accuracy']}, top-3 {g['top3_accuracy']}; avoidable accuracy {a['accuracy']}, F1 {a['f1']}")
    if "transfer_metrics" in model.meta:
        t = model.meta["transfer_metrics"]["topic"]
        click.echo(f"transfer set: accuracy {t['accuracy']:.4f}, macro-F1 {t['macro_f1']:.4f}, ECE {t['ece']:.4f}")
    if "oof_metrics" in model.meta:
        m = model.meta["oof_metrics"]
        w = m.get("writers")
        by_writer = (f"; macro-F1 per held-out writer: mean {w['macro_f1_mean']:.4f}, lowest {w['macro_f1_min']:.4f} "
                     f"({w['worst_writer']})") if w else ""
        click.echo(f"out-of-fold ({m['scheme']}): accuracy {m['accuracy']:.4f}, macro-F1 {m['macro_f1']:.4f}{by_writer}")
        where = "out-of-fold"
    else:
        m = model.meta["dev_metrics"]
        where = "dev"
    click.echo(f"model written to {out_dir}: {where} accuracy {m['accuracy']:.4f}, macro-F1 {m['macro_f1']:.4f}, "
               f"ECE {m['ece']:.4f}, threshold {m['threshold']:.3f} (abstains on {m['abstention_rate']:.1%})")
    if "matcher" in model.meta:
        fr = model.meta["matcher"]["fit_report"]
        click.echo(f"guideline matcher: coverage threshold {model.meta['matcher']['coverage_threshold']:.3f}, "
                   f"out-of-fold top-1 {fr['oof_top1']:.3f}")
    for split, modes in (model.meta.get("semantic_metrics") or {}).items():
        for mode, res in modes.items():
            t = res.get("topic", res)
            click.echo(f"{split} with the semantic view ({mode}, {t.get('embedded_share', 0):.0%} embedded): "
                       f"accuracy {t['accuracy']:.4f}, macro-F1 {t['macro_f1']:.4f}, ECE {t['ece']:.4f}")


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


_STORE_OPTION = click.option(
    "--store", "store", type=click.Path(dir_okay=False),
    help="History store (an SQLite file, made when missing): only contacts it does not hold yet are labelled and "
         "added; stored threads that got new replies are updated.")
_WAIT_OPTION = click.option("--wait", "store_wait", type=click.FloatRange(min=0), default=0, show_default=True,
                            help="Seconds to wait while another process writes to the store (else fail at once).")


@main.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("--out", "out", type=click.Path(dir_okay=False), help="Output file (.jsonl, .csv or .parquet); optional with --store (then it gets the new contacts' rows).")
@click.option("--model", "model_dir", type=click.Path(exists=True, file_okay=False), help="Model directory (default: the shipped model).")
@click.option("--guidelines", type=click.Path(exists=True, dir_okay=False), help="Guideline catalogue (default: the shipped one).")
@click.option("--no-guidelines", is_flag=True, help="Topics only, no guideline matching.")
@click.option("--with-text", is_flag=True, help="Add the cleaned, redacted request text to each row. Without it the texts go to a private store (readable by you only, outside --out) from which `review` shows them.")
@click.option("--jobs", type=int, default=1, show_default=True, help="Worker processes on this machine.")
@click.option("--engine", type=click.Choice(["local", "dask"]), default="local", show_default=True, help="Where batches are labelled: local processes (--jobs) or a Dask cluster (--scheduler).")
@click.option("--scheduler", help="Dask scheduler address for --engine dask, e.g. tcp://10.0.0.5:8786.")
@click.option("--resume", is_flag=True, help="Continue an interrupted run with the same inputs and --out.")
@click.option("--overwrite", is_flag=True, help="Replace an existing --out (without it or --resume an existing output is refused).")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "parquet"]), help="Output format (default: from the suffix).")
@click.option("--map", "mapping", multiple=True, metavar="SOURCE=FIELD", help="Column mapping for table inputs, e.g. viesti=text.")
@click.option("--mode", type=click.Choice(["auto-label", "pre-select", "suggest-only"]), default="pre-select", show_default=True, help="pre-select: every Finnish request gets its best topic (status auto when confident, else review); auto-label: below the threshold the topic is 'uncertain'; suggest-only: no topic, only candidates for a person.")
@click.option("--opening-hours", default="8:30-16:00", show_default=True, help="Back-office opening hours, weekdays (Helsinki time): first replies are timed in them.")
@click.option("--reviewed", "reviewed_files", multiple=True, type=click.Path(exists=True, dir_okay=False), help="Reviewed file(s) from `review`: adapt to the catalogue from them before labelling (cross-fitted); reviewed requests carry the reviewer's decision.")
@click.option("--folds", type=click.IntRange(min=2), default=5, show_default=True, help="Cross-fitting folds for --reviewed.")
@_STORE_OPTION
@_WAIT_OPTION
@_semantic_option
@_with_service_options
def label(inputs, out, model_dir, guidelines, no_guidelines, with_text, jobs, engine, scheduler, resume, overwrite, fmt, mapping, mode,
          opening_hours, reviewed_files, folds, store, store_wait, semantic,
          back_office, pseudonym_key, repeat_days, reference_patterns):
    """Label historical requests: mbox, .eml/.msg folders, JSONL/CSV/Parquet exports or globs.

    Writes one redacted row per contact (an email thread, a phone note or a record):
    topic, confidence, guideline, avoidable and reason, or the error that stopped it.
    The rows carry no request text unless --with-text is given: the redacted texts are
    kept in a private store for the review page (see `review`).

    With --reviewed, the coverage calibration, topic priors and guideline ranking are first
    adapted to the catalogue from the reviewed requests, with cross-fitting: a reviewed
    request's row carries the reviewer's decision (predicted.status reviewed) and, in
    predicted.out_of_fold, the prediction of the fold adaptation that never saw its review.
    A fold adaptation that does not predict the other folds' reviews better than the model
    as it is is not used.

    With --store, adds to a history store only what it does not hold: a message or record
    labelled in an earlier run (or earlier in this one) is recognised before it is parsed and
    is not counted again, so each month's full export of a mailbox can be given as it is.
    """
    from .label import label_inputs

    service = _service_settings(back_office, opening_hours, repeat_days, pseudonym_key, reference_patterns)
    bar, update = _progress_bar()
    try:
        if out is None and store is None:
            raise UserError("give --out FILE, --store FILE or both")
        summary = label_inputs(inputs, out, model_dir, False if no_guidelines else guidelines, with_text, jobs, engine,
                               scheduler, resume, fmt, _column_map(mapping), mode, progress=update, overwrite=overwrite,
                               service=service, text_store=True, store=store, store_wait=store_wait,
                               reviewed=list(reviewed_files), folds=folds, semantic=semantic)
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
               + (f"; {summary.known} messages/records already in the store, {summary.threads_updated} stored threads "
                  "took in new replies" if store else "")
               + f" -> {summary.output}")
    if summary.all_failed:
        raise UserError(f"every one of the {summary.errors} contacts failed; see the 'error' column of {summary.output}")


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
                  model_dir=None, reviewed_files=(), skip_invalid=False):
    """Build and write the report; return it and the written paths. Reviewed files are checked against its taxonomy and catalogue."""
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
    reviewed = None
    if reviewed_files:
        from .reviewed import read_reviewed_files

        reviewed = read_reviewed_files(list(reviewed_files), tax, gl, skip_invalid=skip_invalid)
    calibration = (meta.get("matcher") or {}).get("avoidable_calibration")
    rep = build_report(rows, tax, gl, period_from, period_to, granularity, _opening(opening_hours), lang,
                       calibration=calibration, reviewed=reviewed, redacted=True)  # read_labelled / a store redacted them
    for note in rep.review.get("notes", ()):
        click.echo(f"note: {note}", err=True)
    if rep.review.get("needed"):
        click.echo(f"note: {rep.review['n_reviewed']} reviewed requests of the sample: the corrected estimates need at least "
                   f"{rep.review['min_reviews']} ({rep.review['needed']} more)", err=True)
    return rep, write_report(rep, Path(out_dir))


def _echo_headline(rep) -> None:
    """Print the report's headline (the share to quote and what it rests on, topics, gaps, first reply, period)."""
    from .report import headline_lines

    for line in headline_lines(rep):
        click.echo(line)


def _report_count(rep) -> str:
    """What a report covers, in words: the contacts analysed in its period, of the rows read."""
    left = rep.n_rows - rep.n_analysed - rep.n_errors  # out of the period (or undated, when a period is given)
    return (f"{rep.n_analysed} contacts {rep.period_from or '–'} – {rep.period_to or '–'} ({rep.n_rows} rows read: "
            f"{left} outside the period, {rep.n_errors} with errors)")


def _store_report(store, out_dir, reviewed_files, skip_invalid, *args):
    """The report on a store's rows (streamed from it) with its recorded reviews; provenance.csv beside it."""
    import tempfile

    from .store import open_store

    with open_store(store) as st, tempfile.TemporaryDirectory(prefix="tukipyynto-") as tmp:
        recorded = Path(tmp) / f"{Path(store).name}.reviews.jsonl"  # read by the one reader of reviewed files
        files = ([recorded] if st.export_reviews(recorded) else []) + list(reviewed_files)
        rep, paths = _write_report(st.iter_rows(), out_dir, *args, files, skip_invalid)
        _write_provenance(out_dir, st.provenance())
    return rep, paths


def _write_provenance(out_dir, provenance) -> Path:
    """provenance.csv beside a report from a store: which model and catalogue labelled which month."""
    import csv

    path = Path(out_dir) / "provenance.csv"
    cols = ("period", "n", "model", "model_path", "adapted", "catalogue", "catalogue_file")
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        w.writerows(provenance)
    return path


@main.command()
@click.argument("labelled", nargs=-1, required=False)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Report folder to write.")
@click.option("--store", "store", type=click.Path(exists=True, dir_okay=False), help="Report on a history store's contacts (with its recorded reviews) instead of LABELLED files.")
@click.option("--guidelines", type=click.Path(exists=True, dir_okay=False), help="Catalogue for guideline use (default: the model's).")
@click.option("--model", "model_dir", type=click.Path(exists=True, file_okay=False), help="Model that labelled the rows: its taxonomy, catalogue and calibration data (default: the shipped model).")
@click.option("--reviewed", "reviewed_files", multiple=True, type=click.Path(exists=True, dir_okay=False), help="Reviewed file(s) from `review`: the reviewed sample corrects the estimates (PPI).")
@click.option("--skip-invalid", is_flag=True, help="Leave out reviewed rows with an unknown topic, guideline or queue (each named with its line) instead of stopping.")
@_with_report_options
def report(labelled, out_dir, store, guidelines, model_dir, reviewed_files, skip_invalid, period_from, period_to,
           granularity, lang, opening_hours, taxonomy):
    """Write the avoidable-contacts report from labelled rows (JSONL / CSV / Parquet from `label`) or a store.

    Markdown, a self-contained HTML page with plots, and a CSV of every table. With
    --reviewed, the reviewed sample (random or tilted queue) and the predictions on every
    row give corrected shares with 95 % intervals (prediction-powered inference) and the
    model's measured accuracy; each reviewed file's rows that are not used are counted and
    named. With --store, the report covers the store's contacts (--from / --to choose the
    period) and its recorded reviews, and provenance.csv says which model and catalogue
    labelled each month.
    """
    from .report import read_labelled

    if bool(labelled) == bool(store):
        raise UserError("give LABELLED files or --store FILE (one of them)")
    try:
        args = (guidelines, taxonomy, period_from, period_to, granularity, lang, opening_hours, model_dir)
        if store:
            rep, paths = _store_report(store, out_dir, reviewed_files, skip_invalid, *args)
        else:
            rep, paths = _write_report(read_labelled(labelled), out_dir, *args, reviewed_files, skip_invalid)
    except TukipyyntoError as e:
        _fail(e)
    _echo_headline(rep)
    click.echo(f"report of {_report_count(rep)} written to {out_dir}: {paths.get('html')}")


@main.command()
@click.argument("labelled", nargs=-1, required=False)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="Reviewed JSONL file (appended to; a restart resumes from it).")
@click.option("--guidelines", type=click.Path(exists=True, dir_okay=False), help="Guideline catalogue (default: the shipped one).")
@click.option("--taxonomy", type=click.Path(exists=True, dir_okay=False), help="Taxonomy (default: the model's).")
@click.option("--model", "model_dir", type=click.Path(exists=True, file_okay=False), help="Model for the words behind a topic and runner-up guidelines (default: the shipped one).")
@click.option("--no-model", is_flag=True, help="Show only what the labelled file holds (no explanation, no runner-ups).")
@click.option("--sample", type=click.IntRange(min=0), default=100, show_default=True, help="Size of the sample the estimates use (with --tilted: the number of draws).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the sample; keep it for the whole review (the file records it).")
@click.option("--tilted", is_flag=True, help="Draw the sample with known probabilities tilted toward uncertain requests (the report weights each review by its inverse probability): narrower intervals for the same number of reviews.")
@click.option("--new-sample", is_flag=True, help="Start a new sample (another --seed, --sample or design) in an --out that holds decisions of an earlier one.")
@click.option("--reviewer", default=None, help="Name written into every decision (default: the login name).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on; any other than loopback requires the printed access token.")
@click.option("--port", type=click.IntRange(min=0, max=65535), default=8765, show_default=True, help="Port (0: any free port).")
@click.option("--no-browser", is_flag=True, help="Do not open a browser.")
@click.option("--lang", type=click.Choice(["fi", "en"]), default="fi", show_default=True, help="Page language.")
@click.option("--store", "store", type=click.Path(exists=True, dir_okay=False), help="Review a history store's contacts instead of LABELLED files; the decisions in OUT are recorded in the store too (when the page starts and when it stops).")
@click.option("--semantic", is_flag=True, help="Show beside each request the most similar requests already reviewed, with their decisions (sentence embeddings; needs the 'semantic' extra).")
@_WAIT_OPTION
def review(labelled, out, guidelines, taxonomy, model_dir, no_model, sample, seed, tilted, new_sample, reviewer, host, port,
           no_browser, lang, store, semantic, store_wait):
    """Review labelled requests in a local web page: confirm or correct topic and guideline.

    Two queues: a seeded sample (random, or with --tilted drawn toward uncertain requests
    with known probabilities; the only queue `report --reviewed` uses for estimates) and an
    uncertainty-first queue (for retraining). Every decision is appended to OUT at once,
    with the sample's seed and size. Stop with Ctrl+C; run the same command again to
    resume. One session at a time per OUT.
    """
    import getpass

    from .review import load_session, make_server

    try:
        reviewer = reviewer or getpass.getuser()
    except Exception:  # no login name in some containers
        reviewer = "reviewer"
    if bool(labelled) == bool(store):
        raise UserError("give LABELLED files or --store FILE (one of them)")
    try:
        rows = None
        if store:
            from .store import open_store

            _record_reviews(store, out, store_wait)
            with open_store(store) as st:
                rows = list(st.iter_rows())
        session = load_session(labelled or (), out, guidelines, taxonomy, model_dir, sample, seed, reviewer, lang,
                               use_model=not no_model, design="tilted" if tilted else "random", new_sample=new_sample,
                               rows=rows, semantic=semantic)
    except TukipyyntoError as e:
        _fail(e)
    try:
        srv = make_server(session, host, port)
    except OSError as e:
        session.close()
        _fail(TukipyyntoError(f"cannot listen on {host}:{port}: {e.strerror or e}"
                              + ("; is another program using the port? Try --port 0" if port else "")))
    session.log.announce(srv.url.split("?")[0])
    for n in session.notes:
        click.echo(f"note: {n}", err=True)
    st = session.state()["progress"]
    sq = session.sample_queue
    _say(f"{len(session.by_id)} requests: {sq} sample {st[sq]['done']}/{st[sq]['total']} reviewed, "
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
        if store:
            try:
                n = _record_reviews(store, out, store_wait)
                _say(f"{n} new decision(s) recorded in {store}")
            except TukipyyntoError as e:
                click.echo(f"warning: the decisions stay in {out} but were not recorded in {store}: {e}; run the same "
                           "command again to record them", err=True)


def _record_reviews(store, out, wait: float = 0.0) -> int:
    """Record the decisions of a reviewed file in a store (those already there are not added again)."""
    from .store import open_store

    if not Path(out).is_file():
        return 0
    with open_store(store, write=True, wait=wait) as st:
        return st.add_reviews(out)


@main.command()
@click.argument("inputs", nargs=-1)
@click.option("--reviewed", "reviewed_files", multiple=True, required=True, type=click.Path(exists=True, dir_okay=False), help="Reviewed file(s) from `review` (the last decision per request counts).")
@click.option("--guidelines", type=click.Path(exists=True, dir_okay=False), help="The catalogue the reviews were made against (default: the model's).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder for the adapted model (new or empty).")
@click.option("--model", "model_dir", type=click.Path(exists=True, file_okay=False), help="Model to adapt (default: the shipped model; an adapted model is adapted further).")
@click.option("--folds", type=click.IntRange(min=2), default=5, show_default=True, help="Folds of the cross-validated before/after figures.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the folds and of the choice of prior strengths.")
@click.option("--map", "mapping", multiple=True, metavar="SOURCE=FIELD", help="Column mapping for table INPUTS, e.g. viesti=text.")
def adapt(inputs, reviewed_files, guidelines, out_dir, model_dir, folds, seed, mapping):
    """Adapt a model to your catalogue from reviewed requests and save it for next month's runs.

    Learns the coverage calibration, the topic priors and the reviewer's guideline choices,
    each shrunk toward the model as it is by a prior whose strength cross-validation on the
    reviews chooses; the adaptation is kept only if, cross-validated on the reviews, it
    predicts their avoidable decisions better than the model as it is (the run says when it
    is not). Request texts come from the reviewed rows (or, for rows labelled on this
    machine, its private text store) or from INPUTS (the files that were labelled and reviewed). The model card records the
    catalogue's sha256, the reviews by queue and cross-validated before/after figures.
    Use it with `label --model OUT` (the adapted catalogue is its default).
    """
    from .adaptation import adapt_model, adaptation_summary, model_with_adaptation
    from .estimate import read_reviewed
    from .guidelines import Assessor
    from .model import load, save_model

    out = Path(out_dir)
    if out.is_dir() and any(out.iterdir()):
        raise UserError(f"{out}: the folder is not empty; name a new or empty folder for the adapted model")
    try:
        rows = read_reviewed(list(reviewed_files))
        base = Assessor(load(model_dir), catalogue=guidelines)
        for w in base.warnings:
            click.echo(f"warning: {w}", err=True)
        texts = None
        if inputs:
            from .label import find_requests

            texts = find_requests(list(inputs), rows, _column_map(mapping))
        names = ", ".join(Path(p).name for p in reviewed_files)
        adapted = adapt_model(rows, base, texts, folds=folds, seed=seed, source=names)
        for w in adapted.reviews.problems:
            click.echo(f"warning: {w}", err=True)
        for n in adaptation_summary(adapted):
            _say(n)
        model = model_with_adaptation(adapted, Path(guidelines).name if guidelines else None)
        save_model(model, out)
    except TukipyyntoError as e:
        _fail(e)
    click.echo(f"adapted model written to {out} (use it with: tukipyynto label INPUT --model {out} --out FILE)")


@main.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder for labelled.jsonl and the report (new or empty).")
@click.option("--model", "model_dir", type=click.Path(exists=True, file_okay=False), help="Model directory (default: the shipped model).")
@click.option("--guidelines", type=click.Path(exists=True, dir_okay=False), help="Guideline catalogue (default: the shipped one).")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True, help="Worker processes on this machine for labelling.")
@click.option("--overwrite", is_flag=True, help="Write into an --out folder that is not empty, replacing the files of an earlier run.")
@click.option("--with-text", is_flag=True, help="Put the redacted request texts into labelled.jsonl and text examples of the guideline gaps into the report (without it OUT holds no request text: the texts go to a private store for `review`).")
@click.option("--store", "store", type=click.Path(dir_okay=False), help="History store (made when missing): only what it does not hold is labelled and added, and the report covers everything in it (--from / --to choose the period); no labelled.jsonl is written, and the store keeps texts only with --with-text.")
@_WAIT_OPTION
@click.option("--reviewed", "reviewed_files", multiple=True, type=click.Path(exists=True, dir_okay=False), help="Reviewed file(s) from `review`: adapt to the catalogue before labelling, and correct the report's estimates with the random sample.")
@_semantic_option
@_with_report_options
@_with_service_options
def analyse(inputs, out_dir, model_dir, guidelines, jobs, overwrite, with_text, store, store_wait, reviewed_files, semantic,
            period_from, period_to, granularity, lang, opening_hours, taxonomy, back_office, pseudonym_key, repeat_days,
            reference_patterns):
    """Label INPUTs and write the report in one go (the main job), with the shipped defaults.

    INPUTs are mbox files, .eml/.msg folders, JSONL/CSV/Parquet exports or folders of them;
    a folder is read as `label` reads it (recursively; answer-key sidecars *.labels.* are
    skipped). Writes OUT/labelled.jsonl (redacted) and the report in OUT/, and prints the
    report's headline. OUT holds no request text unless --with-text is given, so it can be
    shared; `tukipyynto review OUT/labelled.jsonl --out reviewed.jsonl` still shows each
    request's redacted text (from a private store on this machine). An OUT folder that is
    not empty is refused without --overwrite.
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
        s = label_inputs(inputs, None if store else out / "labelled.jsonl", model_dir, guidelines, with_text=with_text,
                         jobs=jobs, progress=update, overwrite=True, service=service,  # OUT is analyse's own, checked above
                         text_store=True, store=store, store_wait=store_wait,
                         reviewed=list(reviewed_files), semantic=semantic)
        if bar is not None:
            bar.close()
        for n in s.notes:
            click.echo(f"note: {n}", err=True)
        for w in s.warnings:
            click.echo(f"warning: {w}", err=True)
        _say(f"{s.contacts} contacts ({s.labelled} labelled, {s.errors} errors, {s.merged_messages} replies merged)"
             + (f"; {s.known} messages/records already in {store}, {s.threads_updated} stored threads updated"
                if store else ""))
        args = (guidelines, taxonomy, period_from, period_to, granularity, lang, opening_hours, model_dir)
        if store:
            rep, paths = _store_report(store, out, list(reviewed_files), True, *args)
        else:
            # the run goes on with the valid reviews, as labelling did; the report names the others
            rep, paths = _write_report(read_labelled([out / "labelled.jsonl"]), out, *args, list(reviewed_files),
                                       skip_invalid=True)
    except TukipyyntoError as e:
        _fail(e)
    _echo_headline(rep)
    where = store if store else out / "labelled.jsonl"
    # a store run reports on the whole store, not only on what this run labelled: say how many
    report_of = f"report of {rep.n_analysed} -> " if store else "report -> "
    click.echo(f"labelled {s.contacts} contacts -> {where}; {report_of}{paths.get('html')}")


class _TrendsError(UserError):
    """An error of `trends`: exit status 2 (1 means an alert fired)."""

    exit_code = 2


@main.command()
@click.option("--store", "store", required=True, type=click.Path(exists=True, dir_okay=False), help="The history store.")
@click.option("--from", "period_from", callback=_date, help="First day counted (YYYY-MM-DD).")
@click.option("--to", "period_to", callback=_date, help="Last day counted (YYYY-MM-DD).")
@click.option("--month", help="The month tested, YYYY-MM (default: the last month with contacts).")
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.05, show_default=True, help="Family-wise error rate over the month's comparisons (Holm).")
@click.option("--taxonomy", type=click.Path(exists=True, dir_okay=False), help="Taxonomy for topic names and order (default: the model's / the shipped one).")
@click.option("--model", "model_dir", type=click.Path(exists=True, file_okay=False), help="Model whose taxonomy names the topics (default: the shipped model).")
@click.option("--lang", type=click.Choice(["fi", "en"]), default="fi", show_default=True, help="Language of topic names.")
@click.option("--all", "show_all", is_flag=True, help="List every comparison made, not only the alerts.")
@click.option("--json", "as_json", is_flag=True, help="Print the monthly shares and the comparisons as JSON.")
def trends(store, period_from, period_to, month, alpha, taxonomy, model_dir, lang, show_all, as_json):
    """Monthly topic and avoidable shares from a store, and alerts on changes unlikely to be chance.

    The month's share of every topic and its avoidable share are compared with the month before
    and with the quarter before (Fisher's exact test), the p-values corrected by Holm's method
    for the number of comparisons. Exit status: 0 no alert, 1 at least one alert, 2 an error.
    """
    import re

    from .io import read_taxonomy
    from .model import TAXONOMY, verify
    from .report.tables.trends import alerts, avoidable_label, topic_namer, topic_trends
    from .store import open_store
    from .store.trends import counts_from_store

    if month is not None and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise click.BadParameter(f"expected a month such as 2016-09, found {month!r}", param_hint="--month")
    try:
        if taxonomy:
            tax = read_taxonomy(taxonomy)
        else:
            d, _ = verify(model_dir)
            tax = read_taxonomy(d / TAXONOMY if (d / TAXONOMY).exists() else None)
        with open_store(store) as st:
            counts = counts_from_store(st, period_from, period_to)
    except TukipyyntoError as e:
        raise _TrendsError(str(e)) from None
    if month is not None and month not in counts:
        raise _TrendsError(f"{store}: no contacts in {month}; months in the store: "
                           f"{', '.join(sorted(counts)) or 'none'}")

    name = topic_namer(tax, lang)
    order = list(tax.ids)
    tested = month or (max(counts) if counts else None)
    found = alerts(counts, order, tested, alpha, name, avoidable_label(lang), include_all=show_all)
    fired = [a for a in found if a["p_adjusted"] < alpha]
    if as_json:
        click.echo(json.dumps({"month": tested, "alpha": alpha,
                               "months": {m: {"n": c.n, "decided": c.decided, "avoidable": c.avoidable,
                                              "topics": dict(c.topics)} for m, c in sorted(counts.items())},
                               "topic_trends": topic_trends(counts, order, label=name),
                               "comparisons" if show_all else "alerts": found}, ensure_ascii=False, indent=1))
    else:
        from .estimate import wilson_interval

        for m, c in sorted(counts.items()):
            lo, hi = wilson_interval(c.avoidable, c.decided)
            av = (f"avoidable {c.avoidable / c.decided:.1%} (95 % {lo:.1%}-{hi:.1%})" if c.decided else "no decisions")
            click.echo(f"{m}: {c.n} contacts, {av}")
        if tested is None:
            click.echo("no dated contacts in the store")
        for a in found:
            what = a["label"]
            click.echo(f"{'ALERT' if a['p_adjusted'] < alpha else 'no alert'}: {a['period']} vs {a['base_period']}: "
                       f"{what} {a['share']:.1%} ({a['k']}/{a['n']}) against {a['base_share']:.1%} "
                       f"({a['base_k']}/{a['base_n']}), {'+' if a['diff_share'] >= 0 else ''}{100 * a['diff_share']:.1f} points, "
                       f"p {a['p_value']:.2g}, Holm-corrected {a['p_adjusted']:.2g}")
        if tested is not None and not fired:
            click.echo(f"{tested}: no alert (no change with a Holm-corrected p below {alpha:g})")
    click.get_current_context().exit(1 if fired else 0)


@main.command()
@click.option("--store", "store", required=True, type=click.Path(exists=True, dir_okay=False), help="The history store.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="File to write.")
@click.option("--format", "fmt", type=click.Choice(["parquet", "jsonl", "csv"]), help="Format (default: from the suffix, else JSONL).")
@click.option("--from", "period_from", callback=_date, help="First day (YYYY-MM-DD); undated rows are kept.")
@click.option("--to", "period_to", callback=_date, help="Last day (YYYY-MM-DD); undated rows are kept.")
@click.option("--overwrite", is_flag=True, help="Replace an existing file.")
def export(store, out, fmt, period_from, period_to, overwrite):
    """Write a store's rows as Parquet (for BI tools), JSONL or CSV, as `label` writes them.

    `tukipyynto report` on the file gives the report `report --store` gives on the same period.
    """
    from .label import write_rows
    from .store import open_store

    try:
        with open_store(store) as st:
            n = write_rows(st.iter_rows(period_from, period_to), out, fmt, overwrite=overwrite)
    except TukipyyntoError as e:
        _fail(e)
    click.echo(f"{n} rows from {store} -> {out}")


if __name__ == "__main__":  # pragma: no cover
    main()
